package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

func payPlan(attrs, prompts string) string {
	return flowPlan(`<Set var="Amount" value="12.50"/>
	<Pay connector="provider" amount="$(Amount)" currency="GBP" reference="ACC1" ` + attrs + `>` + prompts + `</Pay>
	<Switch value="$(Pay.Result)"><Case is="success"><Play prompt="payment-accepted"/><SayDigits value="$(Pay.ConfirmationCode)"/></Case>
	<Default><Play prompt="payment-failed"/></Default></Switch><Hangup reason="end"/>`)
}

// trackBuffers records every secure buffer the Pay step creates, to check they end wiped.
func trackBuffers(t *testing.T) *[]*pan.SecureBuffer {
	var bufs []*pan.SecureBuffer
	old := newPayBuffer
	newPayBuffer = func() *pan.SecureBuffer {
		b := new(pan.SecureBuffer)
		bufs = append(bufs, b)
		return b
	}
	t.Cleanup(func() { newPayBuffer = old })
	return &bufs
}

func checkWiped(t *testing.T, bufs []*pan.SecureBuffer, conn *fakeConnector) {
	t.Helper()
	if len(bufs) == 0 {
		t.Fatal("Pay created no buffers")
	}
	for i, b := range bufs {
		if b.Len() != 0 {
			t.Fatalf("buffer %d still holds %d digits", i, b.Len())
		}
		// The memory behind it is zero too (Append allocates it on the first key).
		b.Use(func(d []byte) {
			for _, c := range d[:cap(d)] {
				if c != 0 {
					t.Fatalf("buffer %d memory not zeroed", i)
				}
			}
		})
	}
	for _, m := range conn.memory {
		for _, c := range m {
			if c != 0 {
				t.Fatal("a buffer the connector saw was not zeroed after the call")
			}
		}
	}
}

func TestPaySuccess(t *testing.T) {
	bufs := trackBuffers(t)
	h := newHarness(t)
	h.ch.press(500*time.Millisecond, "4242424242424242# 1228 123")
	out := h.run(payPlan(`var="Pay"`, ""))
	v := out.Variables
	want := map[string]string{"Pay.Result": "success", "Pay.CardType": "visa", "Pay.MaskedCard": "************4242",
		"Pay.ExpirationDate": "1228", "Pay.ConfirmationCode": "PB1234", "Pay.SessionId": "sess-1", "Pay.Attempts": "3",
		"Pay.ErrorType": "", "Pay.ConnectorError": ""}
	for k, w := range want {
		if v[k] != w {
			t.Errorf("%s = %q, want %q", k, v[k], w)
		}
	}
	if len(h.conn.reqs) != 1 {
		t.Fatalf("%d payment requests", len(h.conn.reqs))
	}
	req := h.conn.reqs[0]
	if h.conn.numbers[0] != "4242424242424242" || h.conn.cvvs[0] != "123" || req.Card.ExpMonth != 12 || req.Card.ExpYear != 2028 ||
		req.Card.Brand != "visa" || req.Amount != (payment.Amount{Minor: 1250, Currency: "GBP"}) || req.Reference != "ACC1" || len(req.IdempotencyKey) != 32 {
		t.Fatalf("request: %+v", req)
	}
	if fmt.Sprint(h.ch.secure) != "[true false]" {
		t.Fatalf("secure window %v", h.ch.secure)
	}
	checkWiped(t, *bufs, h.conn)
	if !strings.Contains(h.ch.playedList(), "pay-processing payment-accepted digit-1 digit-2 digit-3 digit-4") {
		t.Fatalf("played %s", h.ch.playedList())
	}
	var progress []event.Event
	keys := 0
	for _, e := range eventsOf(out, "pay.progress") {
		switch e.Data.(*event.PayProgress).Phase {
		case "entered":
			progress = append(progress, e)
		case "key":
			keys++
		}
	}
	if keys != 23 {
		t.Fatalf("%d key progress events, want 23", keys)
	}
	if len(progress) != 3 || progress[0].Data.(*event.PayProgress).Digits != 16 || progress[0].Data.(*event.PayProgress).For != callplan.FieldCardNumber {
		t.Fatalf("progress events %v", progress)
	}
	done := eventsOf(out, "pay.completed")
	if len(done) != 1 {
		t.Fatalf("completed events %v", done)
	}
	// The record of the payment carries every fact a payment record needs.
	wantPay := event.Payment{SessionID: done[0].Data.(*event.PayCompleted).SessionID, Channel: event.ChannelVoice,
		Connector: "provider", Method: "charge", AmountMinor: 1250, Currency: "GBP", Reference: "ACC1",
		Result: callplan.PayResultSuccess, MaskedCard: "************4242", CardType: "visa",
		Confirmation: done[0].Data.(*event.PayCompleted).Confirmation, AttemptKey: req.IdempotencyKey, Attempts: 3,
		PaymentMethod: "credit-card"}
	if got := done[0].Data.(*event.PayCompleted).Payment; !reflect.DeepEqual(got, wantPay) || got.SessionID == "" || got.Confirmation == "" {
		t.Fatalf("completed event\n got %+v\nwant %+v", got, wantPay)
	}
}

func TestPayTable(t *testing.T) {
	for _, tc := range []struct {
		name, attrs, prompts, keys string
		hangupAt                   time.Duration
		connErr                    error
		declined                   bool
		want                       map[string]string
		played                     string // substring expected in the prompts played
		result                     string // Outcome.Result
		requests                   int
	}{
		{name: "retry after a bad number", keys: "4242424242424241# WWW 5555555555554444 1228 123",
			want:   map[string]string{"Pay.Result": "success", "Pay.CardType": "mastercard", "Pay.MaskedCard": "************4444", "Pay.Attempts": "4"},
			played: "pay-payment-card-number pay-payment-card-number-invalid-card-number", requests: 1},
		{name: "custom error prompt", prompts: `<Prompt for="payment-card-number" errorType="invalid-card-number" prompt="card-invalid"/>`,
			keys: "4242424242424241# WWW 4242424242424242# 1228 123", want: map[string]string{"Pay.Result": "success"}, played: "card-invalid", requests: 1},
		{name: "star abandons", keys: "4242*", want: map[string]string{"Pay.Result": "caller-interrupted-with-star", "Pay.MaskedCard": "", "Pay.SessionId": "sess-1"}},
		{name: "star in expiry keeps card type", keys: "378282246310005 12*", want: map[string]string{"Pay.Result": "caller-interrupted-with-star", "Pay.CardType": "amex"}},
		{name: "three timeouts", keys: "", hangupAt: 5 * time.Minute,
			want:   map[string]string{"Pay.Result": "too-many-failed-attempts", "Pay.ErrorType": "input-timeout", "Pay.Attempts": "3"},
			played: "pay-payment-card-number-input-timeout"},
		{name: "card type not accepted", attrs: `validCardTypes="visa" maxAttempts="2"`, keys: "378282246310005 WWWW 378282246310005",
			want:   map[string]string{"Pay.Result": "too-many-failed-attempts", "Pay.ErrorType": "invalid-card-type"},
			played: "pay-payment-card-number-invalid-card-type"},
		{name: "amex security code is four digits", keys: "378282246310005 0130 1234",
			want: map[string]string{"Pay.Result": "success", "Pay.CardType": "amex", "Pay.MaskedCard": "***********0005"}, played: "pay-security-code-amex", requests: 1},
		{name: "past expiry", attrs: `maxAttempts="2"`, keys: "4242424242424242# 1025 WWW 1126 123",
			want: map[string]string{"Pay.Result": "success", "Pay.ExpirationDate": "1126", "Pay.Attempts": "4"}, played: "pay-expiration-date-invalid-date", requests: 1},
		{name: "bad month", attrs: `maxAttempts="1"`, keys: "4242424242424242# 1328",
			want: map[string]string{"Pay.Result": "too-many-failed-attempts", "Pay.ErrorType": "invalid-date", "Pay.MaskedCard": "************4242"}},
		{name: "short security code by timeout", attrs: `maxAttempts="2" timeout="3s"`, keys: "4242424242424242# 1228 12 WWWWW 321",
			want: map[string]string{"Pay.Result": "success"}, played: "pay-security-code-invalid-security-code", requests: 1},
		{name: "no security code asked", attrs: `securityCode="false"`, keys: "4242424242424242# 1228",
			want: map[string]string{"Pay.Result": "success"}, requests: 1},
		{name: "postal code asked", attrs: `postalCode="true"`, keys: "4242424242424242# 1228 123 12# WWW 94107#",
			want: map[string]string{"Pay.Result": "success"}, played: "pay-postal-code-invalid-postal-code", requests: 1},
		{name: "hash after a self-completing field is ignored", keys: "5555555555554444# 1228# 123#",
			want: map[string]string{"Pay.Result": "success", "Pay.Attempts": "3"}, requests: 1},
		{name: "caller hangs up mid number", keys: "424242", hangupAt: 3 * time.Second,
			want: map[string]string{"Pay.Result": "caller-hung-up"}, result: ResultCallerHungUp},
		{name: "connector error", keys: "4242424242424242# 1228 123", connErr: errors.New("provider said 4242424242424242 is bad: 503"),
			want: map[string]string{"Pay.Result": "payment-connector-error", "Pay.ConnectorError": "provider said ************4242 is bad: 503"}, requests: 1},
		{name: "declined", keys: "4242424242424242# 1228 123", declined: true,
			want: map[string]string{"Pay.Result": "payment-connector-error", "Pay.ConnectorError": "card_declined"}, requests: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bufs := trackBuffers(t)
			h := newHarness(t)
			h.ch.press(500*time.Millisecond, tc.keys)
			if tc.hangupAt > 0 {
				h.ch.hangupAt(tc.hangupAt)
			}
			h.conn.err = tc.connErr
			if tc.declined {
				h.conn.result = &payment.Result{Status: payment.Declined, ErrorCode: "card_declined", ProviderStatus: 402}
			}
			out := h.run(payPlan(tc.attrs, tc.prompts))
			for k, w := range tc.want {
				if out.Variables[k] != w {
					t.Errorf("%s = %q, want %q (played %s)", k, out.Variables[k], w, h.ch.playedList())
				}
			}
			if !strings.Contains(h.ch.playedList(), tc.played) {
				t.Errorf("played %s, want %s", h.ch.playedList(), tc.played)
			}
			wantResult := tc.result
			if wantResult == "" {
				wantResult = ResultHangup
			}
			if out.Result != wantResult {
				t.Errorf("outcome %s, want %s", out.Result, wantResult)
			}
			if len(h.conn.reqs) != tc.requests {
				t.Errorf("%d payment requests, want %d", len(h.conn.reqs), tc.requests)
			}
			if fmt.Sprint(h.ch.secure) != "[true false]" {
				t.Errorf("secure window %v", h.ch.secure)
			}
			checkWiped(t, *bufs, h.conn)
		})
	}
}

func TestPayDoesNotLeakTypeAheadIntoLaterSteps(t *testing.T) {
	h := newHarness(t)
	// The caller keeps typing card digits after the last field; a later Gather must not see them.
	h.ch.press(500*time.Millisecond, "4242424242424242# 1228 123 42424242")
	out := h.run(flowPlan(`<Pay connector="provider" amount="1" currency="GBP"/>
	<Gather var="After" maxDigits="8" timeout="1s" attempts="1" prompt="welcome"/><Hangup/>`))
	if out.Variables["After"] != "" && strings.Contains("4242424242424242", out.Variables["After"]) && len(out.Variables["After"]) > 4 {
		t.Fatalf("card digits typed during Pay reached a later Gather: %d digits", len(out.Variables["After"]))
	}
}

func TestPayBadAmountIsValidationError(t *testing.T) {
	h := newHarness(t)
	out := h.run(flowPlan(`<Set var="A" value="twelve"/><Pay connector="provider" amount="$(A)" currency="GBP"/>`))
	if out.Variables["Pay.Result"] != callplan.PayResultValidationError || len(h.conn.reqs) != 0 || len(h.ch.secure) != 0 {
		t.Fatalf("%v secure %v", out.Variables["Pay.Result"], h.ch.secure)
	}
}

func TestPaySessionAttachAndIdempotencyKeys(t *testing.T) {
	h := newHarness(t)
	h.ch.press(500*time.Millisecond, "4242424242424242# 1228 123 WWWW 4242424242424242# 1228 123")
	out := h.run(flowPlan(`<Set var="GlobalPCI|SessionId" value="sess-42"/>
	<Pay connector="provider" amount="5" currency="GBP" session="$(GlobalPCI|SessionId)"/>
	<Pay connector="provider" amount="5" currency="GBP" var="Pay2"/><Hangup/>`))
	if len(h.conn.reqs) != 2 {
		t.Fatalf("%d requests", len(h.conn.reqs))
	}
	// The first attaches to the plan's session; the second starts one before the capture.
	if h.conn.reqs[0].SessionID != "sess-42" || h.conn.reqs[1].SessionID != "sess-1" || len(h.conn.sessions) != 1 {
		t.Fatalf("session ids %q %q, %d sessions started", h.conn.reqs[0].SessionID, h.conn.reqs[1].SessionID, len(h.conn.sessions))
	}
	if s := h.conn.sessions[0]; s.Amount.Minor != 500 || s.CallID != "call-1" {
		t.Fatalf("session request %+v", s)
	}
	if h.conn.reqs[0].IdempotencyKey == h.conn.reqs[1].IdempotencyKey {
		t.Fatal("two payment attempts shared an idempotency key")
	}
	if out.Variables["Pay2.Result"] != "success" {
		t.Fatalf("second pay %v", out.Variables["Pay2.Result"])
	}
}

func TestPayTokenizeWithoutAmount(t *testing.T) {
	h := newHarness(t)
	h.conn.result = &payment.Result{Status: payment.Approved, Token: "tok_123", SessionID: "s"}
	h.ch.press(500*time.Millisecond, "5555555555554444 1228 123")
	out := h.run(flowPlan(`<Pay connector="provider" tokenType="one-time"/><Hangup/>`))
	if out.Variables["Pay.Result"] != "success" || out.Variables["Pay.Token"] != "tok_123" {
		t.Fatalf("%v", out.Variables)
	}
	if r := h.conn.reqs[0]; r.Amount.Minor != 0 || r.TokenType != "one-time" {
		t.Fatalf("request %+v", r)
	}
}

type panicConnector struct{ fakeConnector }

func (p *panicConnector) Pay(ctx context.Context, req *payment.Request) (*payment.Result, error) {
	panic("connector bug")
}

func TestPayConnectorPanicEndsOnlyThisCall(t *testing.T) {
	bufs := trackBuffers(t)
	h := newHarness(t)
	h.ch.press(500*time.Millisecond, "4242424242424242# 1228 123")
	plan := mustParse(t, payPlan("", ""))
	pc := &panicConnector{}
	out, err := Run(context.Background(), plan, h.ch, RunOptions{Clock: h.clock,
		Connectors: panicConnectors{pc}, Logger: slog.New(slog.NewJSONHandler(&h.logs, nil))})
	if err != nil || out.Result != ResultError || out.Reason != "internal error" {
		t.Fatalf("%v %+v", err, out)
	}
	if fmt.Sprint(h.ch.secure) != "[true false]" || h.ch.hangup != "error" {
		t.Fatalf("secure %v hangup %q", h.ch.secure, h.ch.hangup)
	}
	for _, b := range *bufs {
		if b.Len() != 0 {
			t.Fatal("a buffer survived the panic")
		}
	}
	if strings.Contains(h.logs.String(), "connector bug") || !strings.Contains(h.logs.String(), "engine panic") {
		t.Fatalf("logs: %s", h.logs.String())
	}
	h.checkNoLeak(out)
}

type panicConnectors struct{ c *panicConnector }

func (p panicConnectors) Open(*payment.ConnectorSpec) (payment.Connector, error) { return p.c, nil }

type hangupDuringPay struct {
	fakeConnector
	ch *testChannel
}

func (c *hangupDuringPay) Pay(ctx context.Context, req *payment.Request) (*payment.Result, error) {
	c.ch.end() // the caller hangs up while the provider is working
	return c.fakeConnector.Pay(ctx, req)
}

// A payment under way when the caller hangs up is completed and reported, not abandoned.
func TestPayCompletesWhenCallerHangsUpDuringPayment(t *testing.T) {
	h := newHarness(t)
	h.ch.press(500*time.Millisecond, "4242424242424242# 1228 123")
	conn := &hangupDuringPay{ch: h.ch}
	plan := mustParse(t, payPlan("", ""))
	out, err := Run(context.Background(), plan, h.ch, RunOptions{Clock: h.clock, Connectors: connectorsFor(conn)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Result != ResultCallerHungUp || out.Variables["Pay.Result"] != callplan.PayResultSuccess || out.Variables["Pay.ConfirmationCode"] != "PB1234" {
		t.Fatalf("%s %v", out.Result, out.Variables)
	}
	if len(eventsOf(out, "pay.completed")) != 1 {
		t.Fatal("no pay.completed event")
	}
}

type connectorsOf struct{ c payment.Connector }

func (c connectorsOf) Open(*payment.ConnectorSpec) (payment.Connector, error) { return c.c, nil }

func connectorsFor(c payment.Connector) payment.Connectors { return connectorsOf{c} }
