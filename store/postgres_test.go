package store

import (
	"context"
	"database/sql"
	"errors"
	neturl "net/url"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://pb:s3cret@db.example:5432/ledger?sslmode=require": "postgres://pb:xxxxx@db.example:5432/ledger?sslmode=require",
		"postgres:///ledger?host=/run/pg&password=s3cret":             "postgres:///ledger?host=%2Frun%2Fpg&password=xxxxx",
		"postgresql://pb@db/ledger":                                   "postgresql://pb@db/ledger",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
	if !IsPostgresURL("postgresql://x/y") || IsPostgresURL("data/paybridge.db") || IsPostgresURL("postgres:x") {
		t.Error("IsPostgresURL")
	}
}

// TestPostgresSessionSettings: a server (or database) configured with synchronous_commit=off
// would acknowledge a payment attempt that a crash can lose. The store's sessions insist on
// durable commits whatever the server's default, and refuse a URL that asks for less.
func TestPostgresSessionSettings(t *testing.T) {
	ctx := context.Background()
	url := newPGDatabase(t)
	admin, err := Open(ctx, url)
	must(t, err)
	u, err := neturl.Parse(url)
	must(t, err)
	if _, err := admin.w.ExecContext(ctx, `ALTER DATABASE "`+strings.TrimPrefix(u.Path, "/")+`" SET synchronous_commit = off`); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	s := openAgain(t, url)
	// Every connection of the pool, not one: hold several at once.
	var conns []*sql.Conn
	for i := 0; i < 4; i++ {
		c, err := s.w.Conn(ctx)
		must(t, err)
		conns = append(conns, c)
	}
	for _, c := range conns {
		var v string
		if err := c.QueryRowContext(ctx, "SHOW synchronous_commit").Scan(&v); err != nil || v != "on" {
			t.Errorf("synchronous_commit = %q, %v; want on", v, err)
		}
		c.Close()
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	for _, v := range []string{"off", "local"} {
		if _, err := Open(ctx, url+sep+"synchronous_commit="+v); !errors.Is(err, ErrInvalid) {
			t.Errorf("a URL with synchronous_commit=%s = %v, want ErrInvalid", v, err)
		}
	}
	// A stronger setting (a synchronous standby must apply it) is the operator's to choose.
	r, err := Open(ctx, url+sep+"synchronous_commit=remote_apply")
	must(t, err)
	var v string
	if err := r.w.QueryRowContext(ctx, "SHOW synchronous_commit").Scan(&v); err != nil || v != "remote_apply" {
		t.Errorf("synchronous_commit = %q, %v; want remote_apply", v, err)
	}
	r.Close()
}
