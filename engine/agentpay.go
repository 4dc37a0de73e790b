package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// An agent payment: the card taken from the caller's keypad while the caller is bridged to an
// agent, field by field as the agent asks (the Payments API, the console, <Pay mode="agent">).
//
//	open ──Capture=field──▶ capturing ──'#' / full length / the timeout after a key──▶ open
//	  │                        └──Capture=other field (this one is dropped)──▶ capturing
//	  ├──Status=complete (every field valid)──▶ processing ──▶ complete (Result)
//	  └──Status=cancel, the bridge or the call ending──▶ cancelled
//
// While the payment is open the bridge masks the caller's tones and forwards none of their
// keys; while a field is taken the agent hears only fill and a beep per key (media.Bridge).
// The digits go into the same secure buffers as the Pay step's, and leave only in the
// provider request; everything published is masked (event.AgentPayment).

// agentPay is the open (or last) agent payment of a bridged call. Only the run's goroutine
// touches it.
type agentPay struct {
	id       string
	agent    string // who the call is bridged to
	fromPlan bool   // opened by the plan's <Pay mode="agent">: its Pay.* variables are published
	params   AgentPaymentParams
	p        *payCapture
	conn     payment.Connector
	fields   []string // the fields asked for, in capture order
	st       map[string]*agentField
	current  string    // the field being taken
	deadline time.Time // the inter-key timeout of the current field (zero before its first key)
	status   string
	lastErr  string
	out      payOutcome
	created  time.Time
	updated  time.Time
}

type agentField struct {
	complete, valid bool
	errType         string
}

// agentTimeout bounds: between keys of a field.
const (
	defaultAgentTimeout = 5 * time.Second
	minAgentTimeout     = time.Second
	maxAgentTimeout     = 60 * time.Second
)

func newPaymentID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "PK" + hex.EncodeToString(b[:])
}

// buffer is the secure buffer of a field.
func (a *agentPay) buffer(field string) *pan.SecureBuffer { return a.p.buffer(field) }

// state is the payment as the API, the console and the StatusCallback see it: masked.
func (a *agentPay) state(r *run) AgentPaymentState {
	s := AgentPaymentState{CallID: r.callID, StatusCallback: a.params.StatusCallback, Created: a.created, Updated: a.updated}
	ap := &s.AgentPayment
	ap.PaymentID, ap.Agent, ap.Status, ap.Capture = a.id, a.agent, a.status, a.current
	ap.Connector, ap.AmountMinor, ap.Currency = a.p.step.Connector, a.p.amount.Minor, a.p.amount.Currency
	if a.p.connector != "" {
		ap.Connector = a.p.connector // the connector of the route that took it (or was last tried)
	}
	ap.Method, ap.PaymentMethod = a.p.method, a.p.step.PaymentMethod
	if ap.Method == "" && a.p.amount.Minor > 0 {
		ap.Method = payment.MethodCharge
	}
	if a.p.step.IsBank() {
		ap.BankAccountType = a.p.step.BankAccountType
	}
	for _, rt := range a.p.routes {
		ap.Route = append(ap.Route, rt.Connector+":"+rt.Outcome)
	}
	ap.PartialResult = a.current != ""
	ap.ErrorType = a.lastErr
	ap.Fields, ap.Required = []event.AgentField{}, []string{}
	for _, f := range a.fields {
		st, buf := a.st[f], a.buffer(f)
		n := buf.Len()
		ap.Fields = append(ap.Fields, event.AgentField{Name: f, Digits: n, Complete: st.complete, Valid: st.valid,
			Check: fieldCheck(f), ErrorType: st.errType})
		if !st.valid {
			ap.Required = append(ap.Required, f)
		}
		switch f {
		case callplan.FieldCardNumber:
			switch {
			case st.valid && a.p.masked != "":
				ap.MaskedCard = a.p.masked
			case n > 0:
				ap.MaskedCard = strings.Repeat("*", n) // never a last four of an entry in progress
			}
			ap.CardType = a.p.brand
			if ap.CardType == "" && n > 0 {
				buf.Use(func(d []byte) { ap.CardType = pan.DetectBrand(d) })
			}
		case callplan.FieldSecurityCode:
			if n > 0 {
				ap.SecurityCode = strings.Repeat("x", n)
			}
		case callplan.FieldExpirationDate:
			if st.valid && a.p.expMonth > 0 {
				ap.Expiration = fmt.Sprintf("%02d%02d", a.p.expMonth, a.p.expYear%100)
			}
		case callplan.FieldBankRoutingNumber:
			ap.BankRoutingNumber = bankMask(st.valid, a.p.maskedRouting, n)
		case callplan.FieldBankAccountNumber:
			ap.BankAccountNumber = bankMask(st.valid, a.p.maskedAccount, n)
		}
	}
	if a.status == AgentDone && a.out.result == callplan.PayResultSuccess {
		ap.AuthorizedUntil = a.out.authorizedUntil
	}
	if a.status == AgentDone || a.status == AgentCancelled {
		ap.Result, ap.Confirmation, ap.Token, ap.ErrorCode = a.out.result, a.out.confirmation, a.out.token, a.out.errorCode
	}
	return s
}

// bankMask is a bank number as the desk sees it: its mask (last four) once valid, one star
// per key while it is keyed — never the last four of an entry in progress.
func bankMask(valid bool, mask string, keys int) string {
	switch {
	case valid && mask != "":
		return mask
	case keys > 0:
		return strings.Repeat("*", keys)
	}
	return ""
}

func fieldCheck(f string) string {
	switch f {
	case callplan.FieldCardNumber:
		return "luhn"
	case callplan.FieldExpirationDate:
		return "expiry"
	case callplan.FieldSecurityCode:
		return "length"
	case callplan.FieldBankRoutingNumber:
		return "aba"
	case callplan.FieldBankAccountNumber:
		return "account"
	}
	return "postal"
}

// agentChanged publishes the payment's new state: an event (feed, timeline) and the desk
// (StatusCallback).
func (r *run) agentChanged(a *agentPay) AgentPaymentState {
	a.updated = r.clock.Now()
	s := a.state(r)
	ev := s.AgentPayment
	r.emit("Pay", &ev)
	if r.opts.Desk != nil {
		r.opts.Desk.update(s)
	}
	return s
}

// serveDesk carries out one agent command and answers it.
func (r *run) serveDesk(ctx context.Context, br Bridge, agent string, req *deskRequest) {
	st, err := r.agentCommand(ctx, br, agent, req.cmd)
	req.reply <- deskReply{state: st, err: err}
}

func (r *run) agentCommand(ctx context.Context, br Bridge, agent string, cmd AgentCommand) (AgentPaymentState, error) {
	a := r.agent
	if cmd.Op == AgentStart {
		if a != nil && a.status != AgentDone && a.status != AgentCancelled {
			return a.state(r), fmt.Errorf("%w: payment %s is still open on this call (complete or cancel it first)", ErrPaymentState, a.id)
		}
		return r.agentStart(ctx, br, agent, cmd.Start, nil)
	}
	if a == nil || a.id != cmd.PaymentID {
		return AgentPaymentState{}, ErrNoPayment
	}
	switch cmd.Op {
	case AgentCapture:
		return r.agentCapture(br, a, cmd.Field)
	case AgentComplete:
		return r.agentComplete(ctx, br, a)
	case AgentCancel:
		if a.status == AgentDone || a.status == AgentCancelled {
			return a.state(r), fmt.Errorf("%w: payment %s is already %s", ErrPaymentState, a.id, a.status)
		}
		r.agentEnd(br, a, callplan.PayResultAgentCancelled)
		return a.state(r), nil
	}
	return AgentPaymentState{}, fmt.Errorf("%w: unknown operation %q", ErrPaymentRequest, cmd.Op)
}

// agentStart opens a payment: from the API's parameters, or from the plan's <Pay mode="agent">
// (plan != nil).
func (r *run) agentStart(ctx context.Context, br Bridge, agent string, prm AgentPaymentParams, plan *callplan.PayStep) (AgentPaymentState, error) {
	step := plan
	if step == nil {
		var err error
		if step, err = r.agentStep(prm); err != nil {
			return AgentPaymentState{}, err
		}
	}
	a := &agentPay{id: newPaymentID(), agent: agent, fromPlan: plan != nil, params: prm, st: map[string]*agentField{},
		status: AgentOpen, created: r.clock.Now()}
	a.p = &payCapture{step: step, channel: event.ChannelAgent, reference: r.expand(step.Reference), description: prm.Description}
	if plan != nil {
		a.p.description = r.expand(step.Description)
	} else {
		a.p.reference = prm.Reference
	}
	// The step's fields: the card's, or a bank account's (routing and account number).
	a.fields = step.Fields()
	for _, f := range a.fields {
		a.st[f] = &agentField{}
	}
	a.p.allocate(a.fields)
	conn, _, fail := r.preparePay(ctx, step, a.p)
	if fail != nil {
		// Nothing was keyed: the payment is over before it began; the record says why.
		a.out, a.status = *fail, AgentCancelled
		r.agent = a
		r.publishPay(a.publishPrefix(), a.p, a.out)
		s := r.agentChanged(a)
		return s, fmt.Errorf("%w: %s", ErrPaymentRequest, fail.connectorError)
	}
	a.conn = conn
	r.agent = a
	a.params.PauseRecording = prm.PauseRecording
	br.SetCapture(CaptureMasked, a.params.PauseRecording)
	r.log.Info("agent payment opened", "payment", a.id, "agent", agent, "connector", step.Connector)
	return r.agentChanged(a), nil
}

func (a *agentPay) publishPrefix() string {
	if a.fromPlan {
		return a.p.step.Var
	}
	return ""
}

// agentStep turns the API's parameters into the Pay step the capture follows, checking each.
func (r *run) agentStep(prm AgentPaymentParams) (*callplan.PayStep, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrPaymentRequest}, args...)...)
	}
	route := strings.Fields(prm.Connector)
	if len(route) == 0 {
		if len(r.plan.Connectors) != 1 {
			return nil, bad("PaymentConnector is required: the call's plan declares %d connectors", len(r.plan.Connectors))
		}
		route = []string{r.plan.Connectors[0].Spec.Name}
	}
	name := route[0]
	method := strings.TrimSpace(prm.Method)
	switch method {
	case "", payment.MethodCharge, payment.MethodAuthorize:
	default:
		return nil, bad("Method %q: charge or authorize", method)
	}
	pm := strings.TrimSpace(prm.PaymentMethod)
	switch pm {
	case "", payment.PaymentMethodCard, payment.PaymentMethodACH:
	default:
		return nil, bad("PaymentMethod %q: credit-card or ach-debit", pm)
	}
	bankType := strings.TrimSpace(prm.BankAccountType)
	switch {
	case bankType != "" && pm != payment.PaymentMethodACH:
		return nil, bad("BankAccountType is for PaymentMethod=ach-debit")
	case bankType == "" && pm == payment.PaymentMethodACH:
		bankType = payment.BankConsumerChecking
	case bankType != "" && !slices.Contains(payment.BankAccountTypes, bankType):
		return nil, bad("BankAccountType %q: %s", bankType, strings.Join(payment.BankAccountTypes, ", "))
	}
	seen := map[string]bool{}
	for _, n := range route {
		decl := r.plan.Connector(n)
		switch {
		case decl == nil:
			return nil, bad("PaymentConnector %q is not a connector of the call's plan", n)
		case decl.Spec.CapturesOnProviderLine():
			return nil, bad("PaymentConnector %q takes cards on the provider's own line (capture=\"provider\"), not from an agent's call", n)
		case seen[n]:
			return nil, bad("PaymentConnector %q is twice in the route", n)
		}
		seen[n] = true
		// What validate refuses in a plan, the API refuses here: a stripe connector takes no
		// bank account.
		if err := payment.CheckPayMethod(decl.Spec.Type, method, pm); err != nil {
			return nil, bad("PaymentConnector %q: %v", n, err)
		}
	}
	if _, err := payAmount(prm.ChargeAmount, prm.Currency); err != nil {
		return nil, bad("ChargeAmount/Currency: %v", err)
	}
	if strings.ContainsAny(prm.ChargeAmount+prm.Currency, "$#(") {
		return nil, bad("ChargeAmount and Currency are literal values")
	}
	if method == payment.MethodAuthorize && (prm.ChargeAmount == "" || strings.Trim(prm.ChargeAmount, "0.") == "") {
		return nil, bad("Method=authorize holds an amount: give ChargeAmount")
	}
	step := &callplan.PayStep{Connector: name, Route: route, Method: method, PaymentMethod: pm, BankAccountType: bankType,
		Amount: prm.ChargeAmount, Currency: strings.ToUpper(prm.Currency),
		SecurityCode: true, PostalCode: "false", MinPostalCodeLength: pan.MinPostalCodeLength, MaxAttempts: 1,
		Timeout: defaultAgentTimeout, TokenType: "reusable", Mode: callplan.PayModeAgent,
		ValidCardTypes: []string{pan.BrandVisa, pan.BrandMastercard, pan.BrandAmex}}
	if prm.SecurityCode != nil {
		step.SecurityCode = *prm.SecurityCode
	}
	if prm.PostalCode {
		step.PostalCode = "true"
	}
	if prm.Timeout != 0 {
		if prm.Timeout < minAgentTimeout || prm.Timeout > maxAgentTimeout {
			return nil, bad("Timeout %v: between %v and %v", prm.Timeout, minAgentTimeout, maxAgentTimeout)
		}
		step.Timeout = prm.Timeout
	}
	switch prm.TokenType {
	case "":
	case "one-time", "reusable":
		step.TokenType = prm.TokenType
	default:
		return nil, bad("TokenType %q: one-time or reusable", prm.TokenType)
	}
	if len(prm.ValidCardTypes) > 0 {
		for _, t := range prm.ValidCardTypes {
			if !pan.KnownBrand(t) {
				return nil, bad("ValidCardTypes: unknown card type %q (known: %s)", t, strings.Join(pan.Brands(), " "))
			}
		}
		step.ValidCardTypes = slices.Clone(prm.ValidCardTypes)
	}
	return step, nil
}

// agentCapture starts taking field; a field being taken is dropped.
func (r *run) agentCapture(br Bridge, a *agentPay, field string) (AgentPaymentState, error) {
	if a.status != AgentOpen && a.status != AgentCapturing {
		return a.state(r), fmt.Errorf("%w: payment %s is %s", ErrPaymentState, a.id, a.status)
	}
	if _, ok := a.st[field]; !ok {
		return a.state(r), fmt.Errorf("%w: Capture %q: this payment takes %s", ErrPaymentRequest, field, strings.Join(a.fields, ", "))
	}
	if a.current != "" && a.current != field {
		a.buffer(a.current).Wipe()
		*a.st[a.current] = agentField{}
	}
	a.buffer(field).Wipe()
	*a.st[field] = agentField{}
	switch field {
	case callplan.FieldCardNumber:
		a.p.brand, a.p.masked = "", ""
	case callplan.FieldBankRoutingNumber:
		a.p.maskedRouting = ""
	case callplan.FieldBankAccountNumber:
		a.p.maskedAccount = ""
	}
	a.current, a.deadline, a.status, a.lastErr = field, time.Time{}, AgentCapturing, ""
	br.SetCapture(CaptureSecure, a.params.PauseRecording)
	r.ch.Secure(true)
	r.emit("Pay", &event.PayProgress{Phase: "ask", For: field, Attempt: 1})
	return r.agentChanged(a), nil
}

// agentKey takes one of the caller's keys into the field being taken (keys outside a field
// are dropped: they never reach the agent either).
func (r *run) agentKey(br Bridge, a *agentPay, d dtmf.Digit) {
	if a == nil || a.current == "" {
		return
	}
	buf := a.buffer(a.current)
	switch {
	case d == '*': // start the field again
		buf.Wipe()
		a.deadline = time.Time{}
		r.agentChanged(a)
		return
	case d == '#':
		if buf.Len() > 0 {
			r.agentFieldEnd(br, a, false)
		}
		return
	case !d.IsNumeric():
		return
	}
	full := buf.Append(d.Char()) != nil
	a.deadline = r.clock.Now().Add(a.p.step.Timeout)
	r.emit("Pay", &event.PayProgress{Phase: "key", For: a.current, Attempt: 1, Digits: buf.Len()})
	if full || buf.Len() >= agentFieldMax(a, a.current, buf) {
		r.agentFieldEnd(br, a, false)
		return
	}
	r.agentChanged(a)
}

// agentFieldMax is the length at which a field completes itself. A security code taken before
// the card number may be 3 or 4 keys long: it ends with '#' or the timeout then.
func agentFieldMax(a *agentPay, field string, buf *pan.SecureBuffer) int {
	if field == callplan.FieldSecurityCode && a.p.brand == "" {
		return 4
	}
	return fieldMax(a.p, field, buf)
}

// agentFieldEnd ends the field being taken and validates it.
func (r *run) agentFieldEnd(br Bridge, a *agentPay, timedOut bool) {
	field, buf := a.current, a.buffer(a.current)
	st := a.st[field]
	errType := ""
	switch {
	case timedOut && buf.Len() == 0:
		errType = callplan.ErrTypeInputTimeout
	case field == callplan.FieldSecurityCode && a.p.brand == "":
		if n := buf.Len(); n != 3 && n != 4 {
			errType = callplan.ErrTypeInvalidSecurityCode
		}
	default:
		errType = r.validateField(a.p, field, buf)
	}
	*st = agentField{complete: true, valid: errType == "", errType: errType}
	a.lastErr = errType
	a.current, a.deadline, a.status = "", time.Time{}, AgentOpen
	br.SetCapture(CaptureMasked, a.params.PauseRecording)
	r.ch.Secure(false)
	r.emit("Pay", &event.PayProgress{Phase: "entered", For: field, Attempt: 1, ErrorType: errType, Digits: buf.Len()})
	if errType != "" {
		a.p.entries++
		a.p.lastErr = errType
	} else {
		a.p.entries++
	}
	r.agentChanged(a)
}

// agentComplete sends the card once every field is valid.
func (r *run) agentComplete(ctx context.Context, br Bridge, a *agentPay) (AgentPaymentState, error) {
	if a.status == AgentCapturing {
		return a.state(r), fmt.Errorf("%w: %s is still being taken", ErrPaymentState, a.current)
	}
	if a.status != AgentOpen {
		return a.state(r), fmt.Errorf("%w: payment %s is %s", ErrPaymentState, a.id, a.status)
	}
	// A security code taken before the number is checked again against the brand.
	if st := a.st[callplan.FieldSecurityCode]; st != nil && st.valid {
		if errType := r.validateField(a.p, callplan.FieldSecurityCode, a.p.cvv); errType != "" {
			*st = agentField{complete: true, errType: errType}
		}
	}
	var missing []string
	for _, f := range a.fields {
		if !a.st[f].valid {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return r.agentChanged(a), fmt.Errorf("%w: still required: %s", ErrPaymentState, strings.Join(missing, ", "))
	}
	a.status = AgentProcessing
	r.agentChanged(a)
	a.out = r.submitCard(ctx, a.conn, a.p)
	a.status = AgentDone
	r.publishPay(a.publishPrefix(), a.p, a.out)
	br.SetCapture(CaptureOff, false)
	r.log.Info("agent payment completed", "payment", a.id, "result", a.out.result)
	return r.agentChanged(a), nil
}

// agentEnd ends an open payment without paying (cancel, the bridge or the call ending).
func (r *run) agentEnd(br Bridge, a *agentPay, result string) {
	if a == nil || a.status == AgentDone || a.status == AgentCancelled {
		return
	}
	if a.current != "" {
		r.ch.Secure(false)
	}
	a.p.wipe()
	a.current, a.status = "", AgentCancelled
	a.out = payOutcome{result: result, errorType: a.lastErr}
	r.publishPay(a.publishPrefix(), a.p, a.out)
	if br != nil {
		br.SetCapture(CaptureOff, false)
	}
	r.agentChanged(a)
}
