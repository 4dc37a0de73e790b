package callplan

import (
	"context"
	"time"
)

// stepAuthorize fetches or refreshes a connector's token and publishes $(Var.Result)
// ("success"/"failed") and $(Var.Error).
func (r *run) stepAuthorize(ctx context.Context, s *AuthorizeStep) error {
	prefix := s.Var
	if prefix == "" {
		prefix = DefaultAuthorizeVar
	}
	result, msg := "success", ""
	conn, err := r.connector(s.Connector)
	if err == nil {
		actx, cancel := context.WithTimeout(ctx, maxConnectorWait)
		err = conn.Authorize(actx)
		cancel()
	}
	if err != nil {
		result, msg = "failed", scrubDigits(err.Error())
	}
	r.set(prefix+".Result", result)
	r.set(prefix+".Error", msg)
	r.emit("authorize", "Authorize", map[string]any{"connector": s.Connector, "result": result})
	return nil
}

// stepSendLink texts a signed single-use payment link bound to the (given or a new digital)
// session and publishes LinkOutputs under Var.
func (r *run) stepSendLink(ctx context.Context, s *SendPaymentLinkStep) error {
	prefix := s.Var
	if prefix == "" {
		prefix = DefaultLinkVar
	}
	for _, o := range LinkOutputs {
		r.set(prefix+"."+o, "")
	}
	fail := func(msg string) error {
		r.set(prefix+".Result", "failed")
		r.set(prefix+".Error", scrubDigits(msg))
		r.emit("link.failed", "SendPaymentLink", map[string]any{"connector": s.Connector, "error": scrubDigits(msg)})
		return nil
	}
	amount, err := payAmount(r.expand(s.Amount), r.expand(s.Currency)) // none: the session's amount
	if err != nil {
		return fail(err.Error())
	}
	if r.opts.Links == nil {
		return fail("no payment-link sender configured")
	}
	ttl := s.TTL
	if ttl <= 0 {
		ttl = DefaultLinkTTL
	}
	req := &LinkRequest{
		CallID: r.callID, Connector: s.Connector, To: r.expand(s.To), CallerID: r.vars["Call.From"],
		Amount: amount, Reference: r.expand(s.Reference), SessionID: r.expand(s.Session), TTL: ttl,
	}
	lctx, cancel := context.WithTimeout(withLookedUp(ctx, r.lookedUpValues()), maxConnectorWait)
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
	r.emit("link.sent", "SendPaymentLink", map[string]any{"connector": s.Connector, "linkId": res.LinkID, "sessionId": res.SessionID})
	return nil
}

type lookedUpKey struct{}

// withLookedUp marks values the plan obtained from its own ApiInteraction lookups.
func withLookedUp(ctx context.Context, values []string) context.Context {
	return context.WithValue(ctx, lookedUpKey{}, values)
}

// LookedUpValues returns, inside a LinkSender call, the current values of every variable the
// plan set from an ApiInteraction response (a customer's mobile number from a billing
// lookup, say). The SMS-pumping guard trusts a number found here as much as the caller's
// own: the plan's back office supplied it, not the caller's keypad.
//
// A gateway.GuardConfig can use it as TrustedNumbers:
//
//	func(ctx context.Context, _ string) []string { return callplan.LookedUpValues(ctx) }
func LookedUpValues(ctx context.Context) []string {
	v, _ := ctx.Value(lookedUpKey{}).([]string)
	return v
}

// lookedUpValues lists the non-empty values of the variables ApiInteraction fields set.
func (r *run) lookedUpValues() []string {
	var out []string
	for name := range r.lookedUp {
		if v := r.vars[name]; v != "" {
			out = append(out, v)
		}
	}
	return out
}
