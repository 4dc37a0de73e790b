package engine

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/payment"
)

// Unit-test doubles of the bridge side: a channel that dials (its legs answer, are busy or
// ring out as told) and a bridge that records what the engine asked of it.

type fakeBridge struct {
	mu       sync.Mutex
	done     chan struct{}
	once     sync.Once
	captures []Capture
	paused   []bool
	hungUp   bool
	sent     string
}

func newFakeBridge() *fakeBridge { return &fakeBridge{done: make(chan struct{})} }

func (b *fakeBridge) Done() <-chan struct{} { return b.done }
func (b *fakeBridge) end()                  { b.once.Do(func() { close(b.done) }) }
func (b *fakeBridge) Hangup(context.Context) error {
	b.mu.Lock()
	b.hungUp = true
	b.mu.Unlock()
	b.end()
	return nil
}
func (b *fakeBridge) SetCapture(c Capture, pause bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n := len(b.captures); n == 0 || b.captures[n-1] != c {
		b.captures = append(b.captures, c)
		b.paused = append(b.paused, pause)
	}
}
func (b *fakeBridge) SendDigits(ctx context.Context, d string) error {
	b.mu.Lock()
	b.sent += d
	b.mu.Unlock()
	return nil
}
func (b *fakeBridge) Stats() BridgeStats { return BridgeStats{Frames: 100} }

func (b *fakeBridge) captureList() []Capture {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Capture(nil), b.captures...)
}

// dialChannel is a testChannel that dials: each target URI maps to a result.
type dialChannel struct {
	*testChannel
	results map[string]string // URI → result (default answered)
	bridge  *fakeBridge
	reqs    []DialRequest
}

func (c *dialChannel) Dial(ctx context.Context, req DialRequest) (Bridge, DialResult) {
	c.reqs = append(c.reqs, req)
	res := DialResult{Status: callplan.DialFailed}
	for i, t := range req.Targets {
		st := c.results[t.URI]
		if st == "" {
			st = callplan.DialAnswered
		}
		res.Attempts = append(res.Attempts, DialAttempt{URI: t.URI, Status: st, SIPStatus: 486})
		res.Status, res.Target = st, i
		if st == callplan.DialAnswered {
			res.SIPStatus, res.Agent = 200, t.Agent
			return c.bridge, res
		}
		res.SIPStatus = 486
	}
	return nil, res
}

// liveHarness runs a plan on the wall clock (the agents' commands arrive from other
// goroutines, as they do from the Payments API) on a channel that dials.
type liveHarness struct {
	t    *testing.T
	ch   *dialChannel
	conn *fakeConnector
	desk *Desk
	mu   sync.Mutex
	evs  []event.Event
	logs strings.Builder
	outc chan *Outcome
}

func startLive(t *testing.T, src string, results map[string]string) *liveHarness {
	t.Helper()
	h := &liveHarness{t: t, conn: &fakeConnector{}, outc: make(chan *Outcome, 1)}
	h.ch = &dialChannel{testChannel: newTestChannel(NewVirtualClock(testStart)), results: results, bridge: newFakeBridge()}
	h.desk = NewDesk(nil)
	plan := mustParse(t, src)
	var logMu sync.Mutex
	opts := RunOptions{Clock: WallClock{}, Connectors: &fakeConnectors{conn: h.conn}, Desk: h.desk,
		Logger: slog.New(slog.NewJSONHandler(lockedWriter{&logMu, &h.logs}, nil)),
		Events: event.SinkFunc(func(e event.Event) { h.mu.Lock(); h.evs = append(h.evs, e); h.mu.Unlock() })}
	go func() {
		out, err := Run(context.Background(), plan, wallDialChannel{h.ch}, opts)
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		h.outc <- out
	}()
	return h
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// liveChannel hides the test channel's TimedPlayer: prompts take no time on the wall clock.
type wallDialChannel struct{ *dialChannel }

func (c wallDialChannel) Play(ctx context.Context, prompt string) error { return nil }

func (h *liveHarness) waitBridged() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := h.desk.AgentOf("call-1"); ok {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatal("the call was never bridged")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *liveHarness) do(cmd AgentCommand) AgentPaymentState {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := h.desk.Do(ctx, "call-1", cmd)
	if err != nil {
		h.t.Fatalf("%s: %v", cmd.Op, err)
	}
	return st
}

func (h *liveHarness) key(s string) {
	for i := 0; i < len(s); i++ {
		d, _ := dtmf.ParseDigit(s[i])
		h.ch.digits <- dtmf.Event{Digit: d, Source: dtmf.SourceInband}
	}
}

// waitState polls the desk until the payment's state satisfies ok.
func (h *liveHarness) waitState(id string, ok func(AgentPaymentState) bool) AgentPaymentState {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, found := h.desk.Payment(id)
		if found && ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("payment state never came: last %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *liveHarness) outcome() *Outcome {
	h.t.Helper()
	select {
	case out := <-h.outc:
		return out
	case <-time.After(20 * time.Second):
		h.t.Fatal("the run did not end")
	}
	return nil
}

func (h *liveHarness) checkNoLeak() {
	h.t.Helper()
	h.mu.Lock()
	j, _ := json.Marshal(h.evs)
	h.mu.Unlock()
	for _, c := range testCards {
		for _, text := range []string{string(j), h.logs.String()} {
			if strings.Contains(text, c) || strings.Contains(text, c[:8]) {
				h.t.Fatal("a card number leaked into the events or logs")
			}
		}
	}
}

func fieldOf(st AgentPaymentState, name string) event.AgentField {
	for _, f := range st.Fields {
		if f.Name == name {
			return f
		}
	}
	return event.AgentField{}
}

const dialPlan = `<CallPlan name="t"><Match number="+441632960000"/><Connector name="provider" baseUrl="sandbox"/><Flow>
<Dial timeout="10s"><Sip agent="bob">sip:busy@pbx.example</Sip><Sip agent="alice">sip:alice@pbx.example</Sip></Dial>
<Set var="After" value="$(Dial.Result) $(Dial.Agent) $(Dial.SipStatus)"/>
<Hangup reason="after-dial"/>
</Flow></CallPlan>`

func TestAgentPaymentThroughTheDesk(t *testing.T) {
	h := startLive(t, dialPlan, map[string]string{"sip:busy@pbx.example": callplan.DialBusy})
	h.waitBridged()
	if agent, _ := h.desk.AgentOf("call-1"); agent != "alice" {
		t.Fatalf("bridged to %q, want alice", agent)
	}
	st := h.do(AgentCommand{Op: AgentStart, IdempotencyKey: "k1", Start: AgentPaymentParams{ChargeAmount: "12.50", Currency: "GBP", StatusCallback: "http://127.0.0.1/cb"}})
	if !strings.HasPrefix(st.PaymentID, "PK") || st.Status != AgentOpen || len(st.Required) != 3 {
		t.Fatalf("opened %+v", st)
	}
	// The same key again: the same payment, nothing opened twice.
	if again := h.do(AgentCommand{Op: AgentStart, IdempotencyKey: "k1", Start: AgentPaymentParams{ChargeAmount: "12.50", Currency: "GBP"}}); again.PaymentID != st.PaymentID {
		t.Fatalf("a repeated create opened %s after %s", again.PaymentID, st.PaymentID)
	}
	if _, err := h.desk.Do(context.Background(), "call-1", AgentCommand{Op: AgentCapture, IdempotencyKey: "k1", PaymentID: st.PaymentID, Field: callplan.FieldCardNumber}); !errors.Is(err, ErrIdempotencyKey) {
		t.Fatalf("a key reused for another request: %v", err)
	}
	id := st.PaymentID
	// Keys before any field is asked for go nowhere.
	h.key("99")
	h.do(AgentCommand{Op: AgentCapture, IdempotencyKey: "k2", PaymentID: id, Field: callplan.FieldCardNumber})
	h.key("424242424242")
	partial := h.waitState(id, func(s AgentPaymentState) bool { return fieldOf(s, callplan.FieldCardNumber).Digits == 12 })
	if !partial.PartialResult || partial.MaskedCard != "************" || partial.CardType != "visa" {
		t.Fatalf("partial state %+v", partial.AgentPayment)
	}
	h.key("4242#") // "#" ends the field: a 16-digit Visa could go on to 19, so without it the field ends only after the gap between keys (5 s)
	full := h.waitState(id, func(s AgentPaymentState) bool { return fieldOf(s, callplan.FieldCardNumber).Complete })
	if f := fieldOf(full, callplan.FieldCardNumber); !f.Valid || f.Check != "luhn" || full.MaskedCard != "************4242" || full.PartialResult {
		t.Fatalf("card number entered: %+v %+v", f, full.AgentPayment)
	}
	// A wrong security code, taken before the expiry, then again.
	h.do(AgentCommand{Op: AgentCapture, IdempotencyKey: "k3", PaymentID: id, Field: callplan.FieldSecurityCode})
	h.key("12#")
	bad := h.waitState(id, func(s AgentPaymentState) bool { return fieldOf(s, callplan.FieldSecurityCode).Complete })
	if f := fieldOf(bad, callplan.FieldSecurityCode); f.Valid || f.ErrorType != callplan.ErrTypeInvalidSecurityCode || bad.ErrorType != f.ErrorType {
		t.Fatalf("a two-key security code: %+v", f)
	}
	if _, err := h.desk.Do(context.Background(), "call-1", AgentCommand{Op: AgentComplete, IdempotencyKey: "k4", PaymentID: id}); !errors.Is(err, ErrPaymentState) || !strings.Contains(err.Error(), "expiration-date, security-code") {
		t.Fatalf("completing with fields missing: %v", err)
	}
	h.do(AgentCommand{Op: AgentCapture, IdempotencyKey: "k5", PaymentID: id, Field: callplan.FieldSecurityCode})
	h.key("123")
	h.waitState(id, func(s AgentPaymentState) bool { return fieldOf(s, callplan.FieldSecurityCode).Valid })
	h.do(AgentCommand{Op: AgentCapture, IdempotencyKey: "k6", PaymentID: id, Field: callplan.FieldExpirationDate})
	h.key("1230")
	exp := h.waitState(id, func(s AgentPaymentState) bool { return fieldOf(s, callplan.FieldExpirationDate).Valid })
	if exp.Expiration != "1230" || exp.SecurityCode != "xxx" || len(exp.Required) != 0 {
		t.Fatalf("all entered: %+v", exp.AgentPayment)
	}
	done := h.do(AgentCommand{Op: AgentComplete, IdempotencyKey: "k7", PaymentID: id})
	if done.Status != AgentDone || done.Result != callplan.PayResultSuccess || done.Confirmation != "PB1234" {
		t.Fatalf("completed %+v", done.AgentPayment)
	}
	if len(h.conn.numbers) != 1 || h.conn.numbers[0] != "4242424242424242" || h.conn.cvvs[0] != "123" {
		t.Fatal("the connector did not get the card keyed")
	}
	if got := h.ch.bridge.captureList(); len(got) < 4 || got[0] != CaptureMasked || got[1] != CaptureSecure || got[len(got)-1] != CaptureOff {
		t.Fatalf("bridge captures %v", got)
	}
	h.ch.bridge.end() // the agent hangs up
	out := h.outcome()
	if out.Variables["After"] != "answered alice 200" || out.Reason != "after-dial" {
		t.Fatalf("after the bridge: %q, ended %s %s", out.Variables["After"], out.Result, out.Reason)
	}
	if _, ok := out.Variables["Pay.Result"]; ok {
		t.Fatal("a payment the plan did not open published Pay.* variables")
	}
	var record *event.PayCompleted
	for _, e := range eventsOf(out, "pay.completed") {
		record = e.Data.(*event.PayCompleted)
	}
	if record == nil || record.Channel != event.ChannelAgent || record.MaskedCard != "************4242" || record.AmountMinor != 1250 {
		t.Fatalf("payment record %+v", record)
	}
	if n := len(eventsOf(out, "dial.attempted")); n != 2 {
		t.Fatalf("%d dial.attempted events, want 2", n)
	}
	h.checkNoLeak()
	if _, ok := h.desk.AgentOf("call-1"); ok {
		t.Fatal("the desk still lists the call after the bridge")
	}
	if _, err := h.desk.Do(context.Background(), "call-1", AgentCommand{Op: AgentCapture, PaymentID: id, Field: callplan.FieldCardNumber}); !errors.Is(err, ErrPaymentState) {
		t.Fatalf("a command after the bridge: %v", err)
	}
}

func TestPlanAgentPaymentEndsWithTheCaller(t *testing.T) {
	src := `<CallPlan name="t"><Match number="+441632960000"/><Connector name="provider" baseUrl="sandbox"/><Flow>
<Dial><Sip>sip:alice@pbx.example</Sip><Pay mode="agent" connector="provider" amount="5.00" currency="GBP" var="AgentPay"/></Dial>
<Hangup/></Flow></CallPlan>`
	h := startLive(t, src, nil)
	h.waitBridged()
	var id string
	deadline := time.Now().Add(10 * time.Second)
	for id == "" {
		if ps := h.desk.Payments("call-1"); len(ps) > 0 {
			id = ps[0].PaymentID
		}
		if time.Now().After(deadline) {
			t.Fatal("the plan's payment was never opened")
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.do(AgentCommand{Op: AgentCapture, IdempotencyKey: "a", PaymentID: id, Field: callplan.FieldCardNumber})
	h.key("5555")
	h.waitState(id, func(s AgentPaymentState) bool { return fieldOf(s, callplan.FieldCardNumber).Digits == 4 })
	h.ch.end() // the caller hangs up mid-number
	out := h.outcome()
	if out.Result != ResultCallerHungUp || out.Variables["AgentPay.Result"] != callplan.PayResultHungUp {
		t.Fatalf("ended %s, AgentPay.Result %q", out.Result, out.Variables["AgentPay.Result"])
	}
	if !h.ch.bridge.hungUp {
		t.Fatal("the agent's leg was not hung up with the caller")
	}
	if len(h.conn.numbers) != 0 {
		t.Fatal("a card was sent")
	}
	h.checkNoLeak()
}

func TestDialNoAnswerGoesOn(t *testing.T) {
	h := startLive(t, dialPlan, map[string]string{"sip:busy@pbx.example": callplan.DialBusy, "sip:alice@pbx.example": callplan.DialNoAnswer})
	out := h.outcome()
	if out.Variables["After"] != "no-answer  486" {
		t.Fatalf("Dial outputs %q", out.Variables["After"])
	}
}

// TestPayOnProviderLine: a capture="provider" connector bridges the caller to the session's
// line, keys the link id towards it, and reads the outcome from the session's status.
func TestPayOnProviderLine(t *testing.T) {
	src := `<CallPlan name="t"><Match number="+441632960000"/><Connector name="vcc" baseUrl="sandbox" capture="provider"/><Flow>
<Pay connector="vcc" amount="9.99" currency="GBP"/><Hangup/></Flow></CallPlan>`
	conn := &providerConnector{completeAfter: 3}
	ch := &dialChannel{testChannel: newTestChannel(NewVirtualClock(testStart)), bridge: newFakeBridge()}
	out, err := Run(context.Background(), mustParse(t, src), ch, RunOptions{Clock: ch.clock,
		Connectors: oneConnector{conn}})
	if err != nil {
		t.Fatal(err)
	}
	if conn.polls < conn.completeAfter {
		t.Fatalf("the session was asked %d times", conn.polls)
	}
	if out.Variables["Pay.Result"] != callplan.PayResultSuccess || out.Variables["Pay.ConfirmationCode"] != "txn-1" ||
		out.Variables["Pay.MaskedCard"] != "************1111" {
		t.Fatalf("Pay variables %v", out.Variables)
	}
	if len(ch.reqs) != 1 || ch.reqs[0].Targets[0].URI != "sip:+441632960999@line.example" || ch.bridge.sent != "12345678" {
		t.Fatalf("dialled %+v, keyed %q", ch.reqs, ch.bridge.sent)
	}
}

type providerConnector struct {
	fakeConnector
	completeAfter int
	polls         int
}

func (p *providerConnector) StartSession(ctx context.Context, req *payment.SessionRequest) (*payment.Session, error) {
	if req.SessionID == "" {
		return &payment.Session{ID: "sess-9", State: "Created", FallbackNumber: "+441632960999",
			FallbackURI: "sip:+441632960999@line.example", LinkID: "12345678"}, nil
	}
	p.polls++
	if p.polls < p.completeAfter {
		return &payment.Session{ID: req.SessionID, State: "InProgress"}, nil
	}
	return &payment.Session{ID: req.SessionID, State: payment.SessionCompleted, TransactionID: "txn-1",
		MaskedCard: "************1111", CardType: "visa"}, nil
}

type oneConnector struct{ c payment.Connector }

func (o oneConnector) Open(*payment.ConnectorSpec) (payment.Connector, error) { return o.c, nil }

// routedDialPlan bridges to an agent; its two connectors make a route.
const routedDialPlan = `<CallPlan name="t"><Match number="+441632960000"/>
<Connector name="primary" type="session" baseUrl="sandbox"/><Connector name="backup" type="generic" baseUrl="sandbox"/>
<Connector name="cards" type="stripe" baseUrl="sandbox" apiKey="#(env:CARDS_KEY:-sk_test_x)"/><Flow>
<Dial timeout="10s"><Sip agent="alice">sip:alice@pbx.example</Sip></Dial>
<Hangup reason="after-dial"/>
</Flow></CallPlan>`

// The Payments API's lifecycle options: an authorisation from a bank account (ach-debit),
// routed past a soft decline, taken field by field (Capture=bank-routing-number,
// bank-account-number); the state, the record and the connector's request agree; a route a
// connector cannot take (stripe, no bank accounts) and unknown values are refused up front.
func TestAgentPaymentAuthorizeBankRouted(t *testing.T) {
	h := startLive(t, routedDialPlan, nil)
	h.waitBridged()
	until := time.Date(2030, 1, 8, 12, 0, 0, 0, time.UTC)
	h.conn.answers = []fakeAnswer{{&payment.Result{Status: payment.Declined, ErrorCode: "processing_error", Retryable: true}, nil},
		{&payment.Result{Status: payment.Approved, ConfirmationCode: "PB77", SessionID: "sess-b", AuthorizedUntil: until}, nil}}
	for _, bad := range []struct {
		prm  AgentPaymentParams
		want string
	}{
		{AgentPaymentParams{Connector: "cards", PaymentMethod: "ach-debit", ChargeAmount: "5", Currency: "USD"}, "bank accounts"},
		{AgentPaymentParams{Connector: "primary cards", PaymentMethod: "ach-debit", ChargeAmount: "5", Currency: "USD"}, "bank accounts"},
		{AgentPaymentParams{Connector: "primary", Method: "capture", ChargeAmount: "5", Currency: "USD"}, "charge or authorize"},
		{AgentPaymentParams{Connector: "primary", PaymentMethod: "cheque", ChargeAmount: "5", Currency: "USD"}, "credit-card or ach-debit"},
		{AgentPaymentParams{Connector: "primary", BankAccountType: "consumer-savings", ChargeAmount: "5", Currency: "USD"}, "ach-debit"},
		{AgentPaymentParams{Connector: "primary", Method: "authorize", Currency: "USD"}, "ChargeAmount"},
		{AgentPaymentParams{Connector: "primary primary", ChargeAmount: "5", Currency: "USD"}, "twice"},
	} {
		if _, err := h.desk.Do(context.Background(), "call-1", AgentCommand{Op: AgentStart, Start: bad.prm}); !errors.Is(err, ErrPaymentRequest) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: %v, want %q", bad.prm, err, bad.want)
		}
	}
	st := h.do(AgentCommand{Op: AgentStart, IdempotencyKey: "b1", Start: AgentPaymentParams{Connector: "primary backup", Method: "authorize",
		PaymentMethod: "ach-debit", BankAccountType: "consumer-savings", ChargeAmount: "42.00", Currency: "USD"}})
	if strings.Join(st.Required, ",") != "bank-routing-number,bank-account-number" || st.Method != "authorize" || st.PaymentMethod != "ach-debit" ||
		st.BankAccountType != "consumer-savings" {
		t.Fatalf("opened %+v", st.AgentPayment)
	}
	id := st.PaymentID
	if _, err := h.desk.Do(context.Background(), "call-1", AgentCommand{Op: AgentCapture, PaymentID: id, Field: callplan.FieldCardNumber}); !errors.Is(err, ErrPaymentRequest) {
		t.Fatalf("a card field on a bank payment: %v", err)
	}
	h.do(AgentCommand{Op: AgentCapture, IdempotencyKey: "b2", PaymentID: id, Field: callplan.FieldBankRoutingNumber})
	h.key("110000001") // fails the ABA check
	bad := h.waitState(id, func(s AgentPaymentState) bool { return fieldOf(s, callplan.FieldBankRoutingNumber).Complete })
	if f := fieldOf(bad, callplan.FieldBankRoutingNumber); f.Valid || f.ErrorType != callplan.ErrTypeInvalidRouting || f.Check != "aba" ||
		bad.BankRoutingNumber != "*********" {
		t.Fatalf("a bad routing number: %+v %q", f, bad.BankRoutingNumber)
	}
	h.do(AgentCommand{Op: AgentCapture, IdempotencyKey: "b3", PaymentID: id, Field: callplan.FieldBankRoutingNumber})
	h.key("110000000")
	h.waitState(id, func(s AgentPaymentState) bool { return fieldOf(s, callplan.FieldBankRoutingNumber).Valid })
	h.do(AgentCommand{Op: AgentCapture, IdempotencyKey: "b4", PaymentID: id, Field: callplan.FieldBankAccountNumber})
	h.key("0001234567")
	partial := h.waitState(id, func(s AgentPaymentState) bool { return fieldOf(s, callplan.FieldBankAccountNumber).Digits == 10 })
	if partial.BankAccountNumber != "**********" || !partial.PartialResult {
		t.Fatalf("an account number in progress shows %q", partial.BankAccountNumber)
	}
	h.key("89#")
	acct := h.waitState(id, func(s AgentPaymentState) bool { return fieldOf(s, callplan.FieldBankAccountNumber).Valid })
	if acct.BankAccountNumber != "********6789" || acct.BankRoutingNumber != "*****0000" || len(acct.Required) != 0 {
		t.Fatalf("entered: %+v", acct.AgentPayment)
	}
	done := h.do(AgentCommand{Op: AgentComplete, IdempotencyKey: "b5", PaymentID: id})
	if done.Status != AgentDone || done.Result != callplan.PayResultSuccess || done.Confirmation != "PB77" || done.Connector != "backup" ||
		!done.AuthorizedUntil.Equal(until) || strings.Join(done.Route, " ") != "primary:soft-decline backup:approved" {
		t.Fatalf("completed %+v", done.AgentPayment)
	}
	if len(h.conn.reqs) != 2 || h.conn.accounts[0] != "110000000/000123456789" || h.conn.accounts[1] != h.conn.accounts[0] ||
		h.conn.reqs[1].Method != payment.MethodAuthorize || h.conn.reqs[1].Bank.Type != "consumer-savings" ||
		h.conn.reqs[0].IdempotencyKey == h.conn.reqs[1].IdempotencyKey || h.conn.reqs[1].Channel != event.ChannelAgent {
		t.Fatalf("the connector's requests %+v", h.conn.reqs)
	}
	for _, m := range h.conn.memory {
		for _, c := range m {
			if c != 0 {
				t.Fatal("a bank account buffer was not wiped")
			}
		}
	}
	h.ch.bridge.end()
	out := h.outcome()
	var record *event.PayCompleted
	for _, e := range eventsOf(out, "pay.completed") {
		record = e.Data.(*event.PayCompleted)
	}
	if record == nil || record.Channel != event.ChannelAgent || record.Method != payment.MethodAuthorize || record.PaymentMethod != "ach-debit" ||
		record.MaskedAccount != "********6789" || record.BankAccountType != "consumer-savings" || !record.AuthorizedUntil.Equal(until) ||
		record.Connector != "backup" || len(record.Routes) != 2 || record.SessionID != "sess-b" {
		t.Fatalf("payment record %+v", record)
	}
	if n := len(eventsOf(out, "pay.routed")); n != 1 {
		t.Fatalf("%d pay.routed events", n)
	}
	h.mu.Lock()
	j, _ := json.Marshal(h.evs)
	h.mu.Unlock()
	for _, text := range []string{string(j), h.logs.String()} {
		if strings.Contains(text, "000123456789") || strings.Contains(text, "110000000") {
			t.Fatal("a bank number leaked into the events or logs")
		}
	}
	if !strings.Contains(string(j), "********6789") {
		t.Fatal("the control: the events do not even hold the account's mask")
	}
}
