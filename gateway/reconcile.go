package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paybridge/paybridge/event"
)

// ReconcileReport says what Reconcile did with each pending attempt.
type ReconcileReport struct {
	Checked  int // pending attempts examined
	Approved int // the provider had charged: recorded as approved
	Declined int // the provider had declined: recorded as declined
	NotSent  int // the provider never received it: recorded as failed (nothing charged)
	Unknown  int // the provider cannot say: recorded as unknown for a human to check
	Left     int // left pending (connector not open, provider unreachable, or too young to judge): try again later
	Errors   []error
}

// ReconcileOptions tunes Reconcile.
type ReconcileOptions struct {
	// Before limits reconciliation to attempts created before this time (default: now).
	Before time.Time
	// Grace: an attempt younger than this that the provider has not seen is left pending
	// rather than judged "never received" — its request may still be on its way (default 1
	// minute, longer than any connector timeout). Attempts the provider has seen are resolved
	// whatever their age.
	Grace time.Duration
}

// Reconcile resolves pending attempts with their provider, by idempotency key, so that after a
// crash nothing is lost and nothing is charged twice: an attempt the provider charged becomes
// approved (with its charge id), one it declined declined, one it never received failed (the
// engine never told the caller "paid", and the provider holds no charge). It never re-sends a
// payment: the card is gone by design. Call it on start, after the plans' connectors are open.
func Reconcile(ctx context.Context, attempts AttemptLog, connectors *Connectors) (ReconcileReport, error) {
	return ReconcileWith(ctx, attempts, connectors, ReconcileOptions{})
}

// ReconcileWith is Reconcile with options.
func ReconcileWith(ctx context.Context, attempts AttemptLog, connectors *Connectors, opt ReconcileOptions) (ReconcileReport, error) {
	var rep ReconcileReport
	now := connectors.cfg.Now()
	before := opt.Before
	if before.IsZero() {
		before = now
	}
	grace := opt.Grace
	if grace == 0 {
		grace = time.Minute
	}
	pending, err := attempts.PendingAttempts(ctx, before)
	if err != nil {
		return rep, fmt.Errorf("gateway: listing pending attempts: %w", err)
	}
	for _, a := range pending {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		rep.Checked++
		c, err := connectors.Resolve(a.ConnectorKey, a.Connector)
		if err != nil {
			rep.Left++
			rep.Errors = append(rep.Errors, fmt.Errorf("attempt %s: %w", a.Key, err))
			continue
		}
		r, found, err := c.api.lookup(ctx, a)
		switch {
		case errors.Is(err, errLookupUnsupported):
			r = AttemptResult{State: AttemptUnknown, ErrorMessage: "provider has no lookup: check this attempt by hand"}
			rep.Unknown++
		case errors.Is(err, errSessionGone):
			// A session the provider does not know holds no capture it can tell us about — but
			// one it purged might have: a human checks, nothing is assumed.
			r = AttemptResult{State: AttemptUnknown, ErrorMessage: "the provider no longer knows session " + a.SessionID + ": check this attempt by hand"}
			rep.Unknown++
		case err != nil:
			rep.Left++
			rep.Errors = append(rep.Errors, fmt.Errorf("attempt %s: %w", a.Key, err))
			continue
		case !found && now.Sub(a.CreatedAt) < grace:
			rep.Left++
			continue
		case !found:
			r = AttemptResult{State: AttemptFailed, SessionID: r.SessionID, ErrorCode: "not_received",
				ErrorMessage: "the provider never received this attempt; nothing was charged"}
			rep.NotSent++
		case r.State == AttemptApproved:
			rep.Approved++
		default:
			rep.Declined++
		}
		if err := attempts.CompleteAttempt(ctx, a.Key, r); err != nil {
			rep.Errors = append(rep.Errors, fmt.Errorf("attempt %s: recording: %w", a.Key, err))
			continue
		}
		connectors.emitReconciled(a, r, now)
	}
	return rep, nil
}

// emitReconciled reports a settled attempt as an event.PaymentReconciled, so that the payment's
// record is completed with what the provider said (serve records it and sends its webhook).
func (cs *Connectors) emitReconciled(a *Attempt, r AttemptResult, at time.Time) {
	if cs.cfg.Events == nil {
		return
	}
	cs.cfg.Events.Emit(event.Event{Time: at, CallID: a.CallID, Data: &event.PaymentReconciled{Payment: SettledPayment(a, r)}})
}

// SettledPayment is the payment an attempt with outcome r made, as a record needs it: result
// success, declined, not-charged (the provider never received it) or unknown.
func SettledPayment(a *Attempt, r AttemptResult) event.Payment {
	p := event.Payment{SessionID: a.SessionID, Channel: a.Channel, Connector: a.Connector, ConnectorKey: a.ConnectorKey,
		Method: a.Method, AmountMinor: a.AmountMinor, Currency: a.Currency, Reference: a.Reference,
		MaskedCard: a.MaskedCard, CardType: a.CardBrand, Confirmation: r.ConfirmationCode, Token: r.Token,
		ErrorCode: r.ErrorCode, AttemptKey: a.Key}
	if r.SessionID != "" {
		p.SessionID = r.SessionID
	}
	switch r.State {
	case AttemptApproved:
		p.Result = event.ResultSuccess
	case AttemptDeclined:
		p.Result = event.ResultDeclined
	case AttemptFailed:
		p.Result = event.ResultNotCharged
	default:
		p.Result = event.ResultUnknown
	}
	return p
}

// RunReconciler runs Reconcile every interval until ctx is done, logging what it settled.
func RunReconciler(ctx context.Context, attempts AttemptLog, connectors *Connectors, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rep, err := Reconcile(ctx, attempts, connectors)
		log := connectors.cfg.Logger
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("reconciling pending payments", "error", err)
		case rep.Checked > rep.Left:
			log.Info("reconciled pending payments", "checked", rep.Checked, "approved", rep.Approved,
				"declined", rep.Declined, "not_sent", rep.NotSent, "unknown", rep.Unknown, "left", rep.Left)
		}
	}
}
