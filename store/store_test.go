package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/paybridge/paybridge/payment"
)

var testPANs = []string{"4242424242424242", "5555555555554444", "378282246310005"}

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestOpenPragmas(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	for _, db := range []*sql.DB{s.w, s.r} {
		var mode string
		var sync, busy, fk, sd int
		if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q, %v; want wal", mode, err)
		}
		if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
			t.Errorf("synchronous = %d, %v; want 2 (FULL)", sync, err)
		}
		if err := db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil || busy != int(busyTimeout.Milliseconds()) {
			t.Errorf("busy_timeout = %d, %v", busy, err)
		}
		if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
			t.Errorf("foreign_keys = %d, %v", fk, err)
		}
		if err := db.QueryRowContext(ctx, "PRAGMA secure_delete").Scan(&sd); err != nil || sd != 1 {
			t.Errorf("secure_delete = %d, %v", sd, err)
		}
	}
	// The writer keeps its statement journals in memory (writerTempStore); readers keep
	// SQLite's default.
	for db, want := range map[*sql.DB]int{s.w: 2, s.r: 0} {
		var temp int
		if err := db.QueryRowContext(ctx, "PRAGMA temp_store").Scan(&temp); err != nil || temp != want {
			t.Errorf("temp_store = %d, %v; want %d", temp, err, want)
		}
	}
	// The read pool really is read-only.
	if _, err := s.r.ExecContext(ctx, "DELETE FROM calls"); err == nil {
		t.Error("read pool accepted a write")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode %v, want 0600", fi.Mode().Perm())
	}
	if v, err := s.Version(ctx); err != nil || v != SchemaVersion() || v < 1 {
		t.Errorf("Version = %d, %v; SchemaVersion = %d", v, err, SchemaVersion())
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestReopenKeepsData(t *testing.T) { eachDialect(t, testReopenKeepsData) }

func testReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := testTarget(t)
	if !onPostgres(t) {
		path = filepath.Join(t.TempDir(), "db", "paybridge.db") // directory created by Open
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCall(ctx, Call{ID: "c1", From: "+441234", To: "+449999", Plan: "main", StartedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCall(ctx, Call{ID: "c2"}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close = %v, want ErrClosed", err)
	}
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	c, _, err := s2.GetCall(ctx, "c1")
	if err != nil || c.Plan != "main" || !c.StartedAt.Equal(t0) {
		t.Fatalf("after reopen: %+v, %v", c, err)
	}
}

func TestMigrationsRefuseNewerSchema(t *testing.T) { eachDialect(t, testMigrationsRefuseNewerSchema) }

func testMigrationsRefuseNewerSchema(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	n := SchemaVersion()
	if _, err := s.w.ExecContext(ctx, s.d.rebind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future.sql', 0)"), n+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(ctx, path)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema = %v, want ErrSchemaTooNew", err)
	}
	msg := err.Error()
	for _, want := range []string{fmt.Sprint(n + 1), fmt.Sprint(n), path, "newer paybridge"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
}

func TestMigrationsApplyInOrderOnce(t *testing.T) { eachDialect(t, testMigrationsApplyInOrderOnce) }

func testMigrationsApplyInOrderOnce(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	base, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	// A second migration on top of the real ones applies once, and re-running is a no-op.
	next := append(base, migration{version: len(base) + 1, name: "9999_extra.sql", sql: "CREATE TABLE extra (x INTEGER); INSERT INTO extra VALUES (7);"})
	for i := 0; i < 2; i++ {
		if err := s.migrateWith(ctx, next); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	var count int
	if err := s.w.QueryRowContext(ctx, "SELECT COUNT(*) FROM extra").Scan(&count); err != nil || count != 1 {
		t.Fatalf("extra rows = %d, %v; want 1", count, err)
	}
	// A failing migration rolls back entirely.
	bad := append(next, migration{version: len(next) + 1, name: "bad.sql", sql: "CREATE TABLE half (x INTEGER); SELECT nope FROM nowhere;"})
	if err := s.migrateWith(ctx, bad); err == nil {
		t.Fatal("failing migration returned nil")
	}
	if err := s.w.QueryRowContext(ctx, "SELECT COUNT(*) FROM half").Scan(&count); err == nil {
		t.Error("failed migration left table half behind")
	}
}

func TestLoadMigrationsRejectsBadNames(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"gap":        {"migrations/0001_a.sql": {Data: []byte("")}, "migrations/0003_c.sql": {Data: []byte("")}},
		"unnumbered": {"migrations/init.sql": {Data: []byte("")}},
		"zero":       {"migrations/0000_a.sql": {Data: []byte("")}},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: loadMigrations accepted it", name)
		}
	}
}

func TestCallRoundTripAndTimeline(t *testing.T) { eachDialect(t, testCallRoundTripAndTimeline) }

func testCallRoundTripAndTimeline(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	in := Call{ID: "call-1", From: "+447700900001", To: "+441632960000", Plan: "pay.xml", PlanHash: "sha256:ab", Node: "n1", StartedAt: t0}
	if err := s.CreateCall(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCall(ctx, in); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate CreateCall = %v", err)
	}
	if err := s.MarkAnswered(ctx, "call-1", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	evs := []EventRecord{
		{Time: t0.Add(time.Second), Type: "call.answered"},
		{Time: t0.Add(2 * time.Second), Type: "step", Step: "Pay", Fields: jsonFields(map[string]any{"name": "card"})},
		{Time: t0.Add(3 * time.Second), Type: "pay.progress", Step: "Pay", Fields: jsonFields(map[string]any{"for": "payment-card-number", "attempt": 1.0, "digits": 16.0})},
	}
	for _, ev := range evs {
		if err := s.AppendEvent(ctx, "call-1", ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendEvent(ctx, "no-such-call", evs[0]); !errors.Is(err, ErrNotFound) {
		t.Errorf("AppendEvent to unknown call = %v, want ErrNotFound", err)
	}
	if err := s.EndCall(ctx, "call-1", "caller-hangup", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Ending twice keeps the first end; unknown ids are ErrNotFound.
	if err := s.EndCall(ctx, "call-1", "shutdown", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.EndCall(ctx, "nope", "x", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("EndCall unknown = %v", err)
	}
	if err := s.MarkAnswered(ctx, "nope", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("MarkAnswered unknown = %v", err)
	}
	c, got, err := s.GetCall(ctx, "call-1")
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.State, want.AnsweredAt, want.EndedAt, want.HangupCause = CallEnded, t0.Add(time.Second), t0.Add(time.Minute), "caller-hangup"
	if *c != want {
		t.Errorf("GetCall =\n%+v\nwant\n%+v", *c, want)
	}
	if len(got) != len(evs) {
		t.Fatalf("timeline has %d events, want %d", len(got), len(evs))
	}
	for i, ev := range got {
		if ev.Seq != int64(i+1) || ev.Type != evs[i].Type || ev.Step != evs[i].Step || !ev.Time.Equal(evs[i].Time) ||
			fmt.Sprint(ev.Fields) != fmt.Sprint(evs[i].Fields) {
			t.Errorf("event %d = %+v, want %+v", i, ev, evs[i])
		}
	}
	if _, _, err := s.GetCall(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetCall unknown = %v", err)
	}
}

func TestListCallsFiltersAndPaging(t *testing.T) { eachDialect(t, testListCallsFiltersAndPaging) }

func testListCallsFiltersAndPaging(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	const n = 23
	for i := 0; i < n; i++ {
		c := Call{ID: fmt.Sprintf("c%02d", i), From: fmt.Sprintf("+4400%d", i%3), To: "+4411", Plan: []string{"a", "b"}[i%2],
			StartedAt: t0.Add(time.Duration(i/2) * time.Second)} // pairs share a start time: the id breaks ties
		if err := s.CreateCall(ctx, c); err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			if err := s.EndCall(ctx, c.ID, "caller-hangup", c.StartedAt.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Paging through everything visits each call once, newest first.
	seen := map[string]bool{}
	var prev *Call
	cursor := ""
	pages := 0
	for {
		page, err := s.ListCalls(ctx, CallFilter{Limit: 5, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		pages++
		for i := range page {
			c := page[i]
			if seen[c.ID] {
				t.Fatalf("call %s on two pages", c.ID)
			}
			seen[c.ID] = true
			if prev != nil && (c.StartedAt.After(prev.StartedAt) || (c.StartedAt.Equal(prev.StartedAt) && c.ID > prev.ID)) {
				t.Fatalf("order broken: %s after %s", c.ID, prev.ID)
			}
			prev = &c
		}
		cursor = page[len(page)-1].Cursor()
	}
	if len(seen) != n || pages != 5 {
		t.Fatalf("paged %d calls in %d pages, want %d in 5", len(seen), pages, n)
	}
	tests := []struct {
		name string
		f    CallFilter
		want int
	}{
		{"all", CallFilter{}, n},
		{"ended", CallFilter{State: CallEnded}, 6},
		{"active", CallFilter{State: "active"}, n - 6},
		{"plan", CallFilter{Plan: "a"}, 12},
		{"from", CallFilter{From: "+44001"}, 8},
		{"to", CallFilter{To: "+4411"}, n},
		{"since", CallFilter{Since: t0.Add(10 * time.Second)}, 3},
		{"until", CallFilter{Until: t0.Add(time.Second)}, 2},
		{"window+plan", CallFilter{Since: t0.Add(2 * time.Second), Until: t0.Add(4 * time.Second), Plan: "b"}, 2},
	}
	for _, tt := range tests {
		got, err := s.ListCalls(ctx, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(got) != tt.want {
			t.Errorf("%s: %d calls, want %d", tt.name, len(got), tt.want)
		}
	}
	if _, err := s.ListCalls(ctx, CallFilter{State: "bogus"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad state = %v", err)
	}
	if _, err := s.ListCalls(ctx, CallFilter{Cursor: "!!"}); !errors.Is(err, ErrBadCursor) {
		t.Errorf("bad cursor = %v", err)
	}
}

func TestPaymentsAndAttempts(t *testing.T) { eachDialect(t, testPaymentsAndAttempts) }

func testPaymentsAndAttempts(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	p := PaymentSession{ID: "sess-1", CallID: "call-1", Connector: "sandbox", Channel: "voice", AmountMinor: 1250,
		Currency: "GBP", Reference: "INV-42", State: "started", CreatedAt: t0, UpdatedAt: t0}
	if err := s.UpsertPaymentSession(ctx, p); err != nil {
		t.Fatal(err)
	}
	// A partial update keeps what it does not set.
	if err := s.UpsertPaymentSession(ctx, PaymentSession{ID: "sess-1", State: "completed", Result: "success",
		MaskedCard: "************4242", CardType: "visa", Confirmation: "ch_1", Attempts: 1,
		UpdatedAt: t0.Add(time.Minute), CompletedAt: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertPaymentSession(ctx, PaymentSession{ID: "sess-1", MaskedCard: "4242424242424242"}); !errors.Is(err, ErrCardData) {
		t.Errorf("unmasked card = %v, want ErrCardData", err)
	}
	if err := s.CreateAttempt(ctx, Attempt{IdempotencyKey: "k1", SessionID: "sess-1", CallID: "call-1", Connector: "sandbox",
		Attempt: 1, AmountMinor: 1250, Currency: "GBP", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAttempt(ctx, Attempt{IdempotencyKey: "k1"}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate key = %v", err)
	}
	if err := s.CreateAttempt(ctx, Attempt{IdempotencyKey: "k2", SessionID: "sess-1", Attempt: 2, CreatedAt: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	pend, err := s.PendingAttempts(ctx)
	if err != nil || len(pend) != 2 || pend[0].IdempotencyKey != "k1" || pend[0].Status != AttemptPending {
		t.Fatalf("PendingAttempts = %+v, %v", pend, err)
	}
	res := AttemptResult{Result: "approved", ProviderStatus: 201, Confirmation: "ch_1", CompletedAt: t0.Add(time.Minute)}
	if err := s.CompleteAttempt(ctx, "k1", res); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteAttempt(ctx, "k1", AttemptResult{Result: "declined"}); !errors.Is(err, ErrNotPending) {
		t.Errorf("second completion = %v", err)
	}
	if err := s.CompleteAttempt(ctx, "nope", res); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown key = %v", err)
	}
	got, atts, err := s.GetPayment(ctx, "sess-1")
	if err != nil {
		t.Fatal(err)
	}
	want := p
	want.State, want.Result, want.MaskedCard, want.CardType, want.Confirmation, want.Attempts = "completed", "success", "************4242", "visa", "ch_1", 1
	want.UpdatedAt, want.CompletedAt = t0.Add(time.Minute), t0.Add(time.Minute)
	if *got != want {
		t.Errorf("GetPayment =\n%+v\nwant\n%+v", *got, want)
	}
	if len(atts) != 2 || atts[0].Status != AttemptComplete || atts[0].AttemptResult != res || atts[1].Status != AttemptPending {
		t.Errorf("attempts = %+v", atts)
	}
	list, err := s.ListPayments(ctx, PaymentFilter{Result: "success"})
	if err != nil || len(list) != 1 {
		t.Errorf("ListPayments = %v, %v", list, err)
	}
	if list, _ := s.ListPayments(ctx, PaymentFilter{Connector: "other"}); len(list) != 0 {
		t.Errorf("connector filter returned %d", len(list))
	}
	if _, _, err := s.GetPayment(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetPayment unknown = %v", err)
	}
}

func TestLinksSingleUse(t *testing.T) { eachDialect(t, testLinksSingleUse) }

func testLinksSingleUse(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	l := Link{ID: "lnk-1", TokenHash: "h1", SessionID: "sess-1", To: "+447700900001", AmountMinor: 500, Currency: "EUR",
		Reference: "R1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateLink(ctx, Link{TokenHash: "h1", ExpiresAt: t0}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate hash = %v", err)
	}
	got, err := s.LinkByHash(ctx, "h1")
	l.Status = LinkActive // a new link starts active
	if err != nil || *got != l || got.State(t0) != "active" {
		t.Fatalf("LinkByHash = %+v, %v", got, err)
	}
	if err := s.RecordLinkAttempt(ctx, "h1", t0.Add(time.Minute), "declined"); err != nil {
		t.Fatal(err)
	}
	// Twenty concurrent payers: exactly one wins.
	var wins sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 20; i++ {
		wins.Add(1)
		go func() {
			defer wins.Done()
			won, err := s.ConsumeLink(ctx, "h1", t0.Add(2*time.Minute))
			if err != nil {
				t.Error(err)
			}
			if won {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wins.Wait()
	if ok != 1 {
		t.Fatalf("%d payers consumed the link, want 1", ok)
	}
	got, _ = s.LinkByHash(ctx, "h1")
	if got.Attempts != 1 || got.LastResult != "declined" || got.State(t0) != "used" || !got.UsedAt.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("after use: %+v", got)
	}
	// Expired links are not consumed.
	if err := s.CreateLink(ctx, Link{TokenHash: "h2", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if won, err := s.ConsumeLink(ctx, "h2", t0.Add(time.Minute)); won || err != nil {
		t.Errorf("expired link consumed: %v %v", won, err)
	}
	if _, err := s.ConsumeLink(ctx, "nope", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown hash = %v", err)
	}
	if err := s.RecordLinkAttempt(ctx, "nope", t0, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown hash attempt = %v", err)
	}
	links, err := s.ListLinks(ctx, LinkFilter{})
	if err != nil || len(links) != 2 {
		t.Errorf("ListLinks = %d, %v", len(links), err)
	}
	if _, err := s.LinkByHash(ctx, "nope"); !errors.Is(err, ErrNotFound) || strings.Contains(err.Error(), "nope") {
		t.Errorf("LinkByHash unknown = %v (must not echo the hash)", err)
	}
}

func TestSMSOutbox(t *testing.T) { eachDialect(t, testSMSOutbox) }

func testSMSOutbox(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	var ids []string
	for i := 0; i < 3; i++ {
		id, err := s.EnqueueSMS(ctx, SMS{To: "+447700900001", Body: fmt.Sprintf("Pay here %d", i), CreatedAt: t0.Add(time.Duration(i) * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := s.EnqueueSMS(ctx, SMS{To: "+447700900002", Body: "other", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountSMSSince(ctx, "+447700900001", t0.Add(time.Minute)); err != nil || n != 2 {
		t.Errorf("CountSMSSince = %d, %v; want 2", n, err)
	}
	if err := s.MarkSMSSent(ctx, ids[0], "SM1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSMSFailed(ctx, ids[1], "provider said 400"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSMSSent(ctx, "nope", "", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown SMS = %v", err)
	}
	sent, err := s.ListSMS(ctx, SMSFilter{Status: SMSSent})
	if err != nil || len(sent) != 1 || sent[0].ProviderID != "SM1" || !sent[0].SentAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("sent = %+v, %v", sent, err)
	}
	all, _ := s.ListSMS(ctx, SMSFilter{To: "+447700900001"})
	if len(all) != 3 || all[0].Body != "Pay here 2" {
		t.Errorf("ListSMS = %+v", all)
	}
	if _, err := s.EnqueueSMS(ctx, SMS{To: "+44"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty body = %v", err)
	}
}

func TestWebhookRetries(t *testing.T) { eachDialect(t, testWebhookRetries) }

func testWebhookRetries(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	id, err := s.EnqueueWebhook(ctx, Webhook{Event: "pay.completed", URL: "https://example.test/hook", Payload: []byte(`{"result":"success"}`), CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	later, _ := s.EnqueueWebhook(ctx, Webhook{Event: "link.paid", URL: "https://example.test/hook", Payload: []byte(`{}`), CreatedAt: t0, NextAt: t0.Add(time.Hour)})
	due, err := s.DueWebhooks(ctx, t0, 10)
	if err != nil || len(due) != 1 || due[0].ID != id || string(due[0].Payload) != `{"result":"success"}` {
		t.Fatalf("DueWebhooks = %+v, %v", due, err)
	}
	if err := s.MarkWebhookFailed(ctx, id, t0.Add(30*time.Second), "503"); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueWebhooks(ctx, t0.Add(29*time.Second), 10); len(due) != 0 {
		t.Errorf("retry due too early: %+v", due)
	}
	due, _ = s.DueWebhooks(ctx, t0.Add(2*time.Hour), 10)
	if len(due) != 2 || due[0].ID != id || due[0].Attempts != 1 || due[0].LastError != "503" {
		t.Fatalf("after failure: %+v", due)
	}
	if err := s.MarkWebhookDelivered(ctx, id, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkWebhookFailed(ctx, later, time.Time{}, "gave up"); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueWebhooks(ctx, t0.Add(24*time.Hour), 10); len(due) != 0 {
		t.Errorf("delivered/dead still due: %+v", due)
	}
	if err := s.MarkWebhookDelivered(ctx, id, t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delivery = %v", err)
	}
}

func TestAudit(t *testing.T) { eachDialect(t, testAudit) }

func testAudit(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	if err := s.AppendAudit(ctx, "admin-token", "plans.reload", "3 plans"); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, "admin", "", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty action = %v", err)
	}
	es, err := s.ListAudit(ctx, 10)
	if err != nil || len(es) != 1 || es[0].Action != "plans.reload" || es[0].Actor != "admin-token" {
		t.Errorf("ListAudit = %+v, %v", es, err)
	}
}

func TestPurgeKeepsPaymentSummaries(t *testing.T) { eachDialect(t, testPurgeKeepsPaymentSummaries) }

func testPurgeKeepsPaymentSummaries(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	old, recent := t0.Add(-40*24*time.Hour), t0.Add(-time.Hour)
	for _, c := range []struct {
		id    string
		start time.Time
		end   bool
	}{{"old-ended", old, true}, {"old-running", old, false}, {"new-ended", recent, true}} {
		if err := s.CreateCall(ctx, Call{ID: c.id, StartedAt: c.start}); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendEvent(ctx, c.id, EventRecord{Type: "call.started", Time: c.start}); err != nil {
			t.Fatal(err)
		}
		if c.end {
			if err := s.EndCall(ctx, c.id, "caller-hangup", c.start.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.UpsertPaymentSession(ctx, PaymentSession{ID: "p-old", CallID: "old-ended", AmountMinor: 100, Currency: "GBP",
		State: "completed", MaskedCard: "************4444", CreatedAt: old, UpdatedAt: old}); err != nil {
		t.Fatal(err)
	}
	must(t, s.CreateAttempt(ctx, Attempt{IdempotencyKey: "a-old", SessionID: "p-old", CreatedAt: old}))
	must(t, s.CompleteAttempt(ctx, "a-old", AttemptResult{Result: "approved", CompletedAt: old}))
	must(t, s.CreateAttempt(ctx, Attempt{IdempotencyKey: "a-pending", SessionID: "p-old", CreatedAt: old}))
	must(t, s.CreateLink(ctx, Link{TokenHash: "old", CreatedAt: old, ExpiresAt: old.Add(time.Hour)}))
	must(t, s.CreateLink(ctx, Link{TokenHash: "new", CreatedAt: recent, ExpiresAt: recent.Add(time.Hour)}))
	_, err := s.EnqueueSMS(ctx, SMS{To: "+44", Body: "old", CreatedAt: old})
	must(t, err)
	wid, err := s.EnqueueWebhook(ctx, Webhook{Event: "e", URL: "u", Payload: []byte("{}"), CreatedAt: old})
	must(t, err)
	must(t, s.MarkWebhookDelivered(ctx, wid, old))
	must(t, s.AppendAudit(ctx, "a", "b", "c"))

	st, err := s.Purge(ctx, t0.Add(-30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := PurgeStats{Calls: 1, Events: 1, Attempts: 1, Links: 1, SMS: 1, Webhooks: 1}
	if st != want {
		t.Errorf("Purge = %+v, want %+v", st, want)
	}
	if _, _, err := s.GetCall(ctx, "old-ended"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old call survived: %v", err)
	}
	for _, id := range []string{"old-running", "new-ended"} {
		if _, evs, err := s.GetCall(ctx, id); err != nil || len(evs) != 1 {
			t.Errorf("%s: %d events, %v", id, len(evs), err)
		}
	}
	p, atts, err := s.GetPayment(ctx, "p-old")
	if err != nil || p.MaskedCard != "************4444" || len(atts) != 1 || atts[0].IdempotencyKey != "a-pending" {
		t.Errorf("payment summary after purge: %+v %+v %v", p, atts, err)
	}
	if es, _ := s.ListAudit(ctx, 10); len(es) != 1 {
		t.Errorf("audit purged")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentWriters hammers the store from many goroutines and a second Store on the same
// file (as a CLI would be): every write lands, none fails with SQLITE_BUSY.
func TestConcurrentWriters(t *testing.T) { eachDialect(t, testConcurrentWriters) }

func testConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	s2 := openAgain(t, path) // a CLI on the same SQLite file; a second node on PostgreSQL
	const workers, per = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers*per*2)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := []*Store{s, s2}[w%2]
			for i := 0; i < per; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := st.CreateCall(ctx, Call{ID: id, StartedAt: t0}); err != nil {
					errs <- err
					continue
				}
				if err := st.AppendEvent(ctx, id, EventRecord{Type: "call.started"}); err != nil {
					errs <- err
				}
				if _, err := st.ListCalls(ctx, CallFilter{Limit: 5}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM call_events").Scan(&n); err != nil || n != workers*per {
		t.Errorf("%d events, %v; want %d", n, err, workers*per)
	}
}

// TestFullPaymentFlowHoldsNoPAN writes everything a voice payment and a link payment write —
// including free text that carelessly contains the test card numbers — and then scans the raw
// database file and its WAL for the numbers.
// On PostgreSQL every row of every table is read back as text and scanned the same way (the
// cluster's files are shared by the package's tests).
func TestFullPaymentFlowHoldsNoPAN(t *testing.T) { eachDialect(t, testFullPaymentFlowHoldsNoPAN) }

func testFullPaymentFlowHoldsNoPAN(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "paybridge.db")
	if onPostgres(t) {
		path = newPGDatabase(t)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for i, pan := range testPANs {
		call := fmt.Sprintf("call-%d", i)
		sess := fmt.Sprintf("sess-%d", i)
		must(t, s.CreateCall(ctx, Call{ID: call, From: "+447700900001", To: "+441632960000", Plan: "pay"}))
		must(t, s.MarkAnswered(ctx, call, time.Time{}))
		must(t, s.AppendEvent(ctx, call, EventRecord{Type: "pay.progress", Step: "Pay", Fields: jsonFields(map[string]any{
			"for": "payment-card-number", "digits": 16, "oops": "card " + pan, "nested": []any{pan, map[string]any{"n": json64(pan)}},
			"spaced": pan[:4] + " " + pan[4:8] + " " + pan[8:12] + " " + pan[12:], "dashed": pan[:4] + "-" + pan[4:],
		})}))
		must(t, s.UpsertPaymentSession(ctx, PaymentSession{ID: sess, CallID: call, Connector: "sandbox", AmountMinor: 1000,
			Currency: "GBP", Reference: "ref " + pan, State: "completed", Result: "success", MaskedCard: "************" + pan[len(pan)-4:],
			CardType: "visa", Confirmation: "ch_" + pan, ProviderPaymentID: pan}))
		key := "idem-" + sess
		must(t, s.CreateAttempt(ctx, Attempt{IdempotencyKey: key, SessionID: sess, CallID: call, AmountMinor: 1000, Currency: "GBP"}))
		must(t, s.CompleteAttempt(ctx, key, AttemptResult{Result: "declined", ErrorCode: "card_declined",
			ErrorMessage: "Your card " + pan + " was declined", ProviderStatus: 402}))
		must(t, s.CreateLink(ctx, Link{TokenHash: "hash-" + sess, SessionID: sess, AmountMinor: 1000, Currency: "GBP",
			Reference: pan, ExpiresAt: time.Now().Add(time.Hour)}))
		must(t, s.RecordLinkAttempt(ctx, "hash-"+sess, time.Time{}, "declined "+pan))
		_, err := s.EnqueueSMS(ctx, SMS{To: "+447700900001", Body: "Pay at https://pay.example/p/abc " + pan, CallID: call})
		must(t, err)
		_, err = s.EnqueueWebhook(ctx, Webhook{Event: "pay.completed", URL: "https://example.test",
			Payload: []byte(`{"pan":"` + pan + `","n":` + pan + `}`)})
		must(t, err)
		must(t, s.AppendAudit(ctx, "admin", "note", "customer read out "+pan))
		must(t, s.EndCall(ctx, call, "caller said "+pan, time.Time{}))
	}
	if onPostgres(t) {
		scanDump(t, s)
		must(t, s.Close())
		return
	}
	// Scan while the WAL still holds the writes, then again after a checkpoint on Close.
	scanFiles(t, dir)
	must(t, s.Close())
	scanFiles(t, dir)
}

// dumpText writes every row of every table of a PostgreSQL store, as text, into a file of dir.
func dumpText(t *testing.T, s *Store, dir string) {
	t.Helper()
	var b bytes.Buffer
	for _, tbl := range append([]string{"schema_migrations"}, tableNames()...) {
		rows, err := s.r.Query("SELECT CAST(x AS TEXT) FROM " + tbl + " x")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			must(t, rows.Scan(&line))
			b.WriteString(line + "\n")
		}
		must(t, rows.Err())
		rows.Close()
	}
	must(t, os.WriteFile(filepath.Join(dir, "dump.txt"), b.Bytes(), 0o600))
}

func tableNames() []string {
	var out []string
	for _, c := range copyTables {
		out = append(out, c.name)
	}
	return out
}

func scanDump(t *testing.T, s *Store) {
	t.Helper()
	dir := t.TempDir()
	dumpText(t, s, dir)
	scanFiles(t, dir)
}

func json64(pan string) any {
	var n int64
	fmt.Sscan(pan, &n)
	return n
}

func scanFiles(t *testing.T, dir string) {
	t.Helper()
	found, masks, scanned := findPANs(t, dir)
	for _, f := range found {
		t.Errorf("test PAN on disk: %s", f)
	}
	if scanned == 0 || masks == 0 {
		t.Fatalf("scanned %d bytes, %d masks: the scan saw no payment data", scanned, masks)
	}
}

// findPANs reads every file in dir and reports which hold a test PAN, how many canonical
// masks it saw (proof that the payment data is there to be scanned) and the bytes read.
func findPANs(t *testing.T, dir string) (found []string, masks, scanned int) {
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		scanned += len(b)
		masks += bytes.Count(b, []byte("************4242"))
		for _, pan := range testPANs {
			if bytes.Contains(b, []byte(pan)) {
				found = append(found, filepath.Base(f)+": "+pan[:6]+"…")
			}
		}
	}
	return found, masks, scanned
}

// TestPANScanDetects proves the scan above can fail: a PAN written around the store is found.
func TestPANScanDetects(t *testing.T) { eachDialect(t, testPANScanDetects) }

func testPANScanDetects(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	target := filepath.Join(dir, "paybridge.db")
	if onPostgres(t) {
		target = newPGDatabase(t)
	}
	s, err := Open(ctx, target)
	must(t, err)
	defer s.Close()
	_, err = s.w.ExecContext(ctx, s.d.rebind("INSERT INTO audit_log (id, at, actor, action, detail) VALUES ('x', 0, 'a', 'b', ?)"), testPANs[0])
	must(t, err)
	if onPostgres(t) {
		dumpText(t, s, dir)
	}
	if found, _, _ := findPANs(t, dir); len(found) == 0 {
		t.Fatal("raw PAN written to the database was not found by the scan")
	}
}

// jsonFields encodes an event's fields as the store keeps them.
func jsonFields(v map[string]any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestPaymentRecordAcrossChannels: a voice capture abandoned with '*' and the link that pays
// the same session later are one record: the link completes it, clears the voice attempt's
// error, and keeps the facts the link did not repeat. A late failure of another attempt does
// not undo a completed payment.
func TestPaymentRecordAcrossChannels(t *testing.T) { eachDialect(t, testPaymentRecordAcrossChannels) }

func testPaymentRecordAcrossChannels(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	must(t, s.UpsertPaymentSession(ctx, PaymentSession{ID: "sess", CallID: "c", Connector: "provider", Channel: "voice",
		AmountMinor: 1234, Currency: "GBP", Reference: "ACC-1", State: PaymentFailed, Result: "too-many-failed-attempts",
		ErrorType: "invalid-card-number", ErrorCode: "card_declined", ProviderSessionID: "sess", Attempts: 3,
		CreatedAt: t0, UpdatedAt: t0, CompletedAt: t0}))
	paidAt := t0.Add(time.Hour)
	must(t, s.UpsertPaymentSession(ctx, PaymentSession{ID: "sess", Channel: "link", State: PaymentCompleted, Result: "success",
		MaskedCard: "************4444", CardType: "mastercard", Confirmation: "ch_1", Attempts: 1, UpdatedAt: paidAt, CompletedAt: paidAt}))
	p, _, err := s.GetPayment(ctx, "sess")
	if err != nil {
		t.Fatal(err)
	}
	want := PaymentSession{ID: "sess", CallID: "c", Connector: "provider", Channel: "link", AmountMinor: 1234, Currency: "GBP",
		Reference: "ACC-1", State: PaymentCompleted, Result: "success", MaskedCard: "************4444", CardType: "mastercard",
		Confirmation: "ch_1", ProviderSessionID: "sess", Attempts: 1, CreatedAt: t0, UpdatedAt: paidAt, CompletedAt: paidAt}
	if *p != want {
		t.Fatalf("record\n got %+v\nwant %+v", *p, want)
	}
	must(t, s.UpsertPaymentSession(ctx, PaymentSession{ID: "sess", Channel: "link", State: PaymentFailed, Result: "declined",
		ErrorCode: "card_declined", UpdatedAt: paidAt.Add(time.Minute), CompletedAt: paidAt.Add(time.Minute)}))
	p, _, _ = s.GetPayment(ctx, "sess")
	if p.State != PaymentCompleted || p.Result != "success" || p.ErrorCode != "" || !p.CompletedAt.Equal(paidAt) {
		t.Fatalf("a late decline undid the payment: %+v", *p)
	}
}

// TestUpsertPaymentSessionStoredIsTheRecord: what UpsertPaymentSessionStored returns is the
// record as stored — field by field what GetPayment reads right after — through a create, a
// merge from another channel, a late failure that must not undo the payment, an invoice and
// routes, and a reference that spells a card number (returned masked, as stored).
func TestUpsertPaymentSessionStoredIsTheRecord(t *testing.T) {
	eachDialect(t, testUpsertPaymentSessionStoredIsTheRecord)
}

func testUpsertPaymentSessionStoredIsTheRecord(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	routes := Routes{{Connector: "provider", AttemptKey: "k1", Outcome: "declined", ErrorCode: "card_declined"}}
	writes := []PaymentSession{
		{ID: "sess", CallID: "c", Connector: "provider", Channel: "voice", AmountMinor: 1234, Currency: "GBP",
			Reference: "ACC 4242424242424242", State: PaymentFailed, Result: "too-many-failed-attempts",
			ErrorType: "invalid-card-number", ErrorCode: "card_declined", ProviderSessionID: "sess", Attempts: 3,
			Invoice: &payment.Invoice{ID: "inv-1", Lines: []payment.InvoiceLine{{Description: "gas", Quantity: 1, AmountMinor: 1234}}},
			Routes:  &routes, CreatedAt: t0, UpdatedAt: t0, CompletedAt: t0},
		{ID: "sess", Channel: "link", State: PaymentCompleted, Result: "success", MaskedCard: "************4444",
			CardType: "mastercard", Confirmation: "ch_1", Attempts: 1, AuthorizedMinor: 1234, Method: payment.MethodCharge,
			UpdatedAt: t0.Add(time.Hour), CompletedAt: t0.Add(time.Hour)},
		{ID: "sess", Channel: "link", State: PaymentFailed, Result: "declined", ErrorCode: "card_declined",
			UpdatedAt: t0.Add(2 * time.Hour), CompletedAt: t0.Add(2 * time.Hour)},
	}
	for i, w := range writes {
		got, err := s.UpsertPaymentSessionStored(ctx, w)
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		want, _, err := s.GetPayment(ctx, "sess")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("write %d returned\n %+v\nstored\n %+v", i, *got, *want)
		}
		if strings.Contains(got.Reference, "4242424242424242") {
			t.Fatalf("write %d returned the card number in the reference: %q", i, got.Reference)
		}
	}
	if _, err := s.UpsertPaymentSessionStored(ctx, PaymentSession{ID: "bad", MaskedCard: "4242424242424242"}); !errors.Is(err, ErrCardData) {
		t.Fatalf("an unmasked card: %v, want ErrCardData", err)
	}
}
