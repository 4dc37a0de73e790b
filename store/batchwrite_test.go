package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/payment"
)

// A recorder tick's timeline rows and payment records are separate writes that share one
// commit on SQLite: each has its own outcome, the records come back as stored, in order.
func TestAppendEventsAndPayments(t *testing.T) { eachDialect(t, testAppendEventsAndPayments) }

func testAppendEventsAndPayments(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if err := s.CreateCall(ctx, Call{ID: "c1", State: CallAnswered, StartedAt: t0}); err != nil {
		t.Fatal(err)
	}
	evs := []CallEvent{
		{CallID: "c1", EventRecord: EventRecord{Time: t0, Type: "pay.completed", Fields: []byte(`{"ref":"4242424242424242"}`)}},
		{CallID: "gone", EventRecord: EventRecord{Time: t0, Type: "call.ended"}},
	}
	pays := []PaymentSession{
		{ID: "sess", CallID: "c1", Connector: "provider", Channel: "voice", AmountMinor: 1234, Currency: "GBP",
			State: PaymentFailed, Result: "declined", ErrorType: "invalid-card-number", ProviderSessionID: "sess",
			CreatedAt: t0, UpdatedAt: t0, CompletedAt: t0},
		{ID: "bad", CallID: "c1", MaskedCard: "4242424242424242"}, // refused before the writer
		{ID: "sess", State: PaymentCompleted, Result: "success", MaskedCard: "************4444", CardType: "mastercard",
			Confirmation: "ch_1", AuthorizedMinor: 1234, Method: payment.MethodCharge, UpdatedAt: t0.Add(time.Hour), CompletedAt: t0.Add(time.Hour)},
		{ID: "other", CallID: "c1", Connector: "provider", AmountMinor: 500, Currency: "GBP", Reference: "ACC 4242424242424242",
			State: PaymentCompleted, Result: "success", CreatedAt: t0, UpdatedAt: t0, CompletedAt: t0},
	}
	before := s.WriteStats()
	got, err := s.AppendEventsAndPayments(ctx, evs, pays)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "gone") {
		t.Errorf("events error = %v, want ErrNotFound naming the missing call", err)
	}
	after := s.WriteStats()
	if w := after.Writes - before.Writes; w != 4 {
		t.Errorf("%d writes, want 4 (the events and three records)", w)
	}
	if c := after.Commits - before.Commits; !onPostgres(t) && c != 1 {
		t.Errorf("%d commits on SQLite, want 1", c)
	}
	if len(got) != len(pays) {
		t.Fatalf("%d results for %d payments", len(got), len(pays))
	}
	if !errors.Is(got[1].Err, ErrCardData) || got[1].Record != nil {
		t.Errorf("unmasked card: %+v, want ErrCardData", got[1])
	}
	for _, i := range []int{0, 2, 3} {
		if got[i].Err != nil || got[i].Record == nil {
			t.Fatalf("payment %d: %+v", i, got[i])
		}
	}
	// The first write of "sess" returned the record as it stood then; the second merged it.
	if got[0].Record.State != PaymentFailed || got[2].Record.State != PaymentCompleted || got[2].Record.ErrorType != "" ||
		got[2].Record.AmountMinor != 1234 || got[2].Record.Confirmation != "ch_1" {
		t.Errorf("sess in order: %+v then %+v", *got[0].Record, *got[2].Record)
	}
	for _, i := range []int{2, 3} {
		want, _, err := s.GetPayment(ctx, got[i].Record.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[i].Record, want) {
			t.Errorf("payment %d returned\n %+v\nstored\n %+v", i, *got[i].Record, *want)
		}
	}
	if strings.Contains(got[3].Record.Reference, "4242424242424242") {
		t.Errorf("a card number in the reference came back: %q", got[3].Record.Reference)
	}
	if _, _, err := s.GetPayment(ctx, "bad"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the refused record: %v, want ErrNotFound", err)
	}
	_, tl, err := s.GetCall(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(tl) != 1 || tl[0].Type != "pay.completed" || strings.Contains(string(tl[0].Fields), "4242424242424242") {
		t.Errorf("timeline = %+v", tl)
	}
}

// writeGroup's writes share one commit, each with its own error: one failing is rolled back
// alone and the others are committed.
func TestWriteGroupIsolatesFailures(t *testing.T) { eachDialect(t, testWriteGroupIsolatesFailures) }

func testWriteGroupIsolatesFailures(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	insert := func(id string) func(context.Context, *txn) error {
		return func(ctx context.Context, tx *txn) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (id, at, actor, action) VALUES (?, 0, 'a', 'b')`, id)
			return err
		}
	}
	failed := errors.New("second statement failed")
	before := s.WriteStats()
	errs := s.writeGroup(ctx, insert("one"), func(ctx context.Context, tx *txn) error {
		if err := insert("half")(ctx, tx); err != nil {
			return err
		}
		return failed // "half" must be rolled back
	}, insert("two"))
	if errs[0] != nil || !errors.Is(errs[1], failed) || errs[2] != nil {
		t.Fatalf("errors = %v", errs)
	}
	if c := s.WriteStats().Commits - before.Commits; !onPostgres(t) && c != 1 {
		t.Errorf("%d commits on SQLite, want 1", c)
	}
	for id, want := range map[string]int{"one": 1, "half": 0, "two": 1} {
		var n int
		if err := s.r.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM audit_log WHERE id = ?`), id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s: %d rows, want %d", id, n, want)
		}
	}
}
