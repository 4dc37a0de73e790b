package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/paybridge/paybridge/internal/pgtemp"
)

// The store's tests run against both databases: each test that calls eachDialect runs once on
// a SQLite file and once on a PostgreSQL database of a throwaway cluster that TestMain starts
// on first use (initdb in a temporary directory, a private unix socket) and removes at the end.
// No shared server is ever used.

var (
	pgOnce    sync.Once
	pgCluster *pgtemp.Cluster
	pgErr     error
	pgSeq     atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pgCluster != nil {
		pgCluster.Stop()
	}
	os.Exit(code)
}

// testCluster returns the package's PostgreSQL cluster, starting it on first use.
func testCluster(t testing.TB) *pgtemp.Cluster {
	t.Helper()
	pgOnce.Do(func() { pgCluster, pgErr = pgtemp.Start(context.Background(), pgtemp.Options{}) })
	if pgErr != nil {
		t.Fatalf("PostgreSQL test cluster: %v", pgErr)
	}
	return pgCluster
}

// newPGDatabase creates an empty database for one test and returns its URL.
func newPGDatabase(t testing.TB) string {
	t.Helper()
	c := testCluster(t)
	name := fmt.Sprintf("t%d_%s", pgSeq.Add(1), pgtemp.Ident(t.Name()))
	url, err := c.CreateDB(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// eachDialect runs f as the subtests "sqlite" and "postgres"; openTest inside f opens the
// store of the subtest's dialect.
func eachDialect(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, f)
	}
}

// onPostgres reports whether t runs under eachDialect's "postgres" subtest.
func onPostgres(t testing.TB) bool {
	for _, part := range strings.Split(t.Name(), "/") {
		if part == "postgres" {
			return true
		}
	}
	return false
}

// testTarget is a fresh database of t's dialect: a SQLite path or a PostgreSQL URL.
func testTarget(t testing.TB) string {
	if onPostgres(t) {
		return newPGDatabase(t)
	}
	return filepath.Join(t.TempDir(), "paybridge.db")
}

// openTest opens a fresh store of t's dialect; it is closed when the test ends. The string is
// the SQLite path or the PostgreSQL URL (open it again for a second node on the same data).
func openTest(t testing.TB) (*Store, string) {
	t.Helper()
	target := testTarget(t)
	s, err := Open(context.Background(), target)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, target
}

// openAgain opens a second store on target (a second node on a shared PostgreSQL database).
func openAgain(t testing.TB, target string) *Store {
	t.Helper()
	s, err := Open(context.Background(), target)
	if err != nil {
		t.Fatalf("Open again: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1":                             "SELECT 1",
		"a = ? AND b = ?":                      "a = $1 AND b = $2",
		"x = '?' AND y = ? AND z = \"a?\"":     "x = '?' AND y = $1 AND z = \"a?\"",
		"INSERT INTO t VALUES (?, 'it''s', ?)": "INSERT INTO t VALUES ($1, 'it''s', $2)",
	} {
		if got := postgresDialect.rebind(in); got != want {
			t.Errorf("rebind(%q) = %q, want %q", in, got, want)
		}
		if got := sqliteDialect.rebind(in); got != in {
			t.Errorf("sqlite rebind changed %q", in)
		}
	}
	if got := postgresDialect.ddl("a INTEGER NOT NULL, b INTEGERS, c INTEGER"); got != "a BIGINT NOT NULL, b INTEGERS, c BIGINT" {
		t.Errorf("ddl = %q", got)
	}
}

// A migration's dialect sections: each database runs the common lines and its own section.
func TestDialectSections(t *testing.T) {
	q := "CREATE TABLE a (x INTEGER);\n-- dialect: sqlite\nCREATE TRIGGER s;\n-- dialect: postgres\nCREATE FUNCTION p;\n-- dialect: both\nCREATE TABLE b (y INTEGER);\n"
	if got, want := sqliteDialect.ddl(q), "CREATE TABLE a (x INTEGER);\nCREATE TRIGGER s;\nCREATE TABLE b (y INTEGER);\n"; got != want {
		t.Errorf("sqlite:\n%s\nwant\n%s", got, want)
	}
	if got, want := postgresDialect.ddl(q), "CREATE TABLE a (x BIGINT);\nCREATE FUNCTION p;\nCREATE TABLE b (y BIGINT);\n"; got != want {
		t.Errorf("postgres:\n%s\nwant\n%s", got, want)
	}
	if err := checkSections(q); err != nil {
		t.Error(err)
	}
	if err := checkSections("-- dialect: postgresql\nX;\n"); err == nil {
		t.Error("a marker naming no dialect was accepted")
	}
}
