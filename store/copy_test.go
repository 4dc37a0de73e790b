package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/payment"
)

// fillStore writes one of everything through the repository functions.
func fillStore(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	l, err := s.RegisterNode(ctx, Node{ID: "solo", SIPAddr: "127.0.0.1:5060", Version: "v1"})
	must(t, err)
	must(t, l.Close(ctx))
	must(t, s.CreateCall(ctx, Call{ID: "c1", From: "+447700900001", To: "+441632960000", Plan: "pay", Node: "solo", StartedAt: t0}))
	must(t, s.AppendEvent(ctx, "c1", EventRecord{Time: t0, Type: "call.answered"}))
	must(t, s.AppendEvent(ctx, "c1", EventRecord{Time: t0.Add(time.Second), Type: "step", Step: "Pay",
		Fields: jsonFields(map[string]any{"digits": 16})}))
	must(t, s.EndCall(ctx, "c1", "caller-hangup", t0.Add(time.Minute)))
	must(t, s.UpsertPaymentSession(ctx, PaymentSession{ID: "sess", CallID: "c1", Connector: "provider", AmountMinor: 1234,
		Currency: "GBP", Reference: "ACC-1", State: PaymentCompleted, Result: "success", MaskedCard: "************4242",
		CardType: "visa", Confirmation: "ch_1", CreatedAt: t0, UpdatedAt: t0, CompletedAt: t0}))
	must(t, s.CreateAttempt(ctx, Attempt{IdempotencyKey: "k1", SessionID: "sess", CallID: "c1", Node: "solo",
		MaskedCard: "************4242", AmountMinor: 1234, Currency: "GBP", CreatedAt: t0}))
	must(t, s.CompleteAttempt(ctx, "k1", AttemptResult{Result: "approved", Confirmation: "ch_1", CompletedAt: t0}))
	must(t, s.CreateAttempt(ctx, Attempt{IdempotencyKey: "k2", Node: "solo", CreatedAt: t0}))
	must(t, s.CreateLink(ctx, Link{ID: "l1", TokenHash: "hash", SessionID: "sess", To: "+447700900001", AmountMinor: 1234,
		Currency: "GBP", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	_, err = s.EnqueueSMS(ctx, SMS{ID: "m1", To: "+447700900001", Body: "pay here", CreatedAt: t0})
	must(t, err)
	_, err = s.EnqueueWebhook(ctx, Webhook{ID: "w1", Event: "pay.completed", URL: "https://x.test", Payload: []byte(`{"a":1}`),
		CreatedAt: t0})
	must(t, err)
	must(t, s.AppendAudit(ctx, "cli", "note", "hello"))
	// The life of a payment: an authorisation with an invoice, routed and paid by bank
	// account, captured in part (an operation and three history lines), a provider event.
	inv := &payment.Invoice{ID: "INV-1", Lines: []payment.InvoiceLine{{Description: "Supply", Quantity: 1, AmountMinor: 5000}}}
	must(t, s.UpsertPaymentSession(ctx, PaymentSession{ID: "auth", CallID: "c1", Connector: "provider", AmountMinor: 5000,
		Currency: "GBP", State: PaymentCompleted, Result: "success", Method: payment.MethodAuthorize, AuthorizedMinor: 5000,
		AuthorizedUntil: t0.Add(time.Hour), PaymentMethod: payment.PaymentMethodACH, MaskedAccount: "********6789",
		Invoice: inv, Routes: &Routes{{Connector: "down", Outcome: payment.RouteUnavailable}, {Connector: "provider", Outcome: payment.RouteApproved}},
		CreatedAt: t0, UpdatedAt: t0}))
	op, _, err := s.BeginOp(ctx, Op{PaymentID: "auth", Kind: payment.OpCapture, IdempotencyKey: "cap-1", AmountMinor: 2000,
		Actor: payment.Actor{Kind: payment.ActorAdmin, ID: "admin-token@127.0.0.1"}}, nil)
	must(t, err)
	_, _, _, err = s.FinishOp(ctx, op.ID, OpOutcome{State: payment.OpSucceeded, ProviderID: "cap_1", At: t0})
	must(t, err)
	_, err = s.RecordProviderEvent(ctx, "sandbox", "evt_1", "capture.settled", t0)
	must(t, err)
	must(t, s.CreateLink(ctx, Link{ID: "l2", TokenHash: "hash2", To: "+447700900001", AmountMinor: 5000,
		Currency: "GBP", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), Invoice: inv}))
}

// TestCopySQLiteToPostgres moves a single node's records into PostgreSQL: every record arrives
// as the repository reads it back, a card number smuggled into the file around the store is
// masked on the way, the copy refuses a non-empty destination, and a row whose masked card is
// not a mask stops it without leaving anything behind.
func TestCopySQLiteToPostgres(t *testing.T) {
	ctx := context.Background()
	src, err := Open(ctx, filepath.Join(t.TempDir(), "paybridge.db"))
	must(t, err)
	defer src.Close()
	fillStore(t, src)
	_, err = src.w.ExecContext(ctx, `UPDATE sms_outbox SET body = 'card 4242424242424242' WHERE id = 'm1'`)
	must(t, err)
	t.Run("postgres", func(t *testing.T) {
		dst, _ := openTest(t)
		st, err := Copy(ctx, dst, src)
		must(t, err)
		want := CopyStats{"nodes": 1, "calls": 1, "call_events": 2, "payment_sessions": 2, "payment_attempts": 2,
			"payment_ops": 1, "payment_history": 3, "provider_events": 1, "payment_links": 2, "sms_outbox": 1, "webhooks": 1, "audit_log": 1}
		if !reflect.DeepEqual(st, want) {
			t.Fatalf("Copy = %v, want %v", st, want)
		}
		for _, read := range []func(*Store) any{
			func(s *Store) any { c, evs, _ := s.GetCall(ctx, "c1"); return []any{c, evs} },
			func(s *Store) any { p, as, _ := s.GetPayment(ctx, "sess"); return []any{p, as} },
			func(s *Store) any { l, _ := s.LinkByHash(ctx, "hash"); return l },
			func(s *Store) any { l, _ := s.LinkByHash(ctx, "hash2"); return l },
			func(s *Store) any { p, as, _ := s.GetPayment(ctx, "auth"); return []any{p, as} },
			func(s *Store) any { h, _ := s.History(ctx, "auth"); return h },
			func(s *Store) any { o, _ := s.ListOps(ctx, "auth"); return o },
			func(s *Store) any { f, _ := s.PaymentFacts(ctx, "auth"); return f },
			func(s *Store) any { seen, _ := s.ProviderEventSeen(ctx, "sandbox", "evt_1"); return seen },
			func(s *Store) any { w, _ := s.DueWebhooks(ctx, t0.Add(time.Hour), 10); return w },
			func(s *Store) any { a, _ := s.ListAudit(ctx, 10); return a },
			func(s *Store) any { n, _ := s.ListNodes(ctx); return n },
			func(s *Store) any { p, _ := s.NodePendingAttempts(ctx, "solo"); return p },
		} {
			if a, b := read(src), read(dst); !reflect.DeepEqual(a, b) {
				t.Errorf("after copy:\n%+v\nwant\n%+v", b, a)
			}
		}
		ms, _ := dst.ListSMS(ctx, SMSFilter{})
		if len(ms) != 1 || strings.Contains(ms[0].Body, "4242424242424242") || !strings.Contains(ms[0].Body, "************4242") {
			t.Errorf("SMS after copy: %+v", ms)
		}
		if _, err := Copy(ctx, dst, src); !errors.Is(err, ErrInvalid) {
			t.Errorf("copy into a non-empty database = %v", err)
		}

		bad, err := Open(ctx, filepath.Join(t.TempDir(), "bad.db"))
		must(t, err)
		defer bad.Close()
		fillStore(t, bad)
		_, err = bad.w.ExecContext(ctx, `UPDATE payment_attempts SET masked_card = '4242424242424242' WHERE idempotency_key = 'k2'`)
		must(t, err)
		empty := openAgain(t, newPGDatabase(t))
		if _, err := Copy(ctx, empty, bad); !errors.Is(err, ErrCardData) {
			t.Fatalf("copy of an unmasked card = %v", err)
		}
		if calls, _ := empty.ListCalls(ctx, CallFilter{}); len(calls) != 0 {
			t.Errorf("a refused copy left %d calls behind", len(calls))
		}
	})
}
