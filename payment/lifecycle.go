package payment

import (
	"context"
	"time"
)

// The life of a payment after the Pay step (docs/pay.md "The life of a payment"): an
// authorisation is captured — whole or in parts, up to the authorised amount — or voided, or
// it expires; what was captured can be refunded, in several refunds up to the captured
// amount; a chargeback can take it back. The gateway implements Lifecycle; the admin API, the
// console and the plan's <Capture>/<Void>/<Refund> steps drive it.

// Lifecycle moves payments. Every operation has an idempotency key (a retry with the same key
// gets the first operation back, never a second one), reserves its amount in the ledger
// before the provider is called (so that two operations on two nodes can never capture more
// than was authorised, nor refund more than was captured), and is written to the payment's
// append-only history with who asked for it.
type Lifecycle interface {
	Capture(ctx context.Context, req *OpRequest) (*OpResult, error)
	Void(ctx context.Context, req *OpRequest) (*OpResult, error)
	Refund(ctx context.Context, req *OpRequest) (*OpResult, error)
}

// Actor kinds: who moved a payment.
const (
	ActorAdmin    = "admin"    // the admin API or the console, with the admin token
	ActorAgent    = "agent"    // a contact-centre agent (the agent channel)
	ActorPlan     = "plan"     // a call plan's step
	ActorProvider = "provider" // the provider, through a verified webhook
	ActorSystem   = "system"   // paybridge itself (reconciliation, expiry)
	ActorCustomer = "customer" // the caller paying on a payment link's page
)

// Actor is who asked for an operation: a kind and an identity within it ("admin-token@10.0.0.5",
// "pay-bill/call-…", "sandbox").
type Actor struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
}

// String is "kind:id".
func (a Actor) String() string {
	if a.ID == "" {
		return a.Kind
	}
	return a.Kind + ":" + a.ID
}

// Operation kinds.
const (
	OpCapture = "capture"
	OpVoid    = "void"
	OpRefund  = "refund"
)

// Operation states: a refund of a bank payment, say, is pending until the provider says it
// completed; capture and void normally end at once.
const (
	OpPending   = "pending"
	OpSucceeded = "succeeded"
	OpFailed    = "failed"
)

// Lifecycle states of a payment's money (PaymentFacts.State); "" for a payment that moved no
// money (a token, a decline).
const (
	StateAuthorized        = "authorized"         // a hold, nothing captured yet
	StatePartiallyCaptured = "partially_captured" // some captured, the rest still held
	StateCaptured          = "captured"           // captured; nothing held any more
	StateVoided            = "voided"             // the hold was released, nothing captured
	StateExpired           = "expired"            // the hold lapsed, nothing captured
	StatePartiallyRefunded = "partially_refunded"
	StateRefunded          = "refunded"     // everything captured was refunded
	StateChargedBack       = "charged_back" // the cardholder's bank took it back
)

// OpRequest asks for one operation on a payment.
type OpRequest struct {
	PaymentID string // the payment record's id (its provider session)
	// Amount to capture or refund; Minor 0 means all that is left (of the authorisation, or of
	// what was captured). Its currency, when given, must be the payment's.
	Amount Amount
	// Final (capture) releases what is left of the authorisation after this capture.
	Final          bool
	Reason         string // refund: why (requested_by_customer, duplicate, fraudulent, or free text)
	IdempotencyKey string // "" = a fresh one; the same key returns the same operation
	Actor          Actor
	CallID         string // the call a plan step runs in
	// Known describes the payment when the caller knows it better than the ledger yet does
	// (the engine, right after its Pay step, before the payment record is written).
	Known *PaymentFacts
}

// PaymentFacts is what is known of a payment's money.
type PaymentFacts struct {
	ID                string    `json:"id"`
	CallID            string    `json:"callId,omitempty"`
	Connector         string    `json:"connector,omitempty"`
	ConnectorKey      string    `json:"connectorKey,omitempty"`
	ProviderPaymentID string    `json:"providerPaymentId,omitempty"`
	Method            string    `json:"method,omitempty"`        // charge | authorize
	PaymentMethod     string    `json:"paymentMethod,omitempty"` // credit-card | ach-debit
	Currency          string    `json:"currency"`
	AuthorizedMinor   int64     `json:"authorizedMinor"`
	CapturedMinor     int64     `json:"capturedMinor"`
	RefundedMinor     int64     `json:"refundedMinor"`
	AuthorizedUntil   time.Time `json:"authorizedUntil,omitzero"`
	State             string    `json:"state"`
}

// OpResult is where an operation stands after the call.
type OpResult struct {
	OpID           string       `json:"id"`
	Kind           string       `json:"kind"`
	State          string       `json:"state"` // pending | succeeded | failed
	Amount         Amount       `json:"-"`
	IdempotencyKey string       `json:"idempotencyKey"`
	ProviderID     string       `json:"providerId,omitempty"`
	ErrorCode      string       `json:"errorCode,omitempty"`
	ErrorMessage   string       `json:"errorMessage,omitempty"`
	Replayed       bool         `json:"replayed,omitempty"` // an earlier request with the same key
	Payment        PaymentFacts `json:"payment"`
}

// DeriveState is a payment's lifecycle state from its amounts — the one rule, which the
// gateway's memory ledger and the store both apply: charged back; still holding money
// (authorised, or partially captured); nothing captured and the hold ended (voided or
// expired, as closedAs says; "" for a payment that moved no money); else captured, partially
// refunded or refunded.
func DeriveState(holding bool, closedAs string, captured, refunded int64, chargedBack bool) string {
	switch {
	case chargedBack:
		return StateChargedBack
	case holding && captured == 0:
		return StateAuthorized
	case holding:
		return StatePartiallyCaptured
	case captured == 0:
		return closedAs
	case refunded >= captured:
		return StateRefunded
	case refunded > 0:
		return StatePartiallyRefunded
	}
	return StateCaptured
}
