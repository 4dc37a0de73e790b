package event

// The life of a payment after the Pay step (docs/pay.md): operations on it (capture, void,
// refund), what the provider reported from outside (a capture settled, a refund completed or
// failed, a hold expired, a chargeback), and the routes a payment took across connectors.

// Operation is what is known of one operation on a payment, and of the payment after it.
// Every lifecycle event carries one.
type Operation struct {
	PaymentID      string `json:"paymentId"`
	OpID           string `json:"operationId,omitempty"`
	Kind           string `json:"kind,omitempty"`  // capture | void | refund ("" for marks: expiry, chargeback)
	State          string `json:"state,omitempty"` // pending | succeeded | failed
	AmountMinor    int64  `json:"amountMinor"`
	Currency       string `json:"currency"`
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	ProviderID     string `json:"providerId,omitempty"`
	Reason         string `json:"reason,omitempty"`
	ErrorCode      string `json:"errorCode,omitempty"`
	Actor          string `json:"actor"` // kind:id (admin:…, plan:…, agent:…, provider:…, system)
	// The payment after the change.
	PaymentState    string `json:"paymentState"`
	AuthorizedMinor int64  `json:"authorizedMinor"`
	CapturedMinor   int64  `json:"capturedMinor"`
	RefundedMinor   int64  `json:"refundedMinor"`
}

// PaymentCaptured: (part of) an authorisation was captured.
type PaymentCaptured struct{ Operation }

// PaymentCaptureFailed: the provider refused a capture (declined, or the hold had expired).
type PaymentCaptureFailed struct{ Operation }

// PaymentVoided: an authorisation's hold was released.
type PaymentVoided struct{ Operation }

// PaymentVoidFailed: the provider refused to release a hold.
type PaymentVoidFailed struct{ Operation }

// RefundPending: the provider accepted a refund that completes later.
type RefundPending struct{ Operation }

// RefundSucceeded: a refund completed.
type RefundSucceeded struct{ Operation }

// RefundFailed: a refund failed (refused at once, or reported failed later).
type RefundFailed struct{ Operation }

// CaptureSettled: the provider reported a capture's money settled.
type CaptureSettled struct{ Operation }

// PaymentExpired: an authorisation lapsed without being captured (in full).
type PaymentExpired struct{ Operation }

// PaymentChargedBack: the cardholder's bank took a payment back.
type PaymentChargedBack struct{ Operation }

// PayRouted: a Pay step's payment went on from one connector to the next.
type PayRouted struct {
	From       string `json:"from"`
	To         string `json:"to"`
	Reason     string `json:"reason"` // unavailable | soft-decline
	AttemptKey string `json:"attemptKey,omitempty"`
	ErrorCode  string `json:"errorCode,omitempty"`
}

func (*PaymentCaptured) Type() string      { return "payment.captured" }
func (*PaymentCaptureFailed) Type() string { return "payment.capture_failed" }
func (*PaymentVoided) Type() string        { return "payment.voided" }
func (*PaymentVoidFailed) Type() string    { return "payment.void_failed" }
func (*RefundPending) Type() string        { return "refund.pending" }
func (*RefundSucceeded) Type() string      { return "refund.succeeded" }
func (*RefundFailed) Type() string         { return "refund.failed" }
func (*CaptureSettled) Type() string       { return "capture.settled" }
func (*PaymentExpired) Type() string       { return "payment.expired" }
func (*PaymentChargedBack) Type() string   { return "payment.charged_back" }
func (*PayRouted) Type() string            { return "pay.routed" }

// OperationOf returns the lifecycle operation an event reports, or nil.
func OperationOf(d Data) *Operation {
	switch d := d.(type) {
	case *PaymentCaptured:
		return &d.Operation
	case *PaymentCaptureFailed:
		return &d.Operation
	case *PaymentVoided:
		return &d.Operation
	case *PaymentVoidFailed:
		return &d.Operation
	case *RefundPending:
		return &d.Operation
	case *RefundSucceeded:
		return &d.Operation
	case *RefundFailed:
		return &d.Operation
	case *CaptureSettled:
		return &d.Operation
	case *PaymentExpired:
		return &d.Operation
	case *PaymentChargedBack:
		return &d.Operation
	}
	return nil
}
