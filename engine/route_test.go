package engine

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/payment"
)

// routePlan is a Pay routed over two connectors.
const routePlan = `<CallPlan name="t"><Match number="+441632960000"/>
<Connector name="primary" type="session" baseUrl="sandbox" account="acc"/>
<Connector name="backup" type="generic" baseUrl="sandbox" account="acc"/>
<Flow><Pay connector="primary backup" amount="7.00" currency="GBP" reference="R1"/><Hangup/></Flow></CallPlan>`

// The same keyed card goes to the backup only when the primary provably did not take it (a
// soft decline it marked retryable, or an error that proves nothing was charged), with a new
// idempotency key; never after a hard decline or an outcome that is unknown.
func TestPayRoutesOnlyWhatWasNotCharged(t *testing.T) {
	approved := &payment.Result{Status: payment.Approved, ConfirmationCode: "PB9", SessionID: "sess-1", ProviderStatus: 200}
	soft := &payment.Result{Status: payment.Declined, ErrorCode: "processing_error", Retryable: true, SessionID: "sess-1", ProviderStatus: 200}
	hard := &payment.Result{Status: payment.Declined, ErrorCode: "card_declined", SessionID: "sess-1", ProviderStatus: 200}
	notCharged := fmt.Errorf("connection refused: %w", payment.ErrNotCharged)
	unknown := errors.New("timeout after the request was sent")
	for _, c := range []struct {
		name      string
		answers   []fakeAnswer
		requests  int
		result    string
		connector string
		routed    string // the reason of the pay.routed event, "" = none
	}{
		{"soft decline, then the backup approves", []fakeAnswer{{soft, nil}, {approved, nil}}, 2, "success", "backup", payment.RouteSoftDecline},
		{"not charged, then the backup approves", []fakeAnswer{{nil, notCharged}, {approved, nil}}, 2, "success", "backup", payment.RouteUnavailable},
		{"hard decline stops", []fakeAnswer{{hard, nil}}, 1, "payment-connector-error", "primary", ""},
		{"unknown outcome stops", []fakeAnswer{{nil, unknown}}, 1, "payment-connector-error", "primary", ""},
		{"approved at once", []fakeAnswer{{approved, nil}}, 1, "success", "primary", ""},
		{"both soft", []fakeAnswer{{soft, nil}, {soft, nil}}, 2, "payment-connector-error", "backup", payment.RouteSoftDecline},
	} {
		t.Run(c.name, func(t *testing.T) {
			bufs := trackBuffers(t)
			h := newHarness(t)
			h.conn.answers = c.answers
			h.ch.press(500*time.Millisecond, "4242424242424242# 1228 123")
			out := h.run(routePlan)
			v := out.Variables
			if len(h.conn.reqs) != c.requests || v["Pay.Result"] != c.result || v["Pay.Connector"] != c.connector {
				t.Fatalf("%d requests, Pay.Result %q, Pay.Connector %q; want %d, %q, %q (vars %v)",
					len(h.conn.reqs), v["Pay.Result"], v["Pay.Connector"], c.requests, c.result, c.connector, v)
			}
			// Keyed once: both connectors received the same card, each under its own key.
			for i := range h.conn.reqs {
				if h.conn.numbers[i] != "4242424242424242" || h.conn.cvvs[i] != "123" {
					t.Fatalf("request %d did not carry the keyed card", i)
				}
			}
			if c.requests == 2 && h.conn.reqs[0].IdempotencyKey == h.conn.reqs[1].IdempotencyKey {
				t.Fatal("the backup was asked with the primary's idempotency key")
			}
			routed := eventsOf(out, "pay.routed")
			switch {
			case c.routed == "" && len(routed) != 0:
				t.Fatalf("routed events %v", routed)
			case c.routed != "":
				if len(routed) != 1 {
					t.Fatalf("%d routed events", len(routed))
				}
				r := routed[0].Data.(*event.PayRouted)
				if r.From != "primary" || r.To != "backup" || r.Reason != c.routed || r.AttemptKey != h.conn.reqs[0].IdempotencyKey {
					t.Fatalf("routed %+v", r)
				}
			}
			done := eventsOf(out, "pay.completed")
			if len(done) != 1 || done[0].Data.(*event.PayCompleted).Connector != c.connector {
				t.Fatalf("completed %v", done)
			}
			checkWiped(t, *bufs, h.conn)
		})
	}
}

// A payment link falling back from a Pay step does what the step does: the link request
// carries the step's method (authorize), bank account (ach-debit and its type), the rest of
// its route with the opened connectors' keys, and its invoice. A step that just charges a card
// through one connector gives the link no terms.
func TestPaymentLinkKeepsThePayStepsTerms(t *testing.T) {
	head := `<CallPlan name="t"><Match number="+441632960000"/>
<Connector name="primary" type="session" baseUrl="sandbox" account="acc"/>
<Connector name="backup" type="generic" baseUrl="sandbox" account="acc"/>
<Flow>`
	link := `<If test="$(Pay.Result) != success"><SendPaymentLink connector="primary" to="+447700900123" session="$(Pay.SessionId)"/></If><Hangup/></Flow></CallPlan>`
	cases := []struct {
		name, pay string
		want      *payment.LinkTerms
		invoice   string
	}{
		{"authorize with an invoice", `<Pay connector="primary" method="authorize" amount="5.00" currency="GBP">
			<Invoice id="INV-5"><Line description="Visit" amount="5.00"/></Invoice></Pay>`,
			&payment.LinkTerms{Method: payment.MethodAuthorize}, "INV-5"},
		{"a bank account, routed", `<Pay connector="primary backup" paymentMethod="ach-debit" bankAccountType="consumer-savings" amount="5.00" currency="USD"/>`,
			&payment.LinkTerms{PaymentMethod: payment.PaymentMethodACH, BankAccountType: payment.BankConsumerSavings,
				Route: []payment.LinkHop{{Connector: "backup"}}}, ""},
		{"a card charged", `<Pay connector="primary" amount="5.00" currency="GBP"/>`, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			links := &fakeLinks{}
			h.links = links
			h.ch.press(0, "*")
			out := h.run(head + c.pay + link)
			if out.Variables["Pay.Result"] != "caller-interrupted-with-star" || len(links.reqs) != 1 {
				t.Fatalf("Pay %s, %d link requests", out.Variables["Pay.Result"], len(links.reqs))
			}
			req := links.reqs[0]
			if !reflect.DeepEqual(req.Terms, c.want) {
				t.Errorf("terms %+v, want %+v", req.Terms, c.want)
			}
			if got := ""; req.Invoice != nil {
				got = req.Invoice.ID
				if got != c.invoice {
					t.Errorf("invoice %q, want %q", got, c.invoice)
				}
			} else if c.invoice != "" {
				t.Errorf("no invoice, want %q", c.invoice)
			}
			if req.SessionID != "sess-1" || req.Amount.Minor != 500 {
				t.Errorf("link request %+v", req)
			}
			sent := eventsOf(out, "link.sent")
			if len(sent) != 1 {
				t.Fatalf("%d link.sent events", len(sent))
			}
			if ls := sent[0].Data.(*event.LinkSent); c.want != nil && (ls.Method != c.want.MethodOf() || ls.PaymentMethod != c.want.PaymentMethod ||
				len(ls.Route) != len(c.want.Route)) || c.want == nil && (ls.Method != "" || ls.PaymentMethod != "" || ls.Route != nil) {
				t.Errorf("link.sent %+v for terms %+v", ls, c.want)
			}
		})
	}
}
