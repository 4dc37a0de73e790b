package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paybridge/paybridge/internal/pgtemp"
	"github.com/paybridge/paybridge/store"
)

// TestMigrate: `paybridge migrate` migrates a SQLite file and a PostgreSQL database, reports
// what it did (and with --status what it would do), refuses a schema newer than the binary
// without touching it, and moves a single node's SQLite database into an empty PostgreSQL one.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	want := store.SchemaVersion()
	sqlite := filepath.Join(t.TempDir(), "paybridge.db")
	code, out, errs := runCmd(t, "migrate", "--db", sqlite)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("migrated from schema version 0 to %d", want)) {
		t.Fatalf("migrate a new SQLite file: %d %q %q", code, out, errs)
	}
	if code, out, _ = runCmd(t, "migrate", "--db", sqlite); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate again: %d %q", code, out)
	}
	st, err := store.Open(ctx, sqlite)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCall(ctx, store.Call{ID: "from-sqlite", From: "+447700900123", Plan: "pay", StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	c, err := pgtemp.Start(ctx, pgtemp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	pg, err := c.CreateDB(ctx, "migrate")
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCmdEnv(t, map[string]string{"PAYBRIDGE_DB": pg}, "migrate", "--status")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("schema version 0; this paybridge: %d; %d migration(s)", want, want)) {
		t.Fatalf("migrate --status: %d %q", code, out)
	}
	if v, _ := store.PeekVersion(ctx, pg); v != 0 {
		t.Fatalf("--status migrated: version %d", v)
	}
	code, out, errs = runCmd(t, "migrate", "--db", pg, "--from-sqlite", sqlite)
	if code != 0 || !strings.Contains(out, "copied") || !strings.Contains(out, "calls              1") {
		t.Fatalf("migrate --from-sqlite: %d %q %q", code, out, errs)
	}
	if code, _, errs = runCmd(t, "migrate", "--db", pg, "--from-sqlite", sqlite); code != 1 || !strings.Contains(errs, "empty database") {
		t.Fatalf("copying twice: %d %q", code, errs)
	}
	st, err = store.Open(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	if c, _, err := st.GetCall(ctx, "from-sqlite"); err != nil || c.From != "+447700900123" {
		t.Fatalf("the copied call: %+v, %v", c, err)
	}
	st.Close()
	// A newer paybridge migrated it: refused, untouched.
	bumpSchema(t, pg, want+1)
	code, _, errs = runCmd(t, "migrate", "--db", pg)
	if code != 1 || !strings.Contains(errs, fmt.Sprintf("schema version %d, newer than this paybridge's %d: refusing", want+1, want)) {
		t.Fatalf("migrate a newer schema: %d %q", code, errs)
	}
	if v, _ := store.PeekVersion(ctx, pg); v != want+1 {
		t.Fatalf("version after the refusal: %d", v)
	}
	if code, _, errs = runCmd(t, "migrate"); code != 2 || !strings.Contains(errs, "--db is required") {
		t.Fatalf("migrate without --db: %d %q", code, errs)
	}
	if code, _, errs = runCmd(t, "migrate", "--db", sqlite, "--from-sqlite", sqlite); code != 2 || !strings.Contains(errs, "same file") {
		t.Fatalf("migrate a file into itself: %d %q", code, errs)
	}
}

// bumpSchema records a schema version this binary does not know, as a newer paybridge would.
func bumpSchema(t *testing.T, url string, v int) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future.sql', 0)", v); err != nil {
		t.Fatal(err)
	}
}
