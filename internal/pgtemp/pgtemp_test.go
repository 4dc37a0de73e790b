package pgtemp

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestStartQueryStop starts a real cluster, creates a database, writes and reads a row over
// the socket and over TCP, survives a crash and a restart, and leaves nothing behind.
func TestStartQueryStop(t *testing.T) {
	ctx := context.Background()
	c, err := Start(ctx, Options{TCP: true})
	if err != nil {
		t.Fatal(err)
	}
	url, err := c.CreateDB(ctx, "t_one")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{url, c.TCPURL("t_one")} {
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS x (n BIGINT); INSERT INTO x VALUES (7)"); err != nil {
			t.Fatal(err)
		}
		conn.Close(ctx)
	}
	c.Crash()
	if _, err := pgx.Connect(ctx, url); err == nil {
		t.Fatal("connected to a crashed server")
	}
	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM x WHERE n = 7").Scan(&n); err != nil || n != 2 {
		t.Fatalf("after restart: %d rows, %v", n, err)
	}
	conn.Close(ctx)
	dir := c.Dir
	c.Stop()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", dir, err)
	}
	if _, err := pgx.Connect(ctx, url); err == nil {
		t.Error("server still answers after Stop")
	}
}

func TestIdentAndNames(t *testing.T) {
	if got := Ident("TestX/postgres-1"); got != "testx_postgres_1" {
		t.Errorf("Ident = %q", got)
	}
	for _, bad := range []string{"", "a;drop", "A", "x-y"} {
		if validName(bad) {
			t.Errorf("validName(%q) = true", bad)
		}
	}
}
