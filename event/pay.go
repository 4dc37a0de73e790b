package event

import "time"

// Channels a payment is made on.
const (
	ChannelVoice = "voice" // keyed on the call (Pay)
	ChannelLink  = "link"  // submitted on a payment link's page
)

// Payment results besides the Pay step's own (success, too-many-failed-attempts,
// payment-connector-error, caller-interrupted-with-star, …).
const (
	ResultSuccess    = "success"
	ResultDeclined   = "declined"    // a link submission the provider declined; a reconciled decline
	ResultNotCharged = "not-charged" // reconciliation: the provider never received the attempt
	ResultUnknown    = "unknown"     // reconciliation: the provider cannot say; a human must check
)

// Payment is what is known of one payment when an event reports it. Every payment event
// carries one, whether the payment succeeded or not, so that every payment record has its
// amount, currency, reference, connector, channel and provider session — and the masked card
// and brand once a card number was accepted.
type Payment struct {
	SessionID    string `json:"sessionId,omitempty"`    // the provider session it belongs to
	Channel      string `json:"channel"`                // ChannelVoice | ChannelLink
	Connector    string `json:"connector,omitempty"`    // the plan's connector name
	ConnectorKey string `json:"connectorKey,omitempty"` // the opened connector (plan and spec), see gateway.ConnectorKey
	Method       string `json:"method,omitempty"`       // charge | tokenize
	AmountMinor  int64  `json:"amountMinor"`
	Currency     string `json:"currency,omitempty"`
	Reference    string `json:"reference,omitempty"`
	Result       string `json:"result"`
	ErrorType    string `json:"errorType,omitempty"` // the last entry error (Pay.ErrorType)
	ErrorCode    string `json:"errorCode,omitempty"` // the provider's decline code, or the connector error's name
	MaskedCard   string `json:"maskedCard,omitempty"`
	CardType     string `json:"cardType,omitempty"`
	Confirmation string `json:"confirmation,omitempty"`
	Token        string `json:"token,omitempty"`
	AttemptKey   string `json:"attemptKey,omitempty"` // idempotency key of the provider attempt, when one was made
	Attempts     int    `json:"attempts"`             // entries keyed (voice) or submissions made (link)

	// The lifecycle (issue 15): an authorisation's hold and when it lapses, a bank account
	// paid from, the merchant's invoice, and the connectors the payment was offered to.
	PaymentMethod   string      `json:"paymentMethod,omitempty"` // credit-card | ach-debit
	BankAccountType string      `json:"bankAccountType,omitempty"`
	MaskedAccount   string      `json:"maskedAccount,omitempty"` // the bank account's mask
	AuthorizedUntil time.Time   `json:"authorizedUntil,omitzero"`
	Invoice         *Invoice    `json:"invoice,omitempty"`
	Routes          []RouteStep `json:"routes,omitempty"`
}

// Invoice is the merchant's invoice a payment settles, as events carry it (amounts in the
// payment's minor units).
type Invoice struct {
	ID          string            `json:"id"`
	Description string            `json:"description,omitempty"`
	Lines       []InvoiceLine     `json:"lines,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// InvoiceLine is one line of an Invoice.
type InvoiceLine struct {
	Description string `json:"description"`
	Quantity    int    `json:"quantity"`
	AmountMinor int64  `json:"amountMinor"`
}

// RouteStep is one connector a payment was offered to, in order.
type RouteStep struct {
	Connector    string `json:"connector"`
	ConnectorKey string `json:"connectorKey,omitempty"`
	AttemptKey   string `json:"attemptKey,omitempty"`
	Outcome      string `json:"outcome"` // approved | declined | soft-decline | unavailable | unknown | not-available
	ErrorCode    string `json:"errorCode,omitempty"`
}

// PayProgress: the Pay step asked for a field (Phase "ask"), took a key ("key") or ended an
// entry ("entered"). Digits is how many keys the field holds, never which.
type PayProgress struct {
	Phase       string `json:"phase"`
	For         string `json:"for"`
	Attempt     int    `json:"attempt,omitempty"`
	ErrorType   string `json:"errorType"` // "" = the entry was valid (or is not finished)
	Digits      int    `json:"digits"`
	Interrupted bool   `json:"interrupted,omitempty"` // the caller pressed '*'
}

// PayCompleted: a Pay step ended, whatever its result.
type PayCompleted struct {
	Payment
}

// LinkSent: a payment link was texted.
type LinkSent struct {
	LinkID       string    `json:"linkId"`
	SessionID    string    `json:"sessionId"`
	Connector    string    `json:"connector"`
	ConnectorKey string    `json:"connectorKey,omitempty"`
	AmountMinor  int64     `json:"amountMinor"`
	Currency     string    `json:"currency"`
	Reference    string    `json:"reference,omitempty"`
	ExpiresAt    time.Time `json:"expiresAt,omitzero"`
	MessageID    string    `json:"messageId,omitempty"`
	// What the link's page does beyond charging a card (its Pay step's terms): authorize,
	// ach-debit, the backup connectors after Connector.
	Method        string   `json:"method,omitempty"`
	PaymentMethod string   `json:"paymentMethod,omitempty"`
	Route         []string `json:"route,omitempty"`
}

// LinkFailed: a SendPaymentLink step could not send its link.
type LinkFailed struct {
	Connector string `json:"connector"`
	Error     string `json:"error"`
}

// LinkOpened: a payment link's page was shown.
type LinkOpened struct {
	LinkID string `json:"linkId"`
}

// LinkPaid: a submission on a payment link's page was approved.
type LinkPaid struct {
	LinkID string `json:"linkId"`
	Payment
}

// LinkDeclined: the provider declined a submission on a payment link's page; Final when the
// link allows no more.
type LinkDeclined struct {
	LinkID string `json:"linkId"`
	Final  bool   `json:"final"`
	Payment
}

// PaymentReconciled: after a crash, reconciliation learnt from the provider what became of a
// payment attempt that was in flight.
type PaymentReconciled struct {
	Payment
}

func (*PayProgress) Type() string       { return "pay.progress" }
func (*PayCompleted) Type() string      { return "pay.completed" }
func (*LinkSent) Type() string          { return "link.sent" }
func (*LinkFailed) Type() string        { return "link.failed" }
func (*LinkOpened) Type() string        { return "link.opened" }
func (*LinkPaid) Type() string          { return "link.paid" }
func (*LinkDeclined) Type() string      { return "link.declined" }
func (*PaymentReconciled) Type() string { return "payment.reconciled" }

// PaymentOf returns the payment an event reports, or nil for events that report none.
func PaymentOf(d Data) *Payment {
	switch d := d.(type) {
	case *PayCompleted:
		return &d.Payment
	case *LinkPaid:
		return &d.Payment
	case *LinkDeclined:
		return &d.Payment
	case *PaymentReconciled:
		return &d.Payment
	}
	return nil
}
