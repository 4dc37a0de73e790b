package gateway

import (
	"context"
	"strconv"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// linkHop is one connector a link's payment may be offered to.
type linkHop struct {
	name string
	conn *Connector
	key  string // the idempotency key it was offered with (set by offer)
}

// route resolves a link's connectors: its own (the one its session belongs to) first, then
// its terms' route. A backup that is no longer open (its plan was removed) ends the route
// before it, with a warning: the payment is never sent anywhere the plan did not name. Only
// the link's own connector not being open is an error.
func (l *Links) route(link *Link) ([]linkHop, error) {
	c, err := l.cfg.Connectors.Resolve(link.ConnectorKey, link.Connector)
	if err != nil {
		return nil, err
	}
	hops := []linkHop{{name: link.Connector, conn: c}}
	if link.Terms == nil {
		return hops, nil
	}
	for _, h := range link.Terms.Route {
		c, err := l.cfg.Connectors.Resolve(h.ConnectorKey, h.Connector)
		if err != nil {
			l.log.Warn("payment link: a backup connector of the route is not open; the route ends before it",
				"link", link.ID, "connector", h.Connector, "error", err)
			break
		}
		hops = append(hops, linkHop{name: h.Connector, conn: c})
	}
	return hops, nil
}

// offer offers a link's payment to each connector of its route in turn, exactly as a routed
// Pay step does (engine's route): the same secure buffers (the payer typed them once), an
// idempotency key of each connector's own (key for the first, key-r2, key-r3… for the
// backups, so that a retried submission reuses them all), on to the next connector only when
// payment.FailOver proves the last did not take the payment — never after a hard decline,
// never after an answer that may have charged (the connector settles an unknown outcome
// first, as Request.Settle asks). Each failover is emitted as pay.routed. It returns the last
// connector's answer, that connector, the route taken, and the last connector's error.
func (l *Links) offer(ctx context.Context, link *Link, hops []linkHop, req *payment.Request, key string) (*payment.Result, linkHop, []event.RouteStep, error) {
	var res *payment.Result
	var err error
	var routes []event.RouteStep
	took := hops[0]
	for i, h := range hops {
		try := *req // the buffer pointers, not the digits
		try.IdempotencyKey = key
		if i > 0 {
			try.IdempotencyKey = key + "-r" + strconv.Itoa(i+1)
			try.SessionID = "" // another provider: its own session, started by its connector
		}
		try.Settle = i < len(hops)-1
		h.key = try.IdempotencyKey
		took = h
		res, err = h.conn.Pay(ctx, &try)
		ok, reason := payment.FailOver(res, err)
		step := event.RouteStep{Connector: h.name, ConnectorKey: h.conn.Key(), AttemptKey: try.IdempotencyKey, Outcome: reason}
		switch {
		case res != nil && res.ErrorCode != "":
			step.ErrorCode = pan.Redact(res.ErrorCode)
		case err != nil:
			step.ErrorCode = ConnectorError(err)
		}
		routes = append(routes, step)
		if !ok || i == len(hops)-1 {
			break
		}
		l.log.Info("payment link: the payment goes on to the next connector", "link", link.ID, "from", h.name,
			"to", hops[i+1].name, "reason", reason)
		l.emit(link.CallID, &event.PayRouted{From: h.name, To: hops[i+1].name, Reason: reason,
			AttemptKey: try.IdempotencyKey, ErrorCode: step.ErrorCode})
	}
	return res, took, routes, err
}

// paidPage is the page after an approved submission: a payment received, a bank payment
// submitted, or a hold placed (with when it lapses).
func paidPage(b brand, link *Link, res *payment.Result, maskedAccount string) pageData {
	d := pageData{Title: "Payment received", Paid: true, Confirmation: res.ConfirmationCode,
		Amount: b.price(link.AmountMinor, link.Currency), Reference: link.Reference,
		Message: "Thank you. Your payment has been received.", MaskedAccount: maskedAccount}.withBrand(b)
	switch {
	case link.Terms.MethodOf() == payment.MethodAuthorize:
		d.Title, d.Authorize = "Payment authorised", true
		d.Message = "Thank you. The amount is held and " + b.Name + " takes the payment later; nothing more is needed from you."
		if !res.AuthorizedUntil.IsZero() {
			d.HoldUntil = res.AuthorizedUntil.UTC().Format("2 Jan 2006 15:04 MST")
		}
	case maskedAccount != "":
		d.Title = "Payment submitted"
		d.Message = "Thank you. Your bank payment has been submitted; it takes a few working days to reach " + b.Name + "."
	}
	return d
}
