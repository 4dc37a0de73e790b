package engine

import (
	"context"
	"errors"
	"strings"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// stepPaymentOp runs <Capture>, <Void> and <Refund> through the Lifecycle: the operation is
// the plan's (actor plan:<call id>), its idempotency key is derived from the call and the
// step's position, so a step that runs twice in a call (a loop) asks again with a new key
// only when the amount differs. It publishes $(Var.Result) — success, pending (the provider
// has not finished: a bank refund) or failed — with OperationId, Amount, PaymentState and
// Error.
func (r *run) stepPaymentOp(ctx context.Context, s *callplan.PaymentOpStep) error {
	prefix := s.Var
	for _, o := range s.Outputs() {
		r.set(prefix+"."+o, "")
	}
	fail := func(msg string) error {
		r.set(prefix+".Result", payment.OpFailed)
		r.set(prefix+".Error", pan.Redact(msg))
		return nil
	}
	if r.opts.Lifecycle == nil {
		return fail("no payment lifecycle configured")
	}
	id := strings.TrimSpace(r.expand(s.Payment))
	if id == "" {
		return fail("no payment to " + s.Kind)
	}
	req := &payment.OpRequest{PaymentID: id, Final: s.Final, Reason: r.expand(s.Reason), CallID: r.callID,
		Actor: payment.Actor{Kind: payment.ActorPlan, ID: r.plan.Name + "/" + r.callID}, Known: r.payments[id]}
	if req.Known != nil {
		k := *req.Known
		req.Known = &k
	}
	if amt := strings.TrimSpace(r.expand(s.Amount)); amt != "" {
		cur := ""
		if req.Known != nil {
			cur = req.Known.Currency
		}
		if cur == "" {
			return fail("the amount's currency is not known: " + s.StepName() + " an amount only of a payment this call made")
		}
		a, err := payment.ParseAmount(amt, cur)
		if err != nil || a.Minor <= 0 {
			return fail("amount " + amt + " is not a positive decimal amount in " + cur)
		}
		req.Amount = a
	}
	req.IdempotencyKey = r.callID + ":" + s.Kind + ":" + s.Pos.String() + ":" + id + ":" + strings.TrimSpace(r.expand(s.Amount))
	octx, cancel := context.WithTimeout(ctx, maxConnectorWait)
	var res *payment.OpResult
	var err error
	switch s.Kind {
	case payment.OpCapture:
		res, err = r.opts.Lifecycle.Capture(octx, req)
	case payment.OpVoid:
		res, err = r.opts.Lifecycle.Void(octx, req)
	default:
		res, err = r.opts.Lifecycle.Refund(octx, req)
	}
	cancel()
	if err != nil {
		msg := err.Error()
		for _, e := range []error{payment.ErrPaymentState, payment.ErrAmountExceeds, payment.ErrUnsupported} {
			if errors.Is(err, e) {
				msg = e.Error() + ": " + msg
				break
			}
		}
		r.log.Warn(s.StepName()+": refused", "pos", s.Pos.String(), "err", pan.Redact(err.Error()))
		return fail(msg)
	}
	result := res.State
	if res.State == payment.OpSucceeded {
		result = "success"
	}
	r.set(prefix+".Result", result)
	r.set(prefix+".OperationId", res.OpID)
	r.set(prefix+".Amount", payment.FormatAmount(res.Amount))
	r.set(prefix+".PaymentState", res.Payment.State)
	if res.ErrorCode != "" || res.ErrorMessage != "" {
		r.set(prefix+".Error", pan.Redact(strings.TrimSpace(res.ErrorCode+" "+res.ErrorMessage)))
	}
	return nil
}
