package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
)

// lifecycle is a Lifecycle over a MemoryLedger on the env's connectors.
func (e *env) lifecycle() (*Lifecycle, *MemoryLedger) {
	led := NewMemoryLedger()
	return NewLifecycle(LifecycleConfig{Ledger: led, Connectors: e.cs, Events: e.events}), led
}

// authorize pays amount with method authorize through c and records the payment in led.
func authorize(t *testing.T, c *Connector, led *MemoryLedger, id, pan string, minor int64) payment.PaymentFacts {
	t.Helper()
	res, err := c.Pay(context.Background(), &payment.Request{CallID: "call-" + id, IdempotencyKey: "auth-" + id, Method: payment.MethodAuthorize,
		Amount: payment.Amount{Minor: minor, Currency: "GBP"}, Reference: "REF-" + id, Card: card(t, pan, "123")})
	if err != nil || res.Status != payment.Approved {
		t.Fatalf("authorize %s: %+v %v", id, res, err)
	}
	if res.AuthorizedUntil.IsZero() || !res.AuthorizedUntil.After(time.Now()) {
		t.Fatalf("authorize %s: no expiry in %+v", id, res)
	}
	f := payment.PaymentFacts{ID: id, CallID: "call-" + id, Connector: c.Name(), ConnectorKey: c.Key(), ProviderPaymentID: res.ConfirmationCode,
		Method: payment.MethodAuthorize, Currency: "GBP", AuthorizedMinor: minor, AuthorizedUntil: res.AuthorizedUntil}
	led.AddPayment(f)
	return f
}

// ledgerCharge is the sandbox's charge with id.
func ledgerCharge(t *testing.T, sb *sandbox.Provider, id string) sandbox.Charge {
	t.Helper()
	for _, c := range sb.Ledger() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("charge %s not in the sandbox ledger", id)
	return sandbox.Charge{}
}

// agree checks paybridge's ledger against the provider's for one payment.
func agree(t *testing.T, led *MemoryLedger, sb *sandbox.Provider, f payment.PaymentFacts) {
	t.Helper()
	got, err := led.PaymentFacts(context.Background(), f.ID)
	if err != nil {
		t.Fatal(err)
	}
	c := ledgerCharge(t, sb, f.ProviderPaymentID)
	if got.AuthorizedMinor != c.Authorized || got.CapturedMinor != c.Captured || got.RefundedMinor != c.Refunded {
		t.Errorf("%s: paybridge authorized/captured/refunded %d/%d/%d, provider %d/%d/%d (%s)", f.ID,
			got.AuthorizedMinor, got.CapturedMinor, got.RefundedMinor, c.Authorized, c.Captured, c.Refunded, c.Status)
	}
}

func gbp(minor int64) payment.Amount { return payment.Amount{Minor: minor, Currency: "GBP"} }

var admin = payment.Actor{Kind: payment.ActorAdmin, ID: "admin-token@127.0.0.1"}

// TestAuthorizeCaptureRefundThroughEveryConnector: an authorisation through each connector
// type, captured in parts as its provider allows (several on session and generic, one on
// stripe), refunded in two refunds up to the captured amount with a third refused before the
// provider is asked, another authorisation voided — and after each step paybridge's ledger
// agrees with the provider's.
func TestAuthorizeCaptureRefundThroughEveryConnector(t *testing.T) {
	for _, typ := range []string{"session", "generic", "stripe"} {
		t.Run(typ, func(t *testing.T) {
			e := newEnv(t, sandbox.Config{})
			c := e.open(t, typ)
			l, led := e.lifecycle()
			ctx := context.Background()
			f := authorize(t, c, led, "p1", "4242424242424242", 5000)
			agree(t, led, e.sb, f)

			r, err := l.Capture(ctx, &payment.OpRequest{PaymentID: "p1", Amount: gbp(2000), IdempotencyKey: "cap-1", Actor: admin})
			if err != nil || r.State != payment.OpSucceeded {
				t.Fatalf("capture: %+v %v", r, err)
			}
			agree(t, led, e.sb, f)
			r2, err := l.Capture(ctx, &payment.OpRequest{PaymentID: "p1", Amount: gbp(2000), IdempotencyKey: "cap-1", Actor: admin})
			if err != nil || !r2.Replayed || r2.OpID != r.OpID {
				t.Fatalf("the same key again: %+v %v", r2, err)
			}
			r, err = l.Capture(ctx, &payment.OpRequest{PaymentID: "p1", IdempotencyKey: "cap-2", Actor: admin})
			if typ == "stripe" {
				if !errors.Is(err, ErrPaymentState) {
					t.Fatalf("second capture on stripe: %+v %v", r, err)
				}
			} else if err != nil || r.State != payment.OpSucceeded || r.Amount.Minor != 3000 || r.Payment.State != payment.StateCaptured {
				t.Fatalf("capture of the rest: %+v %v", r, err)
			}
			agree(t, led, e.sb, f)
			captured := int64(5000)
			if typ == "stripe" {
				captured = 2000
			}
			r, err = l.Refund(ctx, &payment.OpRequest{PaymentID: "p1", Amount: gbp(captured - 500), Reason: "requested_by_customer", IdempotencyKey: "ref-1", Actor: admin})
			if err != nil || r.State != payment.OpSucceeded {
				t.Fatalf("refund 1: %+v %v", r, err)
			}
			before := e.sb.Stats().Requests
			if _, err := l.Refund(ctx, &payment.OpRequest{PaymentID: "p1", Amount: gbp(501), IdempotencyKey: "ref-2", Actor: admin}); !errors.Is(err, ErrAmountExceeds) {
				t.Fatalf("refund over the captured amount: %v", err)
			}
			if after := e.sb.Stats().Requests; after["POST /globalpci/v1/transaction/{id}/refund"] != before["POST /globalpci/v1/transaction/{id}/refund"] ||
				after["POST /v1/refunds"] != before["POST /v1/refunds"] || after["POST /generic"] != before["POST /generic"] {
				t.Error("a refund over the captured amount reached the provider")
			}
			r, err = l.Refund(ctx, &payment.OpRequest{PaymentID: "p1", IdempotencyKey: "ref-3", Actor: admin})
			if err != nil || r.State != payment.OpSucceeded || r.Amount.Minor != 500 || r.Payment.State != payment.StateRefunded {
				t.Fatalf("refund of the rest: %+v %v", r, err)
			}
			agree(t, led, e.sb, f)

			g := authorize(t, c, led, "p2", "5555555555554444", 1234)
			if r, err := l.Void(ctx, &payment.OpRequest{PaymentID: "p2", IdempotencyKey: "void-1", Actor: admin}); err != nil || r.State != payment.OpSucceeded || r.Payment.State != payment.StateVoided {
				t.Fatalf("void: %+v %v", r, err)
			}
			if ch := ledgerCharge(t, e.sb, g.ProviderPaymentID); ch.Status != "voided" {
				t.Errorf("provider after void: %+v", ch)
			}
			if _, err := l.Capture(ctx, &payment.OpRequest{PaymentID: "p2", IdempotencyKey: "cap-late", Actor: admin}); !errors.Is(err, ErrPaymentState) {
				t.Errorf("capture after void: %v", err)
			}
			hist := led.History("p1")
			if len(hist) < 6 || hist[0].Action != "authorized" || hist[len(hist)-1].Action != "refunded" || hist[len(hist)-1].Actor != admin {
				t.Errorf("history %+v", hist)
			}
			assertNoPAN(t, "logs", e.logs.String())
		})
	}
}

// TestCaptureRefusedAsExpiredByTheProvider: when paybridge has not heard of the expiry, the
// provider's refusal of the capture (authorization_expired) ends the hold in the ledger.
func TestCaptureRefusedAsExpiredByTheProvider(t *testing.T) {
	e := newEnv(t, sandbox.Config{ShortAuthorizationTTL: 200 * time.Millisecond})
	t.Cleanup(e.sb.Close)
	c := e.open(t, "generic")
	l, led := e.lifecycle()
	f := authorize(t, c, led, "exp", "4000000000003006", 1000)
	time.Sleep(300 * time.Millisecond)
	r, err := l.Capture(context.Background(), &payment.OpRequest{PaymentID: "exp", IdempotencyKey: "exp-cap", Actor: admin})
	if err != nil || r.State != payment.OpFailed || r.ErrorCode != "authorization_expired" || r.Payment.State != payment.StateExpired {
		t.Fatalf("capture after expiry: %+v %v", r, err)
	}
	agree(t, led, e.sb, f)
}

// TestConcurrentRefundsNeverExceedTheCapture: 40 refunds of 3.00 race for a 50.00 capture;
// exactly 16 get through (48.00), the rest are refused before the provider is asked, and the
// provider's ledger agrees.
func TestConcurrentRefundsNeverExceedTheCapture(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	c := e.open(t, "session")
	l, led := e.lifecycle()
	f := authorize(t, c, led, "p1", "4242424242424242", 5000)
	if _, err := l.Capture(context.Background(), &payment.OpRequest{PaymentID: "p1", IdempotencyKey: "cap", Actor: admin}); err != nil {
		t.Fatal(err)
	}
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			_, err := l.Refund(context.Background(), &payment.OpRequest{PaymentID: "p1", Amount: gbp(300),
				IdempotencyKey: "r" + string(rune('A'+i)), Actor: admin})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrAmountExceeds):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 16 || refused.Load() != 24 {
		t.Fatalf("%d refunds made, %d refused; want 16 and 24", ok.Load(), refused.Load())
	}
	agree(t, led, e.sb, f)
	if ch := ledgerCharge(t, e.sb, f.ProviderPaymentID); ch.Refunded != 4800 {
		t.Errorf("provider refunded %d", ch.Refunded)
	}
}

// hooksEnv is an env whose sandbox posts its events to a ProviderHooks endpoint applying them
// to a MemoryLedger.
type hooksEnv struct {
	*env
	l     *Lifecycle
	led   *MemoryLedger
	hooks *httptest.Server
}

func newHooksEnv(t *testing.T) *hooksEnv {
	t.Helper()
	h := &hooksEnv{}
	mux := http.NewServeMux()
	h.hooks = httptest.NewServer(mux)
	t.Cleanup(h.hooks.Close)
	h.env = newEnv(t, sandbox.Config{WebhookURL: h.hooks.URL + "/webhooks/provider/sandbox", WebhookSecret: "whsec-1",
		SettleAfter: 100 * time.Millisecond, WebhookDelay: 10 * time.Millisecond, ShortAuthorizationTTL: 300 * time.Millisecond})
	t.Cleanup(h.sb.Close)
	h.l, h.led = h.env.lifecycle()
	mux.Handle("/webhooks/provider/", NewProviderHooks(ProviderHooksConfig{Secrets: map[string]string{"sandbox": "whsec-1"}, Lifecycle: h.l}))
	return h
}

// waitFacts waits until the payment satisfies ok.
func (h *hooksEnv) waitFacts(t *testing.T, id string, ok func(*payment.PaymentFacts) bool) *payment.PaymentFacts {
	t.Helper()
	var f *payment.PaymentFacts
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		f, _ = h.led.PaymentFacts(context.Background(), id)
		if f != nil && ok(f) {
			return f
		}
	}
	t.Fatalf("payment %s never got there: %+v", id, f)
	return nil
}

// TestLifecycleTestCardsThroughTheSessionConnector: the expiring authorisation (capture
// refused as expired, payment expired), the refused capture (payment still authorised, then
// voided), the refund that fails later (pending, then failed by the provider's webhook, the
// reservation released) and the chargeback (reported by webhook) — each agreeing with the
// provider's ledger.
func TestLifecycleTestCardsThroughTheSessionConnector(t *testing.T) {
	h := newHooksEnv(t)
	c := h.open(t, "session")
	ctx := context.Background()

	// The provider reports the expiry; a capture afterwards is refused without asking it.
	f := authorize(t, c, h.led, "exp", "4000000000003006", 1000)
	h.waitFacts(t, "exp", func(f *payment.PaymentFacts) bool { return f.State == payment.StateExpired })
	if _, err := h.l.Capture(ctx, &payment.OpRequest{PaymentID: "exp", IdempotencyKey: "exp-cap", Actor: admin}); !errors.Is(err, ErrPaymentState) {
		t.Fatalf("capture after the provider reported the expiry: %v", err)
	}
	agree(t, h.led, h.sb, f)
	if hist := h.led.History("exp"); hist[len(hist)-1].Action != "expired" || hist[len(hist)-1].Actor.Kind != payment.ActorProvider {
		t.Errorf("expiry history %+v", hist[len(hist)-1])
	}

	f = authorize(t, c, h.led, "refuse", "4000000000003402", 1000)
	r, err := h.l.Capture(ctx, &payment.OpRequest{PaymentID: "refuse", IdempotencyKey: "refuse-cap", Actor: admin})
	if err != nil || r.State != payment.OpFailed || r.ErrorCode != "capture_declined" || r.Payment.State != payment.StateAuthorized {
		t.Fatalf("refused capture: %+v %v", r, err)
	}
	if r, err := h.l.Void(ctx, &payment.OpRequest{PaymentID: "refuse", IdempotencyKey: "refuse-void", Actor: admin}); err != nil || r.Payment.State != payment.StateVoided {
		t.Fatalf("void after a refused capture: %+v %v", r, err)
	}
	agree(t, h.led, h.sb, f)

	f = authorize(t, c, h.led, "rf", "4000000000005126", 1000)
	h.l.Capture(ctx, &payment.OpRequest{PaymentID: "rf", IdempotencyKey: "rf-cap", Actor: admin})
	r, err = h.l.Refund(ctx, &payment.OpRequest{PaymentID: "rf", Amount: gbp(400), IdempotencyKey: "rf-ref", Actor: admin})
	if err != nil || r.State != payment.OpPending {
		t.Fatalf("refund of the failing card: %+v %v", r, err)
	}
	if _, err := h.l.Refund(ctx, &payment.OpRequest{PaymentID: "rf", Amount: gbp(601), IdempotencyKey: "rf-more", Actor: admin}); !errors.Is(err, ErrAmountExceeds) {
		t.Fatalf("a pending refund counts against what is left: %v", err)
	}
	op := func() *Op { o, _ := h.led.OpByKey(ctx, "rf-ref"); return o }
	for deadline := time.Now().Add(10 * time.Second); op().State == payment.OpPending && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
	}
	if o := op(); o.State != payment.OpFailed || o.ErrorCode != "expired_or_canceled_card" || o.ProviderID == "" {
		t.Fatalf("the failed refund: %+v", o)
	}
	if r, err := h.l.Refund(ctx, &payment.OpRequest{PaymentID: "rf", IdempotencyKey: "rf-all", Actor: admin}); err != nil || r.Amount.Minor != 1000 {
		t.Fatalf("after the failure the whole amount can be refunded again: %+v %v", r, err)
	}
	agree(t, h.led, h.sb, f)

	f = authorize(t, c, h.led, "cb", "4000000000000259", 1000)
	h.l.Capture(ctx, &payment.OpRequest{PaymentID: "cb", IdempotencyKey: "cb-cap", Actor: admin})
	h.waitFacts(t, "cb", func(f *payment.PaymentFacts) bool { return f.State == payment.StateChargedBack })
	hist := h.led.History("cb")
	if last := hist[len(hist)-1]; last.Action != "charged_back" || last.Actor.Kind != payment.ActorProvider || last.AmountMinor != 1000 {
		t.Errorf("chargeback history %+v", last)
	}
	agree(t, h.led, h.sb, f)
}

// TestBankAccountPaymentsThroughConnectors: an ach-debit payment through the session and generic
// connectors (the mask, never the number, in the result, the attempt, the events and the
// logs), a bank refund pending until the provider's webhook settles it; the stripe connector
// refuses a bank payment before sending anything.
func TestBankAccountPaymentsThroughConnectors(t *testing.T) {
	h := newHooksEnv(t)
	ctx := context.Background()
	bank := func() *payment.BankAccount {
		return &payment.BankAccount{RoutingNumber: secure(t, sandbox.TestRoutingNumber), AccountNumber: secure(t, "000123456789"), Type: payment.BankConsumerSavings}
	}
	for _, typ := range []string{"session", "generic"} {
		c := h.open(t, typ)
		res, err := c.Pay(ctx, &payment.Request{CallID: "call-" + typ, IdempotencyKey: "ach-" + typ, PaymentMethod: payment.PaymentMethodACH,
			Amount: gbp(2500), Bank: bank()})
		if err != nil || res.Status != payment.Approved || res.MaskedAccount != "********6789" {
			t.Fatalf("%s ach: %+v %v", typ, res, err)
		}
		ch := ledgerCharge(t, h.sb, res.ConfirmationCode)
		if ch.PaymentMethod != "ach-debit" || ch.AccountType != payment.BankConsumerSavings || ch.Last4 != "6789" || ch.Captured != 2500 {
			t.Errorf("%s: provider ledger %+v", typ, ch)
		}
		a, _ := h.store.GetAttempt(ctx, "ach-"+typ)
		if a.MaskedAccount != "********6789" || a.MaskedCard != "" || a.PaymentMethod != payment.PaymentMethodACH {
			t.Errorf("%s attempt %+v", typ, a)
		}
		id := "ach-" + typ
		h.led.AddPayment(payment.PaymentFacts{ID: id, ConnectorKey: c.Key(), ProviderPaymentID: res.ConfirmationCode, Method: payment.MethodCharge,
			PaymentMethod: payment.PaymentMethodACH, Currency: "GBP", AuthorizedMinor: 2500})
		r, err := h.l.Refund(ctx, &payment.OpRequest{PaymentID: id, Amount: gbp(1000), IdempotencyKey: id + "-ref", Actor: admin})
		if err != nil || r.State != payment.OpPending {
			t.Fatalf("%s bank refund: %+v %v", typ, r, err)
		}
		got := h.waitFacts(t, id, func(f *payment.PaymentFacts) bool { return f.RefundedMinor == 1000 })
		if got.State != payment.StatePartiallyRefunded || ledgerCharge(t, h.sb, res.ConfirmationCode).Refunded != 1000 {
			t.Errorf("%s after the refund settled: %+v", typ, got)
		}
	}
	s := h.open(t, "stripe")
	before := h.sb.Stats().Requests["POST /v1/tokens"]
	_, err := s.Pay(ctx, &payment.Request{CallID: "c", IdempotencyKey: "ach-stripe", PaymentMethod: payment.PaymentMethodACH, Amount: gbp(100), Bank: bank()})
	if !errors.Is(err, payment.ErrUnsupported) || h.sb.Stats().Requests["POST /v1/tokens"] != before {
		t.Fatalf("stripe with a bank account: %v", err)
	}
	out := h.logs.String()
	if !strings.Contains(out, "session.capture") { // control: the log is the one the connectors wrote
		t.Fatal("control: no connector log")
	}
	for _, ev := range h.events.ev {
		b, _ := ev.MarshalJSON()
		out += string(b)
	}
	if strings.Contains(out, "000123456789") || strings.Contains(out, "123456789") {
		t.Error("the account number is in the logs or events")
	}
}

// TestSettleBeforeFailover: with Settle, a payment that got no answer is settled before Pay
// returns — each way the first provider can fail, the error proves nothing was charged (and
// the session is fenced) or the provider's own answer comes back; a provider without a lookup
// can only say "not charged" when the request never reached it.
func TestSettleBeforeFailover(t *testing.T) {
	cases := []struct {
		name       string
		typ        string
		faults     sandbox.Faults
		notCharged bool // the error wraps payment.ErrNotCharged
		approved   bool // the provider's answer came back approved
		retryable  bool // a soft decline
	}{
		{"session 503s", "session", sandbox.Faults{FailFirst: 10}, true, false, false},
		{"session answer lost", "session", sandbox.Faults{LoseFirst: 10}, false, true, false},
		{"session hangs", "session", sandbox.Faults{HangFirst: 10, HangFor: 3 * time.Second}, true, false, false},
		{"session soft decline", "session", sandbox.Faults{DeclineFirst: 1}, false, false, true},
		{"generic 503s", "generic", sandbox.Faults{FailFirst: 10}, false, false, false},
		{"stripe 503s on the token", "stripe", sandbox.Faults{FailFirst: 10, Paths: []string{"/v1/tokens"}}, true, false, false},
		{"stripe answer lost", "stripe", sandbox.Faults{LoseFirst: 10, Paths: []string{"/v1/charges$"}}, false, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, sandbox.Config{})
			e.cs.cfg.Timeout = 300 * time.Millisecond
			c := e.open(t, tc.typ)
			if err := c.Authorize(context.Background()); err != nil {
				t.Fatal(err)
			}
			var sid string
			if tc.typ == "session" {
				s, err := c.StartSession(context.Background(), &payment.SessionRequest{CallID: "c", Amount: gbp(999)})
				if err != nil {
					t.Fatal(err)
				}
				sid = s.ID
			}
			// The faults hit the payment request only: the lookup and the fence get through.
			f := tc.faults
			if f.Paths == nil {
				f.Paths = []string{"/globalpci/v1/session/" + sid + "/capture", "/generic", "/v1/charges$"}
			}
			e.sb.SetFaults(f)
			res, err := c.Pay(context.Background(), &payment.Request{CallID: "c", IdempotencyKey: "k1", SessionID: sid, Settle: true,
				Amount: gbp(999), Card: card(t, "4242424242424242", "123")})
			e.sb.SetFaults(sandbox.Faults{})
			ok, reason := payment.FailOver(res, err)
			switch {
			case tc.notCharged:
				if !errors.Is(err, payment.ErrNotCharged) || !ok || reason != payment.RouteUnavailable {
					t.Fatalf("want not charged: %+v %v", res, err)
				}
				for _, ch := range e.sb.Ledger() {
					if ch.Status == "succeeded" {
						t.Fatalf("charged: %+v", ch)
					}
				}
				if sid != "" {
					if st := e.sessionState(t, c, sid); st != SessionCancelled {
						t.Errorf("session %s after settle, want Cancelled", st)
					}
				}
			case tc.approved:
				if err != nil || res.Status != payment.Approved || ok {
					t.Fatalf("want the provider's approval: %+v %v", res, err)
				}
			case tc.retryable:
				if err != nil || res.Status != payment.Declined || !res.Retryable || !ok || reason != payment.RouteSoftDecline {
					t.Fatalf("want a soft decline: %+v %v", res, err)
				}
			default:
				if err == nil || errors.Is(err, payment.ErrNotCharged) || ok {
					t.Fatalf("want an unknown outcome: %+v %v", res, err)
				}
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		e := newEnv(t, sandbox.Config{})
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		c, err := e.cs.OpenConnector(&payment.ConnectorSpec{Name: "gone", Type: "generic", BaseURL: "http://" + addr + "/pay",
			BasicAuth: &payment.BasicAuth{Username: "u", Password: "p"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Pay(context.Background(), &payment.Request{CallID: "c", IdempotencyKey: "k", Settle: true, Amount: gbp(1), Card: card(t, "4242424242424242", "123")})
		if !errors.Is(err, payment.ErrNotCharged) {
			t.Fatalf("a refused connection: %v", err)
		}
	})
}

// sessionState asks the provider for a session's state.
func (e *env) sessionState(t *testing.T, c *Connector, id string) string {
	t.Helper()
	st, err := c.api.(*sessionAPI).status(context.Background(), "c", id)
	if err != nil {
		t.Fatal(err)
	}
	return st.SessionState
}

// TestProviderHooksVerifyAndApplyOnce: the inbound endpoint refuses a bad signature, a stale
// one and an unknown endpoint; applies an event once and answers a replay "duplicate".
func TestProviderHooksVerifyAndApplyOnce(t *testing.T) {
	led := NewMemoryLedger()
	now := time.Now()
	l := NewLifecycle(LifecycleConfig{Ledger: led})
	hooks := NewProviderHooks(ProviderHooksConfig{Secrets: map[string]string{"acme": "s3cret"}, Lifecycle: l, Now: func() time.Time { return now }})
	led.AddPayment(payment.PaymentFacts{ID: "p", ProviderPaymentID: "ch_1", Method: payment.MethodCharge, Currency: "GBP", AuthorizedMinor: 1000})
	post := func(name, body, sig string) int {
		req := httptest.NewRequest("POST", "/webhooks/provider/"+name, strings.NewReader(body))
		req.Header.Set(SignatureHeader, sig)
		w := httptest.NewRecorder()
		hooks.ServeHTTP(w, req)
		return w.Code
	}
	body := `{"id":"evt_1","type":"chargeback.created","created":1,"data":{"transactionId":"ch_1","api":"session","status":"succeeded","amount":"10.00","currency":"GBP","captured":"10.00","refunded":"0.00","reason":"fraudulent"}}`
	for _, c := range []struct {
		name, endpoint, sig string
		want                int
	}{
		{"unknown endpoint", "other", Sign([]byte(body), "s3cret", now), 404},
		{"wrong secret", "acme", Sign([]byte(body), "other", now), 401},
		{"stale", "acme", Sign([]byte(body), "s3cret", now.Add(-10*time.Minute)), 401},
		{"no signature", "acme", "", 401},
	} {
		if got := post(c.endpoint, body, c.sig); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if f, _ := led.PaymentFacts(context.Background(), "p"); f.State != payment.StateCaptured {
		t.Fatalf("a refused event changed the payment: %+v", f)
	}
	if got := post("acme", body, Sign([]byte(body), "s3cret", now)); got != 200 {
		t.Fatalf("valid event: %d", got)
	}
	if f, _ := led.PaymentFacts(context.Background(), "p"); f.State != payment.StateChargedBack {
		t.Fatalf("after the chargeback: %+v", f)
	}
	n := len(led.History("p"))
	if got := post("acme", body, Sign([]byte(body), "s3cret", now)); got != 200 || len(led.History("p")) != n {
		t.Fatalf("replay: %d, history %d → %d", got, n, len(led.History("p")))
	}
}

// TestReconcileOpsSettlesAnUnansweredRefund: a refund whose answer is lost stays pending and
// reserved; ReconcileOps finds it at the provider by its key and completes it.
func TestReconcileOpsSettlesAnUnansweredRefund(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	e.cs.cfg.Timeout = 300 * time.Millisecond
	c := e.open(t, "session")
	l, led := e.lifecycle()
	ctx := context.Background()
	f := authorize(t, c, led, "p1", "4242424242424242", 2000)
	if _, err := l.Capture(ctx, &payment.OpRequest{PaymentID: "p1", IdempotencyKey: "cap", Actor: admin}); err != nil {
		t.Fatal(err)
	}
	e.sb.SetFaults(sandbox.Faults{LoseFirst: 10, Paths: []string{"/globalpci/v1/transaction/"}})
	r, err := l.Refund(ctx, &payment.OpRequest{PaymentID: "p1", Amount: gbp(700), IdempotencyKey: "lost", Actor: admin})
	if err != nil || r.State != payment.OpPending {
		t.Fatalf("refund without an answer: %+v %v", r, err)
	}
	e.sb.SetFaults(sandbox.Faults{})
	if _, err := l.Refund(ctx, &payment.OpRequest{PaymentID: "p1", Amount: gbp(1301), IdempotencyKey: "more", Actor: admin}); !errors.Is(err, ErrAmountExceeds) {
		t.Fatalf("the unanswered refund must stay reserved: %v", err)
	}
	n, err := l.ReconcileOps(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("ReconcileOps = %d, %v", n, err)
	}
	if o, _ := led.OpByKey(ctx, "lost"); o.State != payment.OpSucceeded || o.Actor != admin {
		t.Fatalf("after reconcile: %+v", o)
	}
	agree(t, led, e.sb, f)
}

// TestOneOutcomeOneEventWhenPathsRace: a refund whose answer was lost is finished by several
// paths at once — the settling loop on two "nodes" (ReconcileOps twice over) and the provider's
// refund.succeeded webhook delivered twice — and the refund.succeeded event is reported once:
// only the FinishOp that moved the operation out of pending reports it. (With a ledger that
// said every finish changed the operation, each path would report it.)
func TestOneOutcomeOneEventWhenPathsRace(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	e.cs.cfg.Timeout = 300 * time.Millisecond
	c := e.open(t, "session")
	l, led := e.lifecycle()
	ctx := context.Background()
	f := authorize(t, c, led, "p1", "4242424242424242", 2000)
	if _, err := l.Capture(ctx, &payment.OpRequest{PaymentID: "p1", IdempotencyKey: "cap", Actor: admin}); err != nil {
		t.Fatal(err)
	}
	e.sb.SetFaults(sandbox.Faults{LoseFirst: 10, Paths: []string{"/globalpci/v1/transaction/"}})
	r, err := l.Refund(ctx, &payment.OpRequest{PaymentID: "p1", Amount: gbp(700), IdempotencyKey: "lost", Actor: admin})
	if err != nil || r.State != payment.OpPending {
		t.Fatalf("refund without an answer: %+v %v", r, err)
	}
	e.sb.SetFaults(sandbox.Faults{})

	hooks := NewProviderHooks(ProviderHooksConfig{Secrets: map[string]string{"sandbox": "whsec-1"}, Lifecycle: l})
	body := `{"id":"evt_r1","type":"refund.succeeded","created":1,"data":{"transactionId":"` + f.ProviderPaymentID +
		`","api":"session","kind":"refund","idempotencyKey":"lost","status":"succeeded","amount":"7.00","currency":"GBP","captured":"20.00","refunded":"7.00"}}`
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			<-start
			if _, err := l.ReconcileOps(ctx, 0); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			<-start
			req := httptest.NewRequest("POST", "/webhooks/provider/sandbox", strings.NewReader(body))
			req.Header.Set(SignatureHeader, Sign([]byte(body), "whsec-1", time.Now()))
			w := httptest.NewRecorder()
			hooks.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				t.Errorf("provider webhook: %d %s", w.Code, w.Body)
			}
		})
	}
	close(start)
	wg.Wait()

	if o, _ := led.OpByKey(ctx, "lost"); o.State != payment.OpSucceeded {
		t.Fatalf("after the race: %+v", o)
	}
	succeeded := 0
	e.events.mu.Lock()
	for _, ev := range e.events.ev {
		if d, ok := ev.Data.(*event.RefundSucceeded); ok && d.Operation.IdempotencyKey == "lost" {
			succeeded++
		}
	}
	e.events.mu.Unlock()
	if succeeded != 1 {
		t.Fatalf("%d refund.succeeded events for one refund, want 1", succeeded)
	}
	refunded := 0
	for _, h := range led.History("p1") {
		if h.Action == "refunded" {
			refunded++
		}
	}
	if refunded != 1 {
		t.Fatalf("%d refunded lines in the history, want 1", refunded)
	}
	agree(t, led, e.sb, f)
}

// TestExpireHoldsReleasesAtTheProvider: a hold whose time is over (by paybridge's record) is
// released at the provider and recorded expired, once; a release without an answer leaves
// the payment authorised and claimed, and it is tried again — with the same key — only after
// the claim's lease.
func TestExpireHoldsReleasesAtTheProvider(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	c := e.open(t, "session")
	led := NewMemoryLedger()
	// The lifecycle's clock is the test's: the lease passes when the test says so, however
	// long a loaded machine takes over the provider's failures in between.
	var clockMu sync.Mutex
	now := time.Now()
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	l := NewLifecycle(LifecycleConfig{Ledger: led, Connectors: e.cs, Events: e.events, HoldLease: time.Minute, Now: clock})
	ctx := context.Background()
	lapsed := func(id string) payment.PaymentFacts {
		f := authorize(t, c, NewMemoryLedger(), id, "4242424242424242", 1500)
		f.AuthorizedUntil = clock().Add(-time.Second)
		led.AddPayment(f)
		return f
	}
	expired := func(id string) int {
		n := 0
		e.events.mu.Lock()
		defer e.events.mu.Unlock()
		for _, ev := range e.events.ev {
			if d, ok := ev.Data.(*event.PaymentExpired); ok && d.Operation.PaymentID == id {
				n++
			}
		}
		return n
	}
	f := lapsed("p1")
	if n, err := l.ExpireHolds(ctx); err != nil || n != 1 {
		t.Fatalf("ExpireHolds = %d, %v", n, err)
	}
	if n, _ := l.ExpireHolds(ctx); n != 0 {
		t.Fatalf("a second pass expired %d", n)
	}
	if got, _ := led.PaymentFacts(ctx, "p1"); got.State != payment.StateExpired || expired("p1") != 1 {
		t.Fatalf("after expiry: %+v, %d events", got, expired("p1"))
	}
	if ch := ledgerCharge(t, e.sb, f.ProviderPaymentID); ch.Status != "voided" || len(ch.Operations) != 1 {
		t.Fatalf("the provider still holds it: %s %+v", ch.Status, ch.Operations)
	}
	h := led.History("p1")
	if last := h[len(h)-1]; last.Action != "expired" || !strings.Contains(last.Detail, "released at the provider") {
		t.Fatalf("history: %+v", last)
	}

	g := lapsed("p2")
	e.sb.SetFaults(sandbox.Faults{FailFirst: 1000, Paths: []string{"/globalpci/v1/transaction/" + g.ProviderPaymentID + "/void$"}})
	if n, _ := l.ExpireHolds(ctx); n != 0 {
		t.Fatalf("expired %d without the provider's answer", n)
	}
	e.sb.SetFaults(sandbox.Faults{})
	if n, _ := l.ExpireHolds(ctx); n != 0 {
		t.Fatalf("tried again within the claim's lease: %d", n)
	}
	clockMu.Lock()
	now = now.Add(time.Minute + time.Second)
	clockMu.Unlock()
	if n, _ := l.ExpireHolds(ctx); n != 1 || expired("p2") != 1 {
		t.Fatalf("after the lease: %d expired, %d events", n, expired("p2"))
	}
	if ch := ledgerCharge(t, e.sb, g.ProviderPaymentID); ch.Status != "voided" {
		t.Fatalf("p2 at the provider: %s", ch.Status)
	}
}
