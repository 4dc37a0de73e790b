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
	step      *callplan.PayStep
	number    *pan.SecureBuffer
	expiry    *pan.SecureBuffer
	cvv       *pan.SecureBuffer
	postal    *pan.SecureBuffer
	brand     string
	masked    string
	expMonth  int
	expYear   int
	entries   int    // entries made over all fields
	lastErr   string // error type of the last failed entry
	skipHash  bool   // the previous field completed itself: a '#' right after it is a habit, not input
	sessionID string // the provider session the capture completes
	field     string // the field being asked for
	attempt   int    // its attempt

	// What the payment record needs whatever the result (see event.Payment).
	amount      payment.Amount
	reference   string
	attemptKey  string // the idempotency key, once the connector was called
	channel     string // event.ChannelVoice (default) or event.ChannelAgent
	description string // sent with the payment
}

func (p *payCapture) channelName() string {
	if p.channel == "" {
		return event.ChannelVoice
	}
	return p.channel
}

// wipe zeroes every buffer; it runs on every exit path of the step.
func (p *payCapture) wipe() {
	for _, b := range []*pan.SecureBuffer{p.number, p.expiry, p.cvv, p.postal} {
		b.Wipe()
	}
}

// payOutcome is what a Pay step publishes.
type payOutcome struct {
	result, errorType, connectorError string
	token, confirmation, sessionID    string
	errorCode                         string // the provider's decline code
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
	p := &payCapture{step: s, number: newPayBuffer(), expiry: newPayBuffer(), reference: r.expand(s.Reference),
		description: r.expand(s.Description)}
	if s.SecurityCode {
		p.cvv = newPayBuffer()
	}
	if s.AsksPostalCode() {
		p.postal = newPayBuffer()
	}
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

	fields := []struct {
		name string
		buf  *pan.SecureBuffer
	}{{callplan.FieldCardNumber, p.number}, {callplan.FieldExpirationDate, p.expiry}, {callplan.FieldSecurityCode, p.cvv}, {callplan.FieldPostalCode, p.postal}}
	for _, f := range fields {
		if f.buf == nil {
			continue
		}
		res, err := r.captureField(ctx, p, f.name, f.buf)
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
	conn, err := r.connector(s.Connector)
	if err != nil { // fail before the caller types a card we could not send anywhere
		r.log.Warn("Pay: connector", "pos", s.Pos.String(), "err", err)
		return nil, nil, &payOutcome{result: callplan.PayResultConnectorError, connectorError: err.Error()}
	}

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
		sess, err = conn.StartSession(sctx, &payment.SessionRequest{CallID: r.callID, SessionID: p.sessionID, Amount: amount, Reference: p.reference})
		cancel()
		if err != nil {
			r.log.Warn("Pay: start session", "pos", s.Pos.String(), "err", err)
			return nil, nil, &payOutcome{result: callplan.PayResultConnectorError, connectorError: pan.Redact(err.Error())}
		}
		if sess != nil && sess.ID != "" {
			p.sessionID = sess.ID
		}
	}
	r.rememberSession(s.Connector, p.sessionID, amount, p.reference)
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
		CallID:         r.callID,
		Channel:        p.channelName(),
		SessionID:      p.sessionID,
		IdempotencyKey: r.newIdempotencyKey(),
		Amount:         p.amount,
		Reference:      p.reference,
		Description:    p.description,
		TokenType:      s.TokenType,
		Card: payment.Card{
			Number: p.number, SecurityCode: p.cvv,
			ExpMonth: p.expMonth, ExpYear: p.expYear,
			PostalCode: postal, Brand: p.brand,
		},
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxConnectorWait)
	res, err := conn.Pay(cctx, req)
	cancel()
	p.wipe() // the connector has sent (or failed to send) the card: it is gone now
	p.attemptKey = req.IdempotencyKey
	switch {
	case err != nil:
		return payOutcome{result: callplan.PayResultConnectorError, errorType: p.lastErr, connectorError: pan.Redact(err.Error())}
	case res == nil:
		return payOutcome{result: callplan.PayResultInternalError, errorType: p.lastErr, connectorError: "connector returned no result"}
	case res.Status == payment.Approved:
		return payOutcome{result: callplan.PayResultSuccess, token: res.Token, confirmation: res.ConfirmationCode, sessionID: res.SessionID}
	}
	code := res.ErrorCode
	if code == "" {
		code = string(res.Status)
	}
	return payOutcome{result: callplan.PayResultConnectorError, errorType: p.lastErr, connectorError: pan.Redact(code),
		errorCode: pan.Redact(res.ErrorCode), sessionID: res.SessionID}
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
		if errType == "" {
			return "", nil
		}
		p.lastErr = errType
	}
	buf.Wipe()
	return callplan.PayResultTooManyFailed, nil
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
		}
	})
	if field == callplan.FieldCardNumber && errType == "" {
		p.masked = buf.Mask()
	}
	return errType
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
	method := "charge"
	if p.amount.Minor == 0 {
		method = "tokenize"
	}
	errCode := out.errorCode
	if errCode == "" && out.result == callplan.PayResultConnectorError {
		errCode = out.connectorError
	}
	r.emit("Pay", &event.PayCompleted{Payment: event.Payment{
		SessionID: out.sessionID, Channel: p.channelName(), Connector: p.step.Connector,
		ConnectorKey: r.connectorKeys[p.step.Connector], Method: method,
		AmountMinor: p.amount.Minor, Currency: p.amount.Currency, Reference: p.reference,
		Result: out.result, ErrorType: out.errorType, ErrorCode: errCode,
		MaskedCard: p.masked, CardType: p.brand, Confirmation: out.confirmation, Token: out.token,
		AttemptKey: p.attemptKey, Attempts: p.entries,
	}})
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
