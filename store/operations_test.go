package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunRetention(t *testing.T) { eachDialect(t, testRunRetention) }

func testRunRetention(t *testing.T) {
	s, _ := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	old := time.Now().Add(-48 * time.Hour)
	must(t, s.CreateCall(ctx, Call{ID: "old", StartedAt: old}))
	must(t, s.EndCall(ctx, "old", "caller-hangup", old.Add(time.Minute)))
	must(t, s.CreateCall(ctx, Call{ID: "new"}))
	done := make(chan struct{})
	go func() {
		s.RunRetention(ctx, 24*time.Hour, 10*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, _, err := s.GetCall(ctx, "old"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("old call not purged")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a few more ticks purge nothing and audit nothing
	cancel()
	<-done
	if _, _, err := s.GetCall(context.Background(), "new"); err != nil {
		t.Errorf("recent call purged: %v", err)
	}
	es, _ := s.ListAudit(context.Background(), 10)
	if len(es) != 1 || es[0].Action != "store.purge" || es[0].Actor != "retention" || !strings.Contains(es[0].Detail, "1 calls") {
		t.Errorf("audit = %+v", es)
	}
	s.RunRetention(context.Background(), 0, 0, nil) // disabled: returns at once
}

func TestBackup(t *testing.T) { eachDialect(t, testBackup) }

// testBackup: VACUUM INTO on SQLite; a PostgreSQL store refuses and names PostgreSQL's tools.
func testBackup(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	must(t, s.CreateCall(ctx, Call{ID: "c1", Plan: "pay"}))
	if onPostgres(t) {
		dest := filepath.Join(t.TempDir(), "backup.db")
		if err := s.Backup(ctx, dest); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "pg_dump") {
			t.Fatalf("Backup of a PostgreSQL store = %v, want ErrUnsupported naming pg_dump", err)
		}
		if _, err := os.Stat(dest); err == nil {
			t.Fatal("a refused backup left a file")
		}
		return
	}
	dest := path + ".bak"
	must(t, s.Backup(ctx, dest))
	if err := s.Backup(ctx, dest); err == nil {
		t.Error("backup over an existing file accepted")
	}
	b, err := Open(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if c, _, err := b.GetCall(ctx, "c1"); err != nil || c.Plan != "pay" {
		t.Errorf("backup lacks the call: %v", err)
	}
}

func TestStats(t *testing.T) { eachDialect(t, testStats) }

func testStats(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	must(t, s.CreateCall(ctx, Call{ID: "y", StartedAt: day.Add(-time.Hour)})) // yesterday, still active
	must(t, s.CreateCall(ctx, Call{ID: "a", StartedAt: day.Add(time.Hour)}))
	must(t, s.CreateCall(ctx, Call{ID: "b", StartedAt: day.Add(2 * time.Hour)}))
	must(t, s.EndCall(ctx, "b", "caller-hangup", day.Add(3*time.Hour)))
	for i, p := range []PaymentSession{
		{Result: "success", AmountMinor: 1234, Currency: "GBP"},
		{Result: "success", AmountMinor: 100, Currency: "GBP"},
		{Result: "success", AmountMinor: 500, Currency: "EUR"},
		{Result: "too-many-failed-attempts", AmountMinor: 999, Currency: "GBP"},
	} {
		p.ID, p.CreatedAt = fmt.Sprint("p", i), day.Add(time.Hour)
		must(t, s.UpsertPaymentSession(ctx, p))
	}
	must(t, s.UpsertPaymentSession(ctx, PaymentSession{ID: "old", Result: "success", AmountMinor: 7, Currency: "GBP", CreatedAt: day.Add(-time.Hour)}))
	// Abandoned on a call yesterday, paid by link today: collected today.
	must(t, s.UpsertPaymentSession(ctx, PaymentSession{ID: "late", Result: "caller-interrupted-with-star", State: PaymentFailed,
		AmountMinor: 20, Currency: "GBP", CreatedAt: day.Add(-time.Hour), CompletedAt: day.Add(-time.Hour)}))
	must(t, s.UpsertPaymentSession(ctx, PaymentSession{ID: "late", Result: "success", State: PaymentCompleted, Channel: "link",
		CreatedAt: day.Add(2 * time.Hour), CompletedAt: day.Add(2 * time.Hour)}))
	st, err := s.Stats(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	if st.Calls != 2 || st.ActiveCalls != 2 || st.Payments["success"] != 3 || st.Payments["too-many-failed-attempts"] != 1 ||
		st.Collected["GBP"] != 1354 || st.Collected["EUR"] != 500 || len(st.Collected) != 2 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestOpenRefusesGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "paybridge.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open of a non-database = %v, want an error naming the file", err)
	}
	t.Log(err)
	if _, err := Open(context.Background(), ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty path = %v", err)
	}
}

// TestOpenPostgresErrors: a URL without a database, an unparseable URL and a server that is not
// there are each a clear error, naming the URL without its password, and the last one within
// the connect bound rather than hanging.
func TestOpenPostgresErrors(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"postgres://pb:s3cret@127.0.0.1:5432/", "postgres://pb:s3cret@127.0.0.1:notaport/x"} {
		_, err := Open(ctx, u)
		if !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) = %v, want ErrInvalid without the password", u, err)
		}
	}
	c := testCluster(t)
	gone := strings.Replace(c.URL("nosuchdb"), "user=", "password=s3cret&user=", 1)
	start := time.Now()
	_, err := Open(ctx, gone)
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "nosuchdb") {
		t.Errorf("Open of a missing database = %v, want an error naming it without the password", err)
	}
	port := freeTCPPort(t) // nothing listens there
	_, err = Open(ctx, fmt.Sprintf("postgres://pb:s3cret@127.0.0.1:%d/ledger?sslmode=disable", port))
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "ledger") {
		t.Errorf("Open with no server = %v, want an error naming the URL without the password", err)
	}
	if d := time.Since(start); d > pgConnectTimeout+10*time.Second {
		t.Errorf("the failed opens took %v", d)
	}
	t.Log(err)
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
