package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paybridge/paybridge/payment"
)

var admin = payment.Actor{Kind: payment.ActorAdmin, ID: "admin-token@127.0.0.1"}

// authorizedPayment writes the record a Pay step with method authorize leaves.
func authorizedPayment(t *testing.T, s *Store, id string, minor int64) {
	t.Helper()
	err := s.UpsertPaymentSession(context.Background(), PaymentSession{ID: id, CallID: "call-" + id, Connector: "provider",
		Channel: "voice", AmountMinor: minor, Currency: "GBP", State: PaymentCompleted, Result: ResultSuccess,
		ProviderSessionID: id, ProviderPaymentID: "ch_" + id, Confirmation: "ch_" + id, Method: payment.MethodAuthorize,
		AuthorizedMinor: minor, AuthorizedUntil: t0.Add(7 * 24 * time.Hour), MaskedCard: "************4242", CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
}

func begin(t *testing.T, s *Store, id, kind, key string, minor int64) (*Op, *payment.PaymentFacts) {
	t.Helper()
	op, f, err := s.BeginOp(context.Background(), Op{PaymentID: id, Kind: kind, IdempotencyKey: key, AmountMinor: minor, Actor: admin}, nil)
	if err != nil {
		t.Fatalf("BeginOp %s %s: %v", kind, key, err)
	}
	return op, f
}

func finish(t *testing.T, s *Store, op *Op, state string) *payment.PaymentFacts {
	t.Helper()
	_, f, changed, err := s.FinishOp(context.Background(), op.ID, OpOutcome{State: state, ProviderID: "prov_" + op.ID, Actor: admin})
	if err != nil || !changed {
		t.Fatalf("FinishOp %s: changed %v, %v", op.ID, changed, err)
	}
	return f
}

// TestLedgerLifecycle walks an authorisation through two captures, refunds, a failed refund
// and a chargeback; checks the reservations, the state after each step, the history (every
// line, in order, with its actor) and that a late write of the payment record (the recorder's)
// does not undo what operations did.
func TestLedgerLifecycle(t *testing.T) {
	eachDialect(t, func(t *testing.T) {
		s, _ := openTest(t)
		ctx := context.Background()
		authorizedPayment(t, s, "p1", 5000)
		if f, _ := s.PaymentFacts(ctx, "p1"); f.State != payment.StateAuthorized || f.AuthorizedMinor != 5000 || f.CapturedMinor != 0 {
			t.Fatalf("authorised: %+v", f)
		}
		op, _ := begin(t, s, "p1", payment.OpCapture, "cap-1", 2000)
		if _, _, err := s.BeginOp(ctx, Op{PaymentID: "p1", Kind: payment.OpCapture, IdempotencyKey: "cap-2", AmountMinor: 3001, Actor: admin}, nil); !errors.Is(err, ErrExceeds) {
			t.Fatalf("over-capture while one is reserved: %v", err)
		}
		if _, _, err := s.BeginOp(ctx, Op{PaymentID: "p1", Kind: payment.OpVoid, IdempotencyKey: "void-1", Actor: admin}, nil); !errors.Is(err, ErrState) {
			t.Fatalf("void while a capture is in flight: %v", err)
		}
		if f := finish(t, s, op, payment.OpSucceeded); f.State != payment.StatePartiallyCaptured || f.CapturedMinor != 2000 {
			t.Fatalf("after capture 1: %+v", f)
		}
		// The same key again is the same operation.
		if again, _, err := s.BeginOp(ctx, Op{PaymentID: "p1", Kind: payment.OpCapture, IdempotencyKey: "cap-1", AmountMinor: 2000}, nil); !errors.Is(err, ErrDuplicate) || again.ID != op.ID {
			t.Fatalf("same key: %+v %v", again, err)
		}
		if _, _, err := s.BeginOp(ctx, Op{PaymentID: "p1", Kind: payment.OpRefund, IdempotencyKey: "cap-1"}, nil); !errors.Is(err, ErrKeyReused) {
			t.Fatalf("key reused for a refund: %v", err)
		}
		// A late write of the record (the recorder's) keeps the operations' money.
		authorizedPayment(t, s, "p1", 5000)
		op, _ = begin(t, s, "p1", payment.OpCapture, "cap-rest", 0)
		if op.AmountMinor != 3000 {
			t.Fatalf("capture of the rest reserved %d", op.AmountMinor)
		}
		if f := finish(t, s, op, payment.OpSucceeded); f.State != payment.StateCaptured || f.CapturedMinor != 5000 {
			t.Fatalf("after capture 2: %+v", f)
		}
		r1, _ := begin(t, s, "p1", payment.OpRefund, "ref-1", 1000)
		r2, _ := begin(t, s, "p1", payment.OpRefund, "ref-2", 4000)
		if _, _, err := s.BeginOp(ctx, Op{PaymentID: "p1", Kind: payment.OpRefund, IdempotencyKey: "ref-3", AmountMinor: 1}, nil); !errors.Is(err, ErrExceeds) {
			t.Fatalf("refund over the pending ones: %v", err)
		}
		finish(t, s, r1, payment.OpSucceeded)
		if f := finish(t, s, r2, payment.OpFailed); f.State != payment.StatePartiallyRefunded || f.RefundedMinor != 1000 {
			t.Fatalf("after a failed refund: %+v", f)
		}
		// Finishing again changes nothing.
		if _, f, changed, err := s.FinishOp(ctx, r2.ID, OpOutcome{State: payment.OpSucceeded}); err != nil || changed || f.RefundedMinor != 1000 {
			t.Fatalf("finishing twice: %+v changed %v, %v", f, changed, err)
		}
		r3, _ := begin(t, s, "p1", payment.OpRefund, "ref-4", 0)
		if r3.AmountMinor != 4000 {
			t.Fatalf("refund of the rest after a failed one reserved %d", r3.AmountMinor)
		}
		finish(t, s, r3, payment.OpSucceeded)
		if f, _ := s.PaymentFacts(ctx, "p1"); f.State != payment.StateRefunded || f.RefundedMinor != 5000 {
			t.Fatalf("refunded: %+v", f)
		}
		if _, err := s.MarkPayment(ctx, "p1", payment.StateChargedBack, HistoryEntry{Actor: payment.Actor{Kind: payment.ActorProvider, ID: "sandbox"},
			Action: "charged_back", AmountMinor: 5000}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MarkPayment(ctx, "p1", payment.StateChargedBack, HistoryEntry{Action: "charged_back"}); !errors.Is(err, ErrState) {
			t.Fatalf("second chargeback: %v", err)
		}
		h, err := s.History(ctx, "p1")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"authorized", "capture.requested", "captured", "capture.requested", "captured", "refund.requested",
			"refund.requested", "refunded", "refund.failed", "refund.requested", "refunded", "charged_back"}
		if len(h) != len(want) {
			t.Fatalf("history has %d lines, want %d: %+v", len(h), len(want), h)
		}
		for i, e := range h {
			if e.Action != want[i] || e.Seq != i+1 {
				t.Errorf("history line %d: %s (seq %d), want %s", i, e.Action, e.Seq, want[i])
			}
		}
		if h[0].Actor.Kind != payment.ActorPlan || h[1].Actor != admin || h[len(h)-1].Actor.Kind != payment.ActorProvider ||
			h[len(h)-1].State != payment.StateChargedBack {
			t.Errorf("actors and states: %+v", h)
		}
	})
}

// TestLedgerVoidExpiryAndKnownPayments: a void releases the hold; an expired hold ends (and a
// capture then is refused); a payment the ledger does not know yet is created from what the
// caller knows (the plan's Capture right after its Pay).
func TestLedgerVoidExpiryAndKnownPayments(t *testing.T) {
	eachDialect(t, func(t *testing.T) {
		s, _ := openTest(t)
		ctx := context.Background()
		authorizedPayment(t, s, "v", 1000)
		op, _ := begin(t, s, "v", payment.OpVoid, "void", 0)
		if f := finish(t, s, op, payment.OpSucceeded); f.State != payment.StateVoided {
			t.Fatalf("void: %+v", f)
		}
		authorizedPayment(t, s, "e", 1000)
		due, err := s.ClaimExpiredHolds(ctx, "n1", t0.Add(8*24*time.Hour), time.Minute, 10)
		if err != nil || len(due) != 1 || due[0].ID != "e" {
			t.Fatalf("ClaimExpiredHolds = %+v, %v", due, err)
		}
		if f, err := s.MarkPayment(ctx, "e", payment.StateExpired, HistoryEntry{Actor: payment.Actor{Kind: payment.ActorSystem}, Action: "expired"}); err != nil || f.State != payment.StateExpired {
			t.Fatalf("expire: %+v %v", f, err)
		}
		if _, _, err := s.BeginOp(ctx, Op{PaymentID: "e", Kind: payment.OpCapture, IdempotencyKey: "late"}, nil); !errors.Is(err, ErrState) {
			t.Fatalf("capture after expiry: %v", err)
		}
		known := &payment.PaymentFacts{ID: "k", CallID: "call-k", ConnectorKey: "plan/provider#x", ProviderPaymentID: "ch_k",
			Method: payment.MethodAuthorize, Currency: "GBP", AuthorizedMinor: 700}
		op, f, err := s.BeginOp(ctx, Op{PaymentID: "k", Kind: payment.OpCapture, IdempotencyKey: "k-cap", Actor: payment.Actor{Kind: payment.ActorPlan, ID: "call-k"}}, known)
		if err != nil || op.AmountMinor != 700 || f.State != payment.StateAuthorized {
			t.Fatalf("capture of a payment known only to the caller: %+v %+v %v", op, f, err)
		}
		p, _, err := s.GetPayment(ctx, "k")
		if err != nil || p.ProviderPaymentID != "ch_k" || p.Lifecycle != payment.StateAuthorized || p.AuthorizedMinor != 700 {
			t.Fatalf("the record created: %+v %v", p, err)
		}
		seen, err := s.RecordProviderEvent(ctx, "sandbox", "evt_1", "refund.succeeded", t0)
		if err != nil || seen {
			t.Fatal(seen, err)
		}
		if seen, _ := s.RecordProviderEvent(ctx, "sandbox", "evt_1", "refund.succeeded", t0); !seen {
			t.Fatal("a provider event recorded twice")
		}
		if seen, _ := s.ProviderEventSeen(ctx, "other", "evt_1"); seen {
			t.Fatal("events are per source")
		}
	})
}

// TestRefundsNeverExceedTheCaptureAcrossNodes: two stores on one database file — two nodes —
// race 40 refunds of 3.00 against a 50.00 capture; exactly 16 reservations hold (48.00), on
// whichever node. The guarantee is the database's: each store has its own connections and no
// lock in common.
func TestRefundsNeverExceedTheCaptureAcrossNodes(t *testing.T) {
	eachDialect(t, func(t *testing.T) {
		a, target := openTest(t)
		b := openAgain(t, target)
		ctx := context.Background()
		authorizedPayment(t, a, "p", 5000)
		op, _ := begin(t, a, "p", payment.OpCapture, "cap", 0)
		finish(t, a, op, payment.OpSucceeded)

		var ok, exceeded atomic.Int32
		var wg sync.WaitGroup
		for i := range 40 {
			node := a
			if i%2 == 1 {
				node = b
			}
			wg.Go(func() {
				_, _, err := node.BeginOp(ctx, Op{PaymentID: "p", Kind: payment.OpRefund, IdempotencyKey: fmt.Sprintf("r-%d", i), AmountMinor: 300, Actor: admin}, nil)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ErrExceeds):
					exceeded.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 16 || exceeded.Load() != 24 {
			t.Fatalf("%d reserved, %d refused; want 16 and 24", ok.Load(), exceeded.Load())
		}
		var reserved int64
		if err := b.r.QueryRowContext(ctx, `SELECT refund_reserved_minor FROM payment_sessions WHERE id = 'p'`).Scan(&reserved); err != nil || reserved != 4800 {
			t.Fatalf("reserved %d, %v", reserved, err)
		}
		ops, _ := b.ListOps(ctx, "p")
		if len(ops) != 17 {
			t.Fatalf("%d operations recorded, want 17", len(ops))
		}
	})
}

// The history is append-only: no statement of the store updates or deletes a line of it
// (retention keeps it with its payment) — and the database refuses one anyway
// (TestHistoryAndAuditRefuseChangesInTheDatabase). The control: the scan finds the INSERT.
func TestHistoryIsAppendOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	changes := regexp.MustCompile(`(?is)\b(UPDATE|DELETE\s+FROM|REPLACE\s+INTO|INSERT\s+OR\s+REPLACE\s+INTO)\s+payment_history\b`)
	inserts := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := changes.Find(b); m != nil {
			t.Errorf("%s changes the history: %q", f, m)
		}
		inserts += strings.Count(string(b), "INSERT INTO payment_history")
	}
	if inserts == 0 {
		t.Fatal("the control: no INSERT INTO payment_history found, so the scan reads the wrong files")
	}
}

// Two nodes finish the same operations at the same moment (the API's answer on one, the
// provider's webhook on the other): for each operation exactly one FinishOp reports changed,
// and the history has one finishing line. A FinishOp that reported every call as changed
// would give two per operation here.
func TestFinishOpChangedOncePerOperationAcrossNodes(t *testing.T) {
	eachDialect(t, func(t *testing.T) {
		a, target := openTest(t)
		b := openAgain(t, target)
		ctx := context.Background()
		authorizedPayment(t, a, "p", 50000)
		capture, _ := begin(t, a, "p", payment.OpCapture, "cap", 0)
		finish(t, a, capture, payment.OpSucceeded)
		const n = 20
		var ops []*Op
		for i := range n {
			op, _ := begin(t, a, "p", payment.OpRefund, fmt.Sprintf("r-%d", i), 100)
			ops = append(ops, op)
		}
		var changed atomic.Int32
		var wg sync.WaitGroup
		for _, op := range ops {
			for i, node := range []*Store{a, b, a, b} {
				wg.Go(func() {
					state := payment.OpSucceeded
					if i%2 == 1 { // the other path heard a failure: whichever lands first is kept
						state = payment.OpFailed
					}
					_, _, ch, err := node.FinishOp(ctx, op.ID, OpOutcome{State: state, ProviderID: "re_" + op.ID, Actor: admin})
					if err != nil {
						t.Error(err)
					}
					if ch {
						changed.Add(1)
					}
				})
			}
		}
		wg.Wait()
		if got := changed.Load(); got != n {
			t.Fatalf("%d finishes reported changed for %d operations, want one each", got, n)
		}
		hist, err := a.History(ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		finished := map[string]int{}
		for _, h := range hist {
			if h.Action == "refunded" || h.Action == "refund.failed" {
				finished[h.OpID]++
			}
		}
		var refunded int64
		for _, op := range ops {
			if finished[op.ID] != 1 {
				t.Errorf("operation %s has %d finishing lines", op.ID, finished[op.ID])
			}
			o, _ := a.OpByKey(ctx, op.IdempotencyKey)
			if o.State == payment.OpSucceeded {
				refunded += o.AmountMinor
			}
		}
		f, _ := a.PaymentFacts(ctx, "p")
		if f.RefundedMinor != refunded {
			t.Fatalf("refunded %d, the succeeded refunds add to %d", f.RefundedMinor, refunded)
		}
	})
}

// Two nodes claim lapsed holds at the same moment, over and over: each payment is claimed by
// exactly one of them. A claimant that dies leaves its claims; the other node gets them once
// the lease has passed (not before), or at once when they are released on takeover. A hold
// with a capture in flight, one not yet lapsed and one already expired are never claimed.
func TestHoldClaimsOneNodeEachAndTakeover(t *testing.T) {
	eachDialect(t, func(t *testing.T) {
		a, target := openTest(t)
		b := openAgain(t, target)
		ctx := context.Background()
		const n = 30
		for i := range n {
			authorizedPayment(t, a, fmt.Sprintf("h%02d", i), 1000)
		}
		authorizedPayment(t, a, "inflight", 1000)
		begin(t, a, "inflight", payment.OpCapture, "cap-inflight", 500)
		authorizedPayment(t, a, "gone", 1000)
		if _, err := a.MarkPayment(ctx, "gone", payment.StateExpired, HistoryEntry{Actor: payment.Actor{Kind: payment.ActorSystem}, Action: "expired"}); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(8 * 24 * time.Hour) // every hold above lapsed at t0 + 7 days
		if due, err := a.ClaimExpiredHolds(ctx, "n1", t0.Add(24*time.Hour), time.Minute, 100); err != nil || len(due) != 0 {
			t.Fatalf("holds claimed before they lapsed: %d, %v", len(due), err)
		}

		var mu sync.Mutex
		claimedBy := map[string][]string{}
		var wg sync.WaitGroup
		for i := range 8 {
			node, name := a, "n1"
			if i%2 == 1 {
				node, name = b, "n2"
			}
			wg.Go(func() {
				due, err := node.ClaimExpiredHolds(ctx, name, at, time.Minute, 7)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, f := range due {
					claimedBy[f.ID] = append(claimedBy[f.ID], name)
				}
			})
		}
		wg.Wait()
		for id, who := range claimedBy {
			if len(who) != 1 {
				t.Errorf("%s claimed by %v", id, who)
			}
		}
		if len(claimedBy) != n {
			t.Fatalf("%d holds claimed, want %d: %v", len(claimedBy), n, claimedBy)
		}
		for _, id := range []string{"inflight", "gone"} {
			if claimedBy[id] != nil {
				t.Errorf("%s was claimed", id)
			}
		}

		// n1 dies holding its claims: n2 gets nothing before the lease ends, all of them after.
		var n1s []string
		for id, who := range claimedBy {
			if who[0] == "n1" {
				n1s = append(n1s, id)
			}
		}
		if len(n1s) == 0 {
			t.Fatal("n1 claimed nothing: the takeover below would prove nothing")
		}
		if due, _ := b.ClaimExpiredHolds(ctx, "n2", at.Add(59*time.Second), time.Minute, 100); len(due) != 0 {
			t.Fatalf("claims taken over before the lease ended: %d", len(due))
		}
		due, err := b.ClaimExpiredHolds(ctx, "n2", at.Add(61*time.Second), time.Minute, 100)
		if err != nil || len(due) != n {
			t.Fatalf("after the lease: %d claimed (n1 held %d, all %d lapse together), %v", len(due), len(n1s), n, err)
		}
		// Released on takeover: claimable at once, by anyone.
		if freed, err := b.ReleaseHoldClaims(ctx, "n2"); err != nil || freed != n {
			t.Fatalf("ReleaseHoldClaims = %d, %v", freed, err)
		}
		for _, id := range n1s {
			if _, err := b.MarkPayment(ctx, id, payment.StateExpired, HistoryEntry{Actor: payment.Actor{Kind: payment.ActorSystem}, Action: "expired"}); err != nil {
				t.Fatal(err)
			}
		}
		due, err = a.ClaimExpiredHolds(ctx, "n1", at.Add(62*time.Second), time.Minute, 100)
		if err != nil || len(due) != n-len(n1s) {
			t.Fatalf("after release: %d claimed, want %d (the expired ones never again), %v", len(due), n-len(n1s), err)
		}
	})
}
