package engine

import (
	"context"
	"slices"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// stepAuthorize fetches or refreshes a connector's token and publishes $(Var.Result)
// ("success"/"failed") and $(Var.Error).
func (r *run) stepAuthorize(ctx context.Context, s *callplan.AuthorizeStep) error {
	prefix := s.Var
	result, msg := "success", ""
	conn, err := r.connector(s.Connector)
	if err == nil {
		actx, cancel := context.WithTimeout(ctx, maxConnectorWait)
		err = conn.Authorize(actx)
		cancel()
	}
	if err != nil {
		result, msg = "failed", pan.Redact(err.Error())
	}
	r.set(prefix+".Result", result)
	r.set(prefix+".Error", msg)
	r.emit("Authorize", &event.Authorized{Connector: s.Connector, Result: result})
	return nil
}

// stepSendLink texts a signed single-use payment link bound to the (given or a new digital)
// session and publishes linkOutputs under Var.
func (r *run) stepSendLink(ctx context.Context, s *callplan.SendPaymentLinkStep) error {
	prefix := s.Var
	for _, o := range s.Outputs() {
		r.set(prefix+"."+o, "")
	}
	fail := func(msg string) error {
		r.set(prefix+".Result", "failed")
		r.set(prefix+".Error", pan.Redact(msg))
		r.emit("SendPaymentLink", &event.LinkFailed{Connector: s.Connector, Error: pan.Redact(msg)})
		return nil
	}
	amount, err := payAmount(r.expand(s.Amount), r.expand(s.Currency))
	if err != nil {
		return fail(err.Error())
	}
	if r.opts.Links == nil {
		return fail("no payment-link sender configured")
	}
	if _, err := r.connector(s.Connector); err != nil {
		return fail(err.Error())
	}
	ttl := s.TTL
	req := &payment.LinkRequest{
		CallID: r.callID, Connector: s.Connector, ConnectorKey: r.connectorKeys[s.Connector],
		To: r.expand(s.To), CallerID: r.vars["Call.From"], TrustedNumbers: r.lookedUpValues(),
		Amount: amount, Reference: r.expand(s.Reference), SessionID: r.expand(s.Session), TTL: ttl,
	}
	if s.Invoice != nil {
		cur := amount.Currency
		if known, ok := r.sessions[req.SessionID]; ok && cur == "" {
			cur = known.amount.Currency
		}
		if req.Invoice, err = r.invoice(s.Invoice, cur); err != nil {
			return fail(err.Error())
		}
	}
	// Without an amount the link pays the session's: the one a Pay step of this call started
	// (known here), or else the provider's record of it (the gateway looks it up).
	// A link that completes a Pay step's session does what that step does (docs/pay.md
	// "Payment links and the Pay options"): authorize, take a bank account, route.
	if known, ok := r.sessions[req.SessionID]; ok && req.SessionID != "" && known.connector == s.Connector {
		if req.Amount.Minor == 0 {
			req.Amount = known.amount
		}
		if req.Reference == "" {
			req.Reference = known.reference
		}
		req.Terms = known.terms
		if req.Invoice == nil {
			req.Invoice = known.invoice // the Pay step's invoice, on the page and with the payment
		}
	}
	lctx, cancel := context.WithTimeout(ctx, maxConnectorWait)
	res, err := r.opts.Links.SendPaymentLink(lctx, req)
	cancel()
	if err != nil {
		return fail(err.Error())
	}
	r.set(prefix+".Result", "success")
	r.set(prefix+".Id", res.LinkID)
	r.set(prefix+".SessionId", res.SessionID)
	if !res.ExpiresAt.IsZero() {
		r.set(prefix+".ExpiresAt", res.ExpiresAt.UTC().Format(time.RFC3339))
	}
	r.set(prefix+".MessageId", res.MessageID)
	sent := &event.LinkSent{LinkID: res.LinkID, SessionID: res.SessionID, Connector: s.Connector,
		ConnectorKey: req.ConnectorKey, AmountMinor: res.Amount.Minor, Currency: res.Amount.Currency,
		Reference: res.Reference, ExpiresAt: res.ExpiresAt, MessageID: res.MessageID}
	if t := req.Terms; t != nil {
		sent.Method, sent.PaymentMethod = t.MethodOf(), t.PaymentMethod
		for _, h := range t.Route {
			sent.Route = append(sent.Route, h.Connector)
		}
	}
	r.emit("SendPaymentLink", sent)
	return nil
}

// sessionFacts is what the engine knows of a provider session a Pay step of this call
// started or attached to.
type sessionFacts struct {
	connector string
	amount    payment.Amount
	reference string
	terms     *payment.LinkTerms // what a link completing the session does (nil: charge a card)
	invoice   *payment.Invoice   // the Pay step's invoice
}

// rememberSession notes a session a Pay step used, so that a SendPaymentLink without an
// amount can pay the same amount on it, on the same terms, for the same invoice.
func (r *run) rememberSession(connector, id string, amount payment.Amount, reference string, terms *payment.LinkTerms, invoice *payment.Invoice) {
	if id == "" {
		return
	}
	r.sessions[id] = sessionFacts{connector: connector, amount: amount, reference: reference, terms: terms, invoice: invoice}
}

// linkTerms are the terms of a Pay step a payment link falling back from it keeps: its method
// when it authorizes, its bank account, the rest of its route with the opened connectors'
// keys. nil when the link would just charge a card through the step's connector.
func (r *run) linkTerms(s *callplan.PayStep, p *payCapture) *payment.LinkTerms {
	t := &payment.LinkTerms{}
	if p.method == payment.MethodAuthorize {
		t.Method = payment.MethodAuthorize
	}
	if s.IsBank() {
		t.PaymentMethod, t.BankAccountType = payment.PaymentMethodACH, s.BankAccountType
	}
	for i, name := range p.route {
		if i > 0 {
			t.Route = append(t.Route, payment.LinkHop{Connector: name, ConnectorKey: r.connectorKeys[name]})
		}
	}
	if t.Method == "" && t.PaymentMethod == "" && len(t.Route) == 0 {
		return nil
	}
	return t
}

// lookedUpValues lists, sorted, the non-empty values of the variables ApiInteraction fields
// set: the numbers the SMS-pumping guard may trust (LinkRequest.TrustedNumbers).
func (r *run) lookedUpValues() []string {
	var out []string
	for name := range r.lookedUp {
		if v := r.vars[name]; v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}
