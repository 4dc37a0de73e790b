package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// maxConnectorWait bounds one connector call when the connector sets no timeout of its own.
const maxConnectorWait = 60 * time.Second

// newPayBuffer is where the Pay step gets its secure buffers; tests replace it to check that
// every buffer is wiped on every exit path.
var newPayBuffer = func() *pan.SecureBuffer { return new(pan.SecureBuffer) }

// payCapture is the state of one Pay step: the buffers holding the card, and what has been
// learnt so far that may be published.
type payCapture struct {
	step                         *callplan.PayStep
	number                       *pan.SecureBuffer
	expiry                       *pan.SecureBuffer
	cvv                          *pan.SecureBuffer
	postal                       *pan.SecureBuffer
	routing                      *pan.SecureBuffer // ach-debit
	account                      *pan.SecureBuffer // ach-debit
	confirm                      *pan.SecureBuffer // the second entry of a field keyed twice (requireMatchingInputs)
	brand                        string
	masked                       string
	maskedAccount, maskedRouting string
	expMonth                     int
	expYear                      int
	entries                      int    // entries made over all fields
	lastErr                      string // error type of the last failed entry
	skipHash                     bool   // the previous field completed itself: a '#' right after it is a habit, not input
	sessionID                    string // the provider session the capture completes
	field                        string // the field being asked for
	attempt                      int    // its attempt

	// What the payment record needs whatever the result (see event.Payment).
	amount      payment.Amount
	reference   string
	attemptKey  string // the idempotency key, once the connector was called
	channel     string // event.ChannelVoice (default) or event.ChannelAgent
	description string // sent with the payment
	method      string // charge | authorize | tokenize
	invoice     *payment.Invoice
	routes      []payment.Route     // the connectors the payment was offered to, in order
	connector   string              // the connector the route ended at
	route       []string            // the route's connector names (the step's)
	conns       []payment.Connector // and the connectors, opened before the first key
}

func (p *payCapture) channelName() string {
	if p.channel == "" {
		return event.ChannelVoice
	}
	return p.channel
}

// wipe zeroes every buffer; it runs on every exit path of the step.
func (p *payCapture) wipe() {
	for _, b := range []*pan.SecureBuffer{p.number, p.expiry, p.cvv, p.postal, p.routing, p.account, p.confirm} {
		b.Wipe()
	}
}

// slot is where the buffer of a field lives (nil for a name that is no field).
func (p *payCapture) slot(field string) **pan.SecureBuffer {
	switch field {
	case callplan.FieldCardNumber:
		return &p.number
	case callplan.FieldExpirationDate:
		return &p.expiry
	case callplan.FieldSecurityCode:
		return &p.cvv
	case callplan.FieldPostalCode:
		return &p.postal
	case callplan.FieldBankRoutingNumber:
		return &p.routing
	case callplan.FieldBankAccountNumber:
		return &p.account
	}
	return nil
}

// buffer is the buffer of a field.
func (p *payCapture) buffer(field string) *pan.SecureBuffer {
	if s := p.slot(field); s != nil {
		return *s
	}
	return nil
}

// allocate gives each of fields a fresh secure buffer.
func (p *payCapture) allocate(fields []string) {
	for _, f := range fields {
		if s := p.slot(f); s != nil {
			*s = newPayBuffer()
		}
	}
}

// payOutcome is what a Pay step publishes.
type payOutcome struct {
	result, errorType, connectorError string
	token, confirmation, sessionID    string
	errorCode                         string    // the provider's decline code
	authorizedUntil                   time.Time // an authorisation's expiry
}

// stepPay runs the secure capture state machine (see docs/pay.md):
//
//	for each field (number, expiry, security code if asked, postal code if asked):
//	    up to maxAttempts times: play the most specific prompt (barge-in), collect keys into a
//	    secure buffer until '#', the field's full length or the inter-digit timeout; '*'
//	    abandons; validate; on error wipe the buffer and ask again with the error's prompt
//	then pay through the connector and wipe everything.
//
// The secure window is on from the first prompt until the connector has answered.
func (r *run) stepPay(ctx context.Context, s *callplan.PayStep) error {
	prefix := s.Var
	for _, o := range s.Outputs() {
		r.set(prefix+"."+o, "")
	}
	p := &payCapture{step: s, reference: r.expand(s.Reference), description: r.expand(s.Description), confirm: newPayBuffer()}
	p.allocate(s.Fields())
	defer p.wipe()
	defer r.dropTypeAhead() // keys typed after the last field are card data too

	out, err := r.pay(ctx, s, p)
	p.wipe()
	r.publishPay(prefix, p, out)
	return err
}

func (r *run) pay(ctx context.Context, s *callplan.PayStep, p *payCapture) (payOutcome, error) {
	conn, sess, fail := r.preparePay(ctx, s, p)
	if fail != nil {
		return *fail, nil
	}
	if r.plan.Connector(s.Connector).Spec.CapturesOnProviderLine() {
		return r.payOnProviderLine(ctx, s, p, conn, sess)
	}

	r.ch.Secure(true)
	defer r.ch.Secure(false)

	for _, f := range s.Fields() {
		res, err := r.captureField(ctx, p, f, p.buffer(f))
		if res != "" || err != nil {
			return payOutcome{result: res, errorType: p.lastErr}, err
		}
	}

	_, _ = r.play(ctx, []string{callplan.PromptPayProcessing}, false)
	return r.submitCard(ctx, conn, p), nil
}

// preparePay does what comes before the first key of a payment: the amount, the connector,
// and the provider session the capture belongs to. A non-nil payOutcome is the Pay result of
// a failure (nothing was keyed). sess is the session when the connector started or looked
// it up (nil when the plan named one and the connector was not asked).
func (r *run) preparePay(ctx context.Context, s *callplan.PayStep, p *payCapture) (payment.Connector, *payment.Session, *payOutcome) {
	amount, err := payAmount(r.expand(s.Amount), r.expand(s.Currency))
	if err != nil {
		r.log.Warn("Pay: bad amount", "pos", s.Pos.String(), "err", err)
		return nil, nil, &payOutcome{result: callplan.PayResultValidationError, connectorError: err.Error()}
	}
	p.amount = amount
	p.method = s.Method
	if amount.Minor == 0 {
		p.method = payment.MethodTokenize
	}
	if p.invoice, err = r.invoice(s.Invoice, amount.Currency); err != nil {
		r.log.Warn("Pay: bad invoice", "pos", s.Pos.String(), "err", err)
		return nil, nil, &payOutcome{result: callplan.PayResultValidationError, connectorError: err.Error()}
	}
	p.route = s.Route
	if len(p.route) == 0 {
		p.route = []string{s.Connector}
	}
	p.connector = p.route[0]
	// Every connector of the route opens before the caller types a card it could not be sent
	// to.
	p.conns = make([]payment.Connector, len(p.route))
	for i, name := range p.route {
		if p.conns[i], err = r.connector(name); err != nil {
			r.log.Warn("Pay: connector", "pos", s.Pos.String(), "err", err)
			return nil, nil, &payOutcome{result: callplan.PayResultConnectorError, connectorError: err.Error()}
		}
	}
	conn := p.conns[0]

	// Every capture belongs to a provider session: the one the plan started (session="…") or
	// one started now, so that a payment link sent after a failed capture completes the same
	// session (publish Pay.SessionId even when the capture fails). A capture on the
	// provider's own line needs the session's line and link id: a session the plan started is
	// looked up.
	var sess *payment.Session
	p.sessionID = r.expand(s.Session)
	lookup := p.sessionID != "" && r.plan.Connector(s.Connector).Spec.CapturesOnProviderLine()
	if p.sessionID == "" || lookup {
		sctx, cancel := context.WithTimeout(ctx, maxConnectorWait)
		sess, err = conn.StartSession(sctx, &payment.SessionRequest{CallID: r.callID, SessionID: p.sessionID, Amount: amount, Reference: p.reference,
			Invoice: p.invoice})
		cancel()
		if err != nil {
			r.log.Warn("Pay: start session", "pos", s.Pos.String(), "err", err)
			return nil, nil, &payOutcome{result: callplan.PayResultConnectorError, connectorError: pan.Redact(err.Error())}
		}
		if sess != nil && sess.ID != "" {
			p.sessionID = sess.ID
		}
	}
	r.rememberSession(s.Connector, p.sessionID, amount, p.reference, r.linkTerms(s, p), p.invoice)
	return conn, sess, nil
}

// submitCard sends the captured card to the connector and wipes it, whatever happens.
func (r *run) submitCard(ctx context.Context, conn payment.Connector, p *payCapture) payOutcome {
	s := p.step
	postal := ""
	switch {
	case p.postal != nil:
		p.postal.Use(func(d []byte) { postal = string(d) }) // a postal code is not card data
	case s.PostalCodeValue() != "":
		postal = r.expand(s.PostalCodeValue())
	}
	req := &payment.Request{
		CallID:        r.callID,
		Channel:       p.channelName(),
		SessionID:     p.sessionID,
		Amount:        p.amount,
		Method:        p.method,
		Reference:     p.reference,
		Description:   p.description,
		TokenType:     s.TokenType,
		PaymentMethod: s.PaymentMethod,
		Invoice:       p.invoice,
	}
	if s.IsBank() {
		req.Bank = &payment.BankAccount{RoutingNumber: p.routing, AccountNumber: p.account, Type: s.BankAccountType}
	} else {
		req.Card = payment.Card{Number: p.number, SecurityCode: p.cvv, ExpMonth: p.expMonth, ExpYear: p.expYear,
			PostalCode: postal, Brand: p.brand}
	}
	route, conns := p.route, p.conns
	if len(conns) == 0 { // a connector handed in directly (one, no route)
		route, conns = []string{s.Connector}, []payment.Connector{conn}
	}
	res, err := r.route(ctx, p, route, conns, req)
	p.wipe() // the connectors have sent (or failed to send) the card: it is gone now
	switch {
	case err != nil:
		return payOutcome{result: callplan.PayResultConnectorError, errorType: p.lastErr, connectorError: pan.Redact(err.Error())}
	case res == nil:
		return payOutcome{result: callplan.PayResultInternalError, errorType: p.lastErr, connectorError: "connector returned no result"}
	case res.Status == payment.Approved:
		return payOutcome{result: callplan.PayResultSuccess, token: res.Token, confirmation: res.ConfirmationCode, sessionID: res.SessionID,
			authorizedUntil: res.AuthorizedUntil}
	}
	code := res.ErrorCode
	if code == "" {
		code = string(res.Status)
	}
	return payOutcome{result: callplan.PayResultConnectorError, errorType: p.lastErr, connectorError: pan.Redact(code),
		errorCode: pan.Redact(res.ErrorCode), sessionID: res.SessionID}
}

// route offers the payment to each connector of the route in turn, each with an idempotency
// key of its own and the same secure buffers (the caller keys the card once): it goes on only
// when the connector provably did not take it — never after a hard decline, never after an
// answer that may have charged (payment.FailOver; the connector settles an unknown outcome
// before it answers, as Request.Settle asks). Each step is recorded on p.routes and each
// failover emitted as pay.routed. It returns the last connector's answer.
func (r *run) route(ctx context.Context, p *payCapture, names []string, conns []payment.Connector, req *payment.Request) (*payment.Result, error) {
	var res *payment.Result
	var err error
	for i, conn := range conns {
		try := *req // the buffer pointers, not the digits
		try.IdempotencyKey = r.newIdempotencyKey()
		try.Settle = i < len(conns)-1
		if i > 0 {
			// Another provider: its own session, started by its connector when it has them.
			try.SessionID = ""
		}
		p.attemptKey, p.connector = try.IdempotencyKey, names[i]
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxConnectorWait)
		res, err = conn.Pay(cctx, &try)
		cancel()
		ok, reason := payment.FailOver(res, err)
		step := payment.Route{Connector: names[i], ConnectorKey: r.connectorKeys[names[i]], AttemptKey: try.IdempotencyKey, Outcome: reason}
		switch {
		case res != nil && res.ErrorCode != "":
			step.ErrorCode = pan.Redact(res.ErrorCode)
		case err != nil:
			step.ErrorCode = pan.Redact(connectorErrorName(err))
		}
		p.routes = append(p.routes, step)
		if !ok || i == len(conns)-1 {
			break
		}
		r.log.Info("Pay: the payment goes on to the next connector", "from", names[i], "to", names[i+1], "reason", reason)
		r.emit("Pay", &event.PayRouted{From: names[i], To: names[i+1], Reason: reason, AttemptKey: try.IdempotencyKey, ErrorCode: step.ErrorCode})
	}
	return res, err
}

// connectorErrorName is a short name for a connector error in a route (the first words of its
// text: the engine does not know the gateway's sentinels).
func connectorErrorName(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, " ("); i > 0 {
		msg = msg[:i]
	}
	if len(msg) > 80 {
		msg = msg[:80]
	}
	return msg
}

// invoice expands a plan's <Invoice> for a payment in currency.
func (r *run) invoice(d *callplan.InvoiceDecl, currency string) (*payment.Invoice, error) {
	if d == nil {
		return nil, nil
	}
	inv := &payment.Invoice{ID: r.expand(d.ID), Description: r.expand(d.Description)}
	for _, l := range d.Lines {
		a, err := payment.ParseAmount(r.expand(l.Amount), currency)
		if err != nil {
			return nil, fmt.Errorf("invoice line %q: %w", r.expand(l.Description), err)
		}
		inv.Lines = append(inv.Lines, payment.InvoiceLine{Description: r.expand(l.Description), Quantity: l.Quantity, AmountMinor: a.Minor})
	}
	for _, m := range d.Metadata {
		if inv.Metadata == nil {
			inv.Metadata = map[string]string{}
		}
		inv.Metadata[m.Name] = r.expand(m.Value)
	}
	return inv, nil
}

// captureField asks for one field until it is valid or its attempts run out. It returns a
// Pay result ("" = the field is valid and the next one comes) or the end of the call.
func (r *run) captureField(ctx context.Context, p *payCapture, field string, buf *pan.SecureBuffer) (string, error) {
	s := p.step
	attempts := max(s.MaxAttempts, 1)
	errType := ""
	for attempt := 1; attempt <= attempts; attempt++ {
		buf.Wipe()
		names := s.PromptFor(field, errType, p.brand, attempt)
		p.field, p.attempt = field, attempt
		r.emit("Pay", &event.PayProgress{Phase: "ask", For: field, Attempt: attempt, ErrorType: errType})
		if _, err := r.playItems(ctx, r.items(names), true); err != nil {
			return r.payEnded(err), err
		}
		p.entries++
		star, timedOut, err := r.collect(ctx, p, field, buf)
		if err != nil {
			return r.payEnded(err), err
		}
		if star {
			r.emit("Pay", &event.PayProgress{Phase: "entered", For: field, Attempt: attempt, Digits: buf.Len(), Interrupted: true})
			return callplan.PayResultInterruptedStar, nil
		}
		errType = ""
		switch {
		case timedOut && buf.Len() == 0:
			errType = callplan.ErrTypeInputTimeout
		default:
			errType = r.validateField(p, field, buf)
		}
		r.emit("Pay", &event.PayProgress{Phase: "entered", For: field, Attempt: attempt, ErrorType: errType, Digits: buf.Len()})
		if errType == "" && s.RequiresMatching(field) {
			res, mismatch, err := r.confirmField(ctx, p, field, buf, attempt)
			if res != "" || err != nil {
				return res, err
			}
			errType = mismatch
		}
		if errType == "" {
			return "", nil
		}
		p.lastErr = errType
	}
	buf.Wipe()
	return callplan.PayResultTooManyFailed, nil
}

// confirmField asks for a field a second time (requireMatchingInputs) and compares the two
// entries in constant time; a mismatch (or no second entry) wipes both and is the error
// input-matching-failed, after which the field is asked for from the start. It returns a Pay
// result when the call or the payment ended meanwhile.
func (r *run) confirmField(ctx context.Context, p *payCapture, field string, buf *pan.SecureBuffer, attempt int) (result, errType string, err error) {
	p.confirm.Wipe()
	defer p.confirm.Wipe()
	r.emit("Pay", &event.PayProgress{Phase: "confirm", For: field, Attempt: attempt})
	if _, err := r.playItems(ctx, r.items(p.step.ConfirmPromptFor(field, attempt)), true); err != nil {
		return r.payEnded(err), "", err
	}
	p.entries++
	star, _, err := r.collect(ctx, p, field, p.confirm)
	if err != nil {
		return r.payEnded(err), "", err
	}
	if star {
		r.emit("Pay", &event.PayProgress{Phase: "entered", For: field, Attempt: attempt, Digits: p.confirm.Len(), Interrupted: true})
		return callplan.PayResultInterruptedStar, "", nil
	}
	if !buf.Equal(p.confirm) {
		buf.Wipe()
		r.emit("Pay", &event.PayProgress{Phase: "entered", For: field, Attempt: attempt, ErrorType: callplan.ErrTypeInputMismatch, Digits: p.confirm.Len()})
		return "", callplan.ErrTypeInputMismatch, nil
	}
	r.emit("Pay", &event.PayProgress{Phase: "entered", For: field, Attempt: attempt, Digits: p.confirm.Len()})
	return "", "", nil
}

// payEnded maps the end of the call during capture to its Pay result.
func (r *run) payEnded(err error) string {
	var e *endSignal
	if errors.As(err, &e) && e.result == ResultCallerHungUp {
		return callplan.PayResultHungUp
	}
	return callplan.PayResultInternalError
}

// fieldMax is the length at which a field completes itself without '#'.
func fieldMax(p *payCapture, field string, buf *pan.SecureBuffer) int {
	switch field {
	case callplan.FieldCardNumber:
		n := 19
		buf.Use(func(d []byte) {
			if m := pan.MaxNumberLength(d); m > 0 {
				n = m
			}
		})
		return n
	case callplan.FieldExpirationDate:
		return 4
	case callplan.FieldSecurityCode:
		return pan.SecurityCodeLength(p.brand)
	case callplan.FieldBankRoutingNumber:
		return 9
	case callplan.FieldBankAccountNumber:
		return pan.MaxAccountDigits
	}
	return pan.MaxPostalCodeLength
}

// collect reads keys into buf until '#', the field's full length or the inter-digit
// timeout. '*' abandons. Keys A–D are ignored.
func (r *run) collect(ctx context.Context, p *payCapture, field string, buf *pan.SecureBuffer) (star, timedOut bool, err error) {
	timeout := p.step.Timeout
	for {
		d, ok, err := r.nextKey(ctx, timeout)
		if err != nil {
			return false, false, err
		}
		if !ok {
			return false, true, nil
		}
		switch {
		case d == '*':
			return true, false, nil
		case d == '#':
			return false, false, nil
		case d.IsNumeric():
			if err := buf.Append(d.Char()); err != nil {
				return false, false, nil // full: validation will refuse it
			}
			// A live view (console, agent screen) can show "7 digits entered"; the count is
			// all it ever gets.
			r.emit("Pay", &event.PayProgress{Phase: "key", For: field, Attempt: p.attempt, Digits: buf.Len()})
			if buf.Len() >= fieldMax(p, field, buf) {
				r.expectHabit('#', timeout) // the field completed itself: a '#' now is habit
				return false, false, nil
			}
		}
	}
}

// validateField checks a completed entry against pan's card rules, naming a failure as the
// plan does (the Pay error types); on success it records what may be published.
func (r *run) validateField(p *payCapture, field string, buf *pan.SecureBuffer) (errType string) {
	buf.Use(func(d []byte) {
		switch field {
		case callplan.FieldCardNumber:
			brand, err := pan.CheckNumber(d, p.step.ValidCardTypes)
			switch {
			case err == nil:
				p.brand = brand
			case errors.Is(err, pan.ErrBrandNotAccepted):
				errType = callplan.ErrTypeInvalidCardType
			default:
				errType = callplan.ErrTypeInvalidCardNumber
			}
		case callplan.FieldExpirationDate:
			m, y, err := pan.CheckExpiry(d, r.clock.Now())
			if p.expMonth, p.expYear = m, y; err != nil {
				errType = callplan.ErrTypeInvalidDate
			}
		case callplan.FieldSecurityCode:
			if pan.CheckSecurityCode(d, p.brand) != nil {
				errType = callplan.ErrTypeInvalidSecurityCode
			}
		case callplan.FieldPostalCode:
			if pan.CheckPostalCode(d, p.step.MinPostalCodeLength) != nil {
				errType = callplan.ErrTypeInvalidPostalCode
			}
		case callplan.FieldBankRoutingNumber:
			if pan.CheckRoutingNumber(d) != nil {
				errType = callplan.ErrTypeInvalidRouting
			}
		case callplan.FieldBankAccountNumber:
			if pan.CheckAccountNumber(d) != nil {
				errType = callplan.ErrTypeInvalidAccount
			}
		}
	})
	if errType != "" {
		return errType
	}
	switch field {
	case callplan.FieldCardNumber:
		p.masked = buf.Mask()
	case callplan.FieldBankRoutingNumber:
		p.maskedRouting = buf.MaskAccount()
	case callplan.FieldBankAccountNumber:
		p.maskedAccount = buf.MaskAccount()
	}
	return ""
}

// publishPay sets the Pay.* variables (masked or non-sensitive only; none when prefix is "":
// a payment the plan did not open) and emits pay.completed, the payment's record.
func (r *run) publishPay(prefix string, p *payCapture, out payOutcome) {
	set := func(k, v string) {
		if prefix != "" {
			r.set(prefix+"."+k, v)
		}
	}
	set("Result", out.result)
	set("ErrorType", out.errorType)
	set("Attempts", strconv.Itoa(p.entries))
	set("CardType", p.brand)
	set("MaskedCard", p.masked)
	if p.expMonth > 0 {
		set("ExpirationDate", fmt.Sprintf("%02d%02d", p.expMonth, p.expYear%100))
	}
	set("Token", out.token)
	set("ConfirmationCode", out.confirmation)
	if out.sessionID == "" {
		out.sessionID = p.sessionID
	}
	set("SessionId", out.sessionID)
	set("ConnectorError", out.connectorError)
	method := p.method
	if method == "" {
		method = payment.MethodCharge
		if p.amount.Minor == 0 {
			method = payment.MethodTokenize
		}
	}
	set("Method", method)
	if !out.authorizedUntil.IsZero() {
		set("AuthorizedUntil", out.authorizedUntil.UTC().Format(time.RFC3339))
	}
	set("PaymentMethod", p.step.PaymentMethod)
	if p.step.IsBank() {
		set("BankAccountType", p.step.BankAccountType)
		set("BankAccountNumber", p.maskedAccount)
		set("BankRoutingNumber", p.maskedRouting)
	}
	connector := p.connector
	if connector == "" {
		connector = p.step.Connector
	}
	set("Connector", connector)
	var route []string
	var steps []event.RouteStep
	for _, rt := range p.routes {
		route = append(route, rt.Connector+":"+rt.Outcome)
		steps = append(steps, event.RouteStep{Connector: rt.Connector, ConnectorKey: rt.ConnectorKey, AttemptKey: rt.AttemptKey,
			Outcome: rt.Outcome, ErrorCode: rt.ErrorCode})
	}
	set("Route", strings.Join(route, " "))
	errCode := out.errorCode
	if errCode == "" && out.result == callplan.PayResultConnectorError {
		errCode = out.connectorError
	}
	pm := event.Payment{
		SessionID: out.sessionID, Channel: p.channelName(), Connector: connector,
		ConnectorKey: r.connectorKeys[connector], Method: method,
		AmountMinor: p.amount.Minor, Currency: p.amount.Currency, Reference: p.reference,
		Result: out.result, ErrorType: out.errorType, ErrorCode: errCode,
		MaskedCard: p.masked, CardType: p.brand, Confirmation: out.confirmation, Token: out.token,
		AttemptKey: p.attemptKey, Attempts: p.entries,
		PaymentMethod: p.step.PaymentMethod, AuthorizedUntil: out.authorizedUntil, Invoice: eventInvoice(p.invoice),
	}
	if len(steps) > 1 {
		pm.Routes = steps // a single connector's route says nothing the record does not
	}
	if p.step.IsBank() {
		pm.BankAccountType, pm.MaskedAccount = p.step.BankAccountType, p.maskedAccount
	}
	if out.result == callplan.PayResultSuccess {
		r.payments[out.sessionID] = &payment.PaymentFacts{ID: out.sessionID, CallID: r.callID, Connector: connector,
			ConnectorKey: r.connectorKeys[connector], ProviderPaymentID: out.confirmation, Method: method,
			PaymentMethod: p.step.PaymentMethod, Currency: p.amount.Currency, AuthorizedMinor: p.amount.Minor,
			AuthorizedUntil: out.authorizedUntil}
	}
	r.emit("Pay", &event.PayCompleted{Payment: pm})
}

// eventInvoice is an invoice as events carry it.
func eventInvoice(inv *payment.Invoice) *event.Invoice {
	if inv == nil {
		return nil
	}
	out := &event.Invoice{ID: pan.Redact(inv.ID), Description: pan.Redact(inv.Description)}
	for _, l := range inv.Lines {
		out.Lines = append(out.Lines, event.InvoiceLine{Description: pan.Redact(l.Description), Quantity: l.Quantity, AmountMinor: l.AmountMinor})
	}
	for k, v := range inv.Metadata {
		if out.Metadata == nil {
			out.Metadata = map[string]string{}
		}
		out.Metadata[k] = pan.RedactValue(k, v)
	}
	return out
}

// dropTypeAhead zeroes and forgets queued keys.
func (r *run) dropTypeAhead() {
	for i := range r.pending {
		r.pending[i] = 0
	}
	r.pending = r.pending[:0]
}

// payAmount parses Pay's amount; an empty or zero amount without a currency tokenizes.
func payAmount(amount, currency string) (payment.Amount, error) {
	if currency == "" {
		switch strings.TrimSpace(amount) {
		case "", "0":
			return payment.Amount{}, nil
		}
	}
	return payment.ParseAmount(amount, currency)
}
