package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// LifecycleConfig wires a Lifecycle.
type LifecycleConfig struct {
	Ledger     LifecycleStore // required
	Connectors *Connectors    // the connectors payments were made with (by ConnectorKey)
	Events     event.Sink     // one lifecycle event per change (nil: none)
	HoldLease  time.Duration  // a node's claim on a lapsed hold (0: HoldLease)
	Logger     *slog.Logger
	Now        func() time.Time
}

// Lifecycle captures, voids and refunds payments: it implements payment.Lifecycle for the admin
// API, the console, the plan's steps and the agent channel alike. Each operation is reserved
// in the ledger before the provider is asked (so no two operations, on any node, can take
// more than there is), sent with its own idempotency key, and finished with the provider's
// answer; one that got no answer stays pending, reserved, until ReconcileOps settles it.
type Lifecycle struct {
	cfg LifecycleConfig
}

var _ payment.Lifecycle = (*Lifecycle)(nil)

// NewLifecycle returns a Lifecycle.
func NewLifecycle(cfg LifecycleConfig) *Lifecycle {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Lifecycle{cfg: cfg}
}

// Capture implements payment.Lifecycle.
func (l *Lifecycle) Capture(ctx context.Context, req *payment.OpRequest) (*payment.OpResult, error) {
	return l.run(ctx, payment.OpCapture, req)
}

// Void implements payment.Lifecycle.
func (l *Lifecycle) Void(ctx context.Context, req *payment.OpRequest) (*payment.OpResult, error) {
	return l.run(ctx, payment.OpVoid, req)
}

// Refund implements payment.Lifecycle.
func (l *Lifecycle) Refund(ctx context.Context, req *payment.OpRequest) (*payment.OpResult, error) {
	return l.run(ctx, payment.OpRefund, req)
}

func (l *Lifecycle) run(ctx context.Context, kind string, req *payment.OpRequest) (*payment.OpResult, error) {
	if l.cfg.Ledger == nil {
		return nil, ErrNoLedger
	}
	if req == nil || req.PaymentID == "" {
		return nil, fmt.Errorf("%w: no payment", ErrNotFound)
	}
	if req.Amount.Minor < 0 {
		return nil, fmt.Errorf("%w: negative amount", ErrBadAmount)
	}
	facts, err := l.cfg.Ledger.PaymentFacts(ctx, req.PaymentID)
	switch {
	case errors.Is(err, ErrNotFound) && req.Known != nil && req.Known.ID == req.PaymentID:
		facts = req.Known
	case err != nil:
		return nil, err
	}
	conn, err := l.connector(facts)
	if err != nil {
		return nil, err
	}
	caps := payment.CapabilitiesOf(conn.Type())
	switch {
	case kind == payment.OpVoid && !caps.Void, kind == payment.OpRefund && !caps.Refund,
		kind == payment.OpCapture && !caps.Authorize:
		return nil, fmt.Errorf("%w: a %s connector cannot %s", payment.ErrUnsupported, conn.Type(), kind)
	}
	key := req.IdempotencyKey
	if key == "" {
		key = newID("opk_")
	}
	op := &Op{PaymentID: req.PaymentID, Kind: kind, IdempotencyKey: key, AmountMinor: req.Amount.Minor,
		Currency: req.Amount.Currency, Final: req.Final, Single: kind == payment.OpCapture && !caps.MultipleCaptures,
		Reason: req.Reason, Actor: req.Actor, CallID: req.CallID}
	got, facts, err := l.cfg.Ledger.BeginOp(ctx, op, req.Known)
	if errors.Is(err, ErrDuplicate) {
		res := opResult(got, facts)
		res.Replayed = true
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	op = got
	ans, perr := conn.operate(ctx, &opCall{kind: kind, txn: facts.ProviderPaymentID, callID: req.CallID,
		sessionID: facts.ID, amount: payment.Amount{Minor: op.AmountMinor, Currency: op.Currency},
		final: req.Final, reason: req.Reason, key: key})
	out, pending := l.outcome(ans, perr, req.Actor)
	if pending && ans == nil {
		// No answer: the operation stays pending and reserved; ReconcileOps asks the provider.
		l.cfg.Logger.Warn("payment operation got no answer; reconcile will settle it", "payment", facts.ID,
			"operation", op.ID, "kind", kind, "err", perr)
		res := opResult(op, facts)
		res.ErrorMessage = pan.Redact(ConnectorError(perr) + ": " + perr.Error())
		return res, nil
	}
	return l.finish(context.WithoutCancel(ctx), op, out)
}

// outcome maps what the provider answered; pending reports an operation without a final
// outcome (accepted pending, or no answer at all when ans is nil).
func (l *Lifecycle) outcome(ans *opAnswer, perr error, actor payment.Actor) (OpOutcome, bool) {
	out := OpOutcome{Actor: actor, At: l.cfg.Now()}
	switch {
	case perr != nil && errors.Is(perr, ErrProviderRejected) && ans != nil:
		out.State, out.ErrorCode, out.ErrorMessage = payment.OpFailed, ans.errorCode, ans.errorMessage
		if out.ErrorCode == "" {
			out.ErrorCode = "rejected"
		}
	case perr != nil && errors.Is(perr, errOpUnsupported):
		out.State, out.ErrorCode, out.ErrorMessage = payment.OpFailed, "unsupported", "the provider has no such operation"
	case perr != nil || ans == nil:
		return out, true
	default:
		out.State, out.ProviderID, out.ErrorCode, out.ErrorMessage = ans.state, ans.providerID, ans.errorCode, ans.errorMessage
	}
	out.Expired = out.ErrorCode == "authorization_expired"
	return out, out.State == payment.OpPending
}

// finish records an outcome and reports it — only when this call is the one that changed the
// operation: when another path (the provider's webhook, the settling loop, another node)
// finished it first, that path reported it, and one outcome is one event and one webhook.
func (l *Lifecycle) finish(ctx context.Context, op *Op, out OpOutcome) (*payment.OpResult, error) {
	done, facts, changed, err := l.cfg.Ledger.FinishOp(ctx, op.ID, out)
	if err != nil {
		return nil, err
	}
	if !changed {
		return opResult(done, facts), nil
	}
	if done.State == payment.OpFailed && out.Expired {
		l.emit(callOf(done, facts), &event.PaymentExpired{Operation: opEvent(done, facts, out.Actor)})
	}
	l.emitOp(done, facts, out.Actor)
	return opResult(done, facts), nil
}

// emitOp reports an operation's state as its event.
func (l *Lifecycle) emitOp(op *Op, facts *payment.PaymentFacts, actor payment.Actor) {
	o := opEvent(op, facts, actor)
	var d event.Data
	switch op.Kind + "/" + op.State {
	case payment.OpCapture + "/" + payment.OpSucceeded:
		d = &event.PaymentCaptured{Operation: o}
	case payment.OpCapture + "/" + payment.OpFailed:
		d = &event.PaymentCaptureFailed{Operation: o}
	case payment.OpVoid + "/" + payment.OpSucceeded:
		d = &event.PaymentVoided{Operation: o}
	case payment.OpVoid + "/" + payment.OpFailed:
		d = &event.PaymentVoidFailed{Operation: o}
	case payment.OpRefund + "/" + payment.OpPending:
		d = &event.RefundPending{Operation: o}
	case payment.OpRefund + "/" + payment.OpSucceeded:
		d = &event.RefundSucceeded{Operation: o}
	case payment.OpRefund + "/" + payment.OpFailed:
		d = &event.RefundFailed{Operation: o}
	default:
		return
	}
	l.emit(callOf(op, facts), d)
}

// callOf is the call an operation's event belongs to: the plan's call that asked for it, or
// the call the payment was made on.
func callOf(op *Op, f *payment.PaymentFacts) string {
	if op.CallID != "" || f == nil {
		return op.CallID
	}
	return f.CallID
}

func (l *Lifecycle) emit(callID string, d event.Data) {
	if l.cfg.Events != nil {
		l.cfg.Events.Emit(event.Event{Time: l.cfg.Now(), CallID: callID, Data: d})
	}
}

func opEvent(op *Op, f *payment.PaymentFacts, actor payment.Actor) event.Operation {
	return event.Operation{PaymentID: op.PaymentID, OpID: op.ID, Kind: op.Kind, State: op.State,
		AmountMinor: op.AmountMinor, Currency: op.Currency, IdempotencyKey: op.IdempotencyKey,
		ProviderID: op.ProviderID, Reason: pan.Redact(op.Reason), ErrorCode: op.ErrorCode, Actor: pan.Redact(actor.String()),
		PaymentState: f.State, AuthorizedMinor: f.AuthorizedMinor, CapturedMinor: f.CapturedMinor, RefundedMinor: f.RefundedMinor}
}

func opResult(op *Op, f *payment.PaymentFacts) *payment.OpResult {
	r := &payment.OpResult{OpID: op.ID, Kind: op.Kind, State: op.State, IdempotencyKey: op.IdempotencyKey,
		Amount: payment.Amount{Minor: op.AmountMinor, Currency: op.Currency}, ProviderID: op.ProviderID,
		ErrorCode: op.ErrorCode, ErrorMessage: op.ErrorMessage}
	if f != nil {
		r.Payment = *f
	}
	return r
}

// connector finds the connector a payment was made with.
func (l *Lifecycle) connector(f *payment.PaymentFacts) (*Connector, error) {
	if l.cfg.Connectors == nil {
		return nil, fmt.Errorf("%w: no connectors", ErrUnknownConnector)
	}
	if f.ProviderPaymentID == "" {
		return nil, fmt.Errorf("%w: payment %s has no provider payment to act on", ErrPaymentState, f.ID)
	}
	c, err := l.cfg.Connectors.Resolve(f.ConnectorKey, f.Connector)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// HoldLease is how long a node's claim on a lapsed hold keeps every other node off it
// (LifecycleConfig.HoldLease's default): longer than releasing it at the provider can take
// (a connector's retries included), short enough that a claimant that died is taken over soon.
const HoldLease = 5 * time.Minute

// ExpireHolds ends the holds whose time has passed (the provider's lifetime, as it told us)
// and returns how many. Every node runs it; the ledger gives each lapsed hold to one node at a
// time (ClaimExpiredHolds), which releases it at the provider and records it expired: one
// provider request, one history entry and one payment.expired event per hold. A hold the
// provider could not be asked about (no answer) keeps its claim until the lease passes and is
// tried again then, by whichever node claims it, with the same idempotency key.
func (l *Lifecycle) ExpireHolds(ctx context.Context) (int, error) {
	if l.cfg.Ledger == nil {
		return 0, ErrNoLedger
	}
	lease := l.cfg.HoldLease
	if lease <= 0 {
		lease = HoldLease
	}
	due, err := l.cfg.Ledger.ClaimExpiredHolds(ctx, l.cfg.Now(), lease)
	if err != nil {
		return 0, err
	}
	n := 0
	actor := payment.Actor{Kind: payment.ActorSystem, ID: "expiry"}
	for _, f := range due {
		detail, err := l.releaseHold(ctx, f)
		if err != nil {
			l.cfg.Logger.Warn("a lapsed hold could not be released at its provider; tried again after the claim's lease",
				"payment", f.ID, "lease", lease, "err", err)
			continue
		}
		if _, err := l.mark(ctx, f, MarkExpired, actor, f.AuthorizedMinor-f.CapturedMinor, detail); err == nil {
			n++
		}
	}
	return n, nil
}

// expiryKey is the idempotency key of the request that releases a lapsed hold: one per payment,
// so that a node taking over a dead claimant's hold repeats its request rather than adds one.
func expiryKey(paymentID string) string { return "expiry-" + paymentID }

// releaseHold asks the provider to release a lapsed hold (a void: card networks expect an
// authorisation that will not be captured to be reversed, not left to lapse) and returns the
// history's detail. A provider that refuses holds nothing any more — it let the hold lapse
// itself — and a connector that cannot void, or is no longer configured, leaves the hold to
// lapse at the provider: both end the hold here too. Only a request without an answer is an
// error: the provider may still hold the money.
func (l *Lifecycle) releaseHold(ctx context.Context, f *payment.PaymentFacts) (string, error) {
	conn, err := l.connector(f)
	if err != nil {
		return "the hold lapsed (its connector is not configured: left to lapse at the provider)", nil
	}
	if !payment.CapabilitiesOf(conn.Type()).Void {
		return "the hold lapsed", nil
	}
	ans, perr := conn.operate(ctx, &opCall{kind: payment.OpVoid, txn: f.ProviderPaymentID, callID: f.CallID, sessionID: f.ID,
		amount: payment.Amount{Minor: f.AuthorizedMinor - f.CapturedMinor, Currency: f.Currency}, key: expiryKey(f.ID)})
	switch {
	case perr == nil && ans != nil && ans.state == payment.OpSucceeded:
		return "the hold lapsed: released at the provider", nil
	case perr != nil && errors.Is(perr, ErrProviderRejected) && ans != nil:
		code := ans.errorCode
		if code == "" {
			code = "refused"
		}
		return "the hold lapsed: the provider holds nothing any more (" + code + ")", nil
	case perr != nil && errors.Is(perr, errOpUnsupported):
		return "the hold lapsed", nil
	case perr != nil:
		return "", perr
	default:
		return "", fmt.Errorf("%w: releasing the hold: the provider answered %q", ErrBadResponse, ans.state)
	}
}

// mark records an expiry or a chargeback and reports it.
func (l *Lifecycle) mark(ctx context.Context, f *payment.PaymentFacts, mark string, actor payment.Actor, amount int64, detail string) (*payment.PaymentFacts, error) {
	action := "expired"
	if mark == MarkChargedBack {
		action = "charged_back"
	}
	nf, err := l.cfg.Ledger.MarkPayment(ctx, f.ID, mark, HistoryEntry{Actor: actor, At: l.cfg.Now(), Action: action,
		AmountMinor: amount, Detail: pan.Redact(detail)})
	if err != nil {
		return nil, err
	}
	o := event.Operation{PaymentID: nf.ID, AmountMinor: amount, Currency: nf.Currency, Actor: actor.String(), Reason: pan.Redact(detail),
		PaymentState: nf.State, AuthorizedMinor: nf.AuthorizedMinor, CapturedMinor: nf.CapturedMinor, RefundedMinor: nf.RefundedMinor}
	if mark == MarkChargedBack {
		l.emit(nf.CallID, &event.PaymentChargedBack{Operation: o})
	} else {
		l.emit(nf.CallID, &event.PaymentExpired{Operation: o})
	}
	return nf, nil
}

// ReconcileOps settles operations that got no answer (older than grace) by asking their
// provider by idempotency key: found → its outcome; not received → failed (the reservation
// is released); a provider that cannot say → left pending, for a human.
func (l *Lifecycle) ReconcileOps(ctx context.Context, grace time.Duration) (settled int, err error) {
	if l.cfg.Ledger == nil {
		return 0, ErrNoLedger
	}
	ops, err := l.cfg.Ledger.PendingOps(ctx, l.cfg.Now().Add(-grace))
	if err != nil {
		return 0, err
	}
	actor := payment.Actor{Kind: payment.ActorSystem, ID: "reconcile"}
	for _, op := range ops {
		facts, err := l.cfg.Ledger.PaymentFacts(ctx, op.PaymentID)
		if err != nil {
			continue
		}
		conn, err := l.connector(facts)
		if err != nil {
			continue
		}
		ans, found, err := conn.lookupOp(ctx, &opCall{kind: op.Kind, txn: facts.ProviderPaymentID, key: op.IdempotencyKey,
			callID: op.CallID, sessionID: facts.ID})
		var out OpOutcome
		switch {
		case err != nil:
			continue
		case !found:
			out = OpOutcome{State: payment.OpFailed, ErrorCode: "not_received", ErrorMessage: "the provider never received it", Actor: actor, At: l.cfg.Now()}
		case ans.state == payment.OpPending:
			if op.ProviderID != "" {
				continue // known pending already: its webhook will settle it
			}
			out = OpOutcome{State: payment.OpPending, ProviderID: ans.providerID, Actor: actor, At: l.cfg.Now()}
		default:
			out = OpOutcome{State: ans.state, ProviderID: ans.providerID, ErrorCode: ans.errorCode, Actor: actor, At: l.cfg.Now(),
				Expired: ans.errorCode == "authorization_expired"}
		}
		if _, err := l.finish(ctx, op, out); err == nil {
			settled++
		}
	}
	return settled, nil
}
