package gateway

import (
	"context"
	"time"

	"github.com/paybridge/paybridge/payment"
)

// The payment ledger: what paybridge keeps of the life of each payment after the Pay step —
// its amounts (authorised, captured, refunded), the operations on it, and the append-only
// history of every change with who made it. The store package implements it in SQL (adapted
// in internal/app), MemoryLedger in memory for replay and tests.
//
// The rule that no operation may capture more than was authorised, or refund more than was
// captured, even when two nodes act at once, is the ledger's: BeginOp reserves the amount in
// the same atomic step that records the operation (one conditional UPDATE in SQL), so the
// second of two concurrent refunds finds the first one's reservation and is refused. The
// provider is asked only once the reservation holds.

// Op is one capture, void or refund as the ledger keeps it.
type Op struct {
	ID             string // paybridge's id ("op_…")
	PaymentID      string
	Kind           string // payment.OpCapture | OpVoid | OpRefund
	IdempotencyKey string // unique across operations
	AmountMinor    int64  // 0 in a request: all that is left (BeginOp fills it in)
	Currency       string
	Final          bool // capture: release the rest of the hold
	Single         bool // capture: the provider takes one capture only (it releases the rest)
	Reason         string
	State          string // payment.OpPending | OpSucceeded | OpFailed
	ProviderID     string // the operation's id at the provider
	ErrorCode      string
	ErrorMessage   string
	Actor          payment.Actor
	CallID         string
	CreatedAt      time.Time
	CompletedAt    time.Time
	SettledAt      time.Time // the provider reported the money settled (capture.settled)
}

// OpOutcome is how an operation ended (or that it is pending at the provider).
type OpOutcome struct {
	State        string // payment.OpPending | OpSucceeded | OpFailed
	ProviderID   string
	ErrorCode    string
	ErrorMessage string
	Actor        payment.Actor // who reported it (the caller's request, or the provider's webhook)
	At           time.Time
	// Expired: the provider refused a capture because the hold lapsed; the payment becomes
	// expired (nothing captured) or captured (the rest released).
	Expired bool
}

// HistoryEntry is one line of a payment's append-only history.
type HistoryEntry struct {
	ID          string
	PaymentID   string
	At          time.Time
	Actor       payment.Actor
	Action      string // authorized, charged, capture.requested, captured, capture.failed, …
	AmountMinor int64
	Currency    string
	OpID        string
	State       string // the payment's lifecycle state after the change
	Detail      string
}

// LifecycleStore is the payment ledger.
type LifecycleStore interface {
	// BeginOp records op pending and reserves its amount against the payment, atomically:
	// ErrAmountExceeds when more is asked than is left, ErrPaymentState when the payment cannot
	// do it now, ErrNotFound when there is no such payment (known, when given, describes it:
	// the ledger creates it first). An operation with the same idempotency key is returned as
	// it stands with ErrDuplicate (ErrKeyReused when it is another kind or amount).
	BeginOp(ctx context.Context, op *Op, known *payment.PaymentFacts) (*Op, *payment.PaymentFacts, error)
	// FinishOp records how the operation ended: a success moves its reservation into the
	// payment's amounts, a failure releases it, pending keeps it (and records the provider's id
	// for it). Finishing an operation that has ended already — or reporting pending again once
	// the provider's id is known — changes nothing and returns it as it is. changed is true
	// only for the one call that changed the operation: of two paths that finish it at once
	// (the API's answer and the provider's webhook, say), exactly one gets changed, and only
	// that one reports the outcome (its event, its webhook).
	FinishOp(ctx context.Context, opID string, out OpOutcome) (op *Op, facts *payment.PaymentFacts, changed bool, err error)
	// NoteOpSettled records the provider's word that a capture's money settled.
	NoteOpSettled(ctx context.Context, opID string, actor payment.Actor, at time.Time) error
	// OpByKey returns the operation with an idempotency key, or ErrNotFound.
	OpByKey(ctx context.Context, key string) (*Op, error)
	// PendingOps lists operations still pending created before before.
	PendingOps(ctx context.Context, before time.Time) ([]*Op, error)
	// PaymentFacts returns a payment's money, ErrNotFound when unknown.
	PaymentFacts(ctx context.Context, id string) (*payment.PaymentFacts, error)
	// PaymentByProviderID finds a payment by the provider's payment id (a charge id).
	PaymentByProviderID(ctx context.Context, providerPaymentID string) (*payment.PaymentFacts, error)
	// MarkPayment records what happened to a payment outside an operation, with its history
	// entry: MarkExpired ends a hold that lapsed (ErrPaymentState when it holds nothing),
	// MarkChargedBack a chargeback (ErrPaymentState when there was one already).
	MarkPayment(ctx context.Context, id, mark string, e HistoryEntry) (*payment.PaymentFacts, error)
	// ClaimExpiredHolds claims payments still holding money whose hold lapsed before now (and
	// no capture or void in flight) for this node, and returns them: each is returned to one
	// claim only — on any node — until lease has passed, so that one node releases the hold
	// and records it expired; a claimant that died mid-way is taken over after the lease.
	ClaimExpiredHolds(ctx context.Context, now time.Time, lease time.Duration) ([]*payment.PaymentFacts, error)
	// ProviderEventSeen reports whether an inbound provider event was applied already.
	ProviderEventSeen(ctx context.Context, source, id string) (bool, error)
	// RecordProviderEvent records an inbound provider event once it was applied; seen reports
	// that it had been recorded before.
	RecordProviderEvent(ctx context.Context, source, id, typ string, at time.Time) (seen bool, err error)
}

// Marks of MarkPayment.
const (
	MarkExpired     = "expired"
	MarkChargedBack = "charged_back"
)
