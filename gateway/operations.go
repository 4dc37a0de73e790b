package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/paybridge/paybridge/payment"
)

// What the three provider APIs do after the payment: capture, void and refund (each API's
// operate), and reconciliation of an operation that got no answer (lookupOp). The Lifecycle
// (lifecycle.go) reserves amounts in the ledger around these calls; here only the provider's
// side is spoken.

// opCall is one operation sent to a provider.
type opCall struct {
	kind      string // payment.OpCapture | OpVoid | OpRefund
	txn       string // the provider's payment id (a charge id)
	sessionID string
	callID    string
	amount    payment.Amount // Minor 0: all that is left
	final     bool
	reason    string
	key       string // idempotency key
}

// opAnswer is what the provider said of an operation.
type opAnswer struct {
	state        string // payment.OpPending | OpSucceeded | OpFailed
	providerID   string // the operation's id at the provider
	errorCode    string
	errorMessage string
	status       int
}

// errOpUnsupported: the API has no such operation (generic without a lookup, …).
var errOpUnsupported = errors.New("gateway: the provider has no such operation")

// operator is the part of a providerAPI that moves payments after the fact.
type operator interface {
	operate(ctx context.Context, op *opCall) (*opAnswer, error)
	// lookupOp asks the provider what became of the operation with op.key; found=false means
	// the provider never received it.
	lookupOp(ctx context.Context, op *opCall) (a *opAnswer, found bool, err error)
}

// fencer is a providerAPI that can make sure an attempt it has not seen can no longer take
// money (the session API cancels the session). found reports an attempt that got in first.
type fencer interface {
	fence(ctx context.Context, a *Attempt) (r AttemptResult, found bool, err error)
}

// Operate sends one operation through the connector's API (the Lifecycle's call).
func (c *Connector) operate(ctx context.Context, op *opCall) (*opAnswer, error) {
	o, ok := c.api.(operator)
	if !ok {
		return nil, errOpUnsupported
	}
	return o.operate(ctx, op)
}

func (c *Connector) lookupOp(ctx context.Context, op *opCall) (*opAnswer, bool, error) {
	o, ok := c.api.(operator)
	if !ok || !c.api.canLookup() {
		return nil, false, errLookupUnsupported
	}
	return o.lookupOp(ctx, op)
}

// parseProviderTime reads an RFC 3339 time a provider sent ("" → zero).
func parseProviderTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
