package gateway

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
)

// A crash between "provider charged" and "outcome recorded" is simulated by losing every answer
// (the provider commits, the bridge never hears): the attempt stays pending; Reconcile then finds
// the charge by idempotency key and records it, and the sandbox ledger holds it exactly once.
func TestReconcileResolvesPendingAttempts(t *testing.T) {
	for _, typ := range []string{"session", "stripe", "generic"} {
		t.Run(typ, func(t *testing.T) {
			e := newEnv(t, sandbox.Config{})
			e.cs.cfg.Timeout = 300 * time.Millisecond
			c := e.open(t, typ)
			ctx := context.Background()
			if err := c.Authorize(ctx); err != nil {
				t.Fatal(err)
			}
			paths := []string{"/globalpci/v1/session/", "/generic", "/v1/charges"}
			pay := func(key, pan string) {
				_, err := c.Pay(ctx, &payment.Request{CallID: "call-" + key, IdempotencyKey: key,
					Amount: payment.Amount{Minor: 1500, Currency: "GBP"}, Card: card(t, pan, "123")})
				if err == nil {
					t.Fatalf("%s: Pay succeeded through injected faults", key)
				}
			}
			// lost-ok: charged, answer lost. lost-decl: declined, answer lost. never: never arrived.
			e.sb.SetFaults(sandbox.Faults{LoseFirst: 3, Paths: paths})
			pay("lost-ok", "4242424242424242")
			e.sb.SetFaults(sandbox.Faults{LoseFirst: 3, Paths: paths})
			pay("lost-decl", "4000000000000002")
			e.sb.SetFaults(sandbox.Faults{FailFirst: 3, Paths: paths})
			pay("never", "4242424242424242")
			e.sb.SetFaults(sandbox.Faults{})

			if p, _ := e.store.PendingAttempts(ctx, time.Now().Add(time.Hour)); len(p) != 3 {
				t.Fatalf("%d pending attempts before reconcile, want 3", len(p))
			}
			// A fresh Connectors, as after a restart, with the plan's connector reopened.
			cs2 := NewConnectors(ConnectorsConfig{SandboxURL: e.srv.URL, Attempts: e.store, Backoff: time.Millisecond})
			cs2spec := c.spec
			if _, err := cs2.Open(&cs2spec); err != nil {
				t.Fatal(err)
			}
			// Just after the crash, the attempt the provider never saw is too young to judge.
			rep, err := Reconcile(ctx, e.store, cs2)
			if err != nil {
				t.Fatal(err)
			}
			wantLeft := 1
			if typ == "generic" {
				wantLeft = 0
			}
			if rep.Checked != 3 || rep.Left != wantLeft {
				t.Fatalf("first pass %+v", rep)
			}
			rep, err = ReconcileWith(ctx, e.store, cs2, ReconcileOptions{Grace: time.Nanosecond})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Checked != wantLeft || rep.Left != 0 {
				t.Fatalf("second pass %+v", rep)
			}
			want := map[string]AttemptState{"lost-ok": AttemptApproved, "lost-decl": AttemptDeclined, "never": AttemptFailed}
			if typ == "generic" {
				// The Twilio generic contract has no lookup: a human must check.
				want = map[string]AttemptState{"lost-ok": AttemptUnknown, "lost-decl": AttemptUnknown, "never": AttemptUnknown}
			}
			for key, st := range want {
				a, err := e.store.GetAttempt(ctx, key)
				if err != nil || a.State != st {
					t.Errorf("%s: %+v %v, want %s", key, a, err, st)
				}
				if st == AttemptApproved && a.Result.ConfirmationCode == "" {
					t.Errorf("%s: approved without the charge id", key)
				}
			}
			// Nothing charged twice, nothing charged that was not attempted.
			succeeded := map[string]int{}
			for _, ch := range e.sb.Ledger() {
				if ch.Status == "succeeded" {
					succeeded[ch.IdempotencyKey]++
				}
			}
			if len(succeeded) != 1 || succeeded["lost-ok"] != 1 {
				t.Fatalf("sandbox ledger succeeded charges: %v", succeeded)
			}
			// A further pass has nothing to do.
			rep, _ = ReconcileWith(ctx, e.store, cs2, ReconcileOptions{Grace: time.Nanosecond})
			if rep.Checked != 0 {
				t.Fatalf("second reconcile checked %d", rep.Checked)
			}
		})
	}
}

func TestReconcileLeavesUnknownConnectorPending(t *testing.T) {
	led := NewMemoryStore()
	ctx := context.Background()
	if _, err := led.BeginAttempt(ctx, &Attempt{Key: "k", Connector: "gone", CreatedAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rep, err := Reconcile(ctx, led, NewConnectors(ConnectorsConfig{}))
	if err != nil || rep.Left != 1 || len(rep.Errors) != 1 || !errors.Is(rep.Errors[0], ErrUnknownConnector) {
		t.Fatalf("%+v %v", rep, err)
	}
	if a, _ := led.GetAttempt(ctx, "k"); a.State != AttemptPending {
		t.Fatalf("state %s", a.State)
	}
	// Attempts created after Before are not looked at.
	if _, err := led.BeginAttempt(ctx, &Attempt{Key: "new", Connector: "gone", CreatedAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rep, _ = Reconcile(ctx, led, NewConnectors(ConnectorsConfig{}))
	if rep.Checked != 1 {
		t.Fatalf("checked %d, want only the old one", rep.Checked)
	}
}
