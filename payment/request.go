package payment

import (
	"time"

	"github.com/paybridge/paybridge/pan"
)

// Card is the captured card. Number and SecurityCode are secure buffers owned by the Pay step;
// the connector copies them only into its request body (pan.SecureBuffer.AppendTo) and zeroes
// that body after sending.
type Card struct {
	Number       *pan.SecureBuffer
	SecurityCode *pan.SecureBuffer // nil when the plan does not ask for it
	ExpMonth     int               // 1–12
	ExpYear      int               // four digits
	PostalCode   string            // not card data; may be empty
	Brand        string            // visa, mastercard, amex, … (as in validCardTypes)
}

// Request is one payment attempt.
type Request struct {
	CallID         string
	Channel        string // "voice" (a Pay step), "link" (a payment link's page) or "agent"
	SessionID      string // attach to this provider session ("" = the connector starts one)
	IdempotencyKey string // the same key for every retry of this attempt
	Amount         Amount // Minor == 0 tokenizes
	// Method is charge, authorize or tokenize; "" means charge when Amount.Minor > 0 and
	// tokenize otherwise (MethodOf).
	Method      string
	Reference   string
	Description string
	TokenType   string // "one-time" | "reusable" (tokenize only)
	// PaymentMethod is credit-card ("" too: Card is set) or ach-debit (Bank is set).
	PaymentMethod string
	Card          Card
	Bank          *BankAccount
	Invoice       *Invoice // the merchant's invoice, carried to the provider (nil: none)
	// Settle asks the connector, before it returns an error, to establish whether the
	// provider took the payment: it does when the payment may go on to another connector
	// (routing). An error wrapping ErrNotCharged then proves it did not; any other error
	// leaves the outcome unknown.
	Settle bool
}

// MethodOf is the request's method: Method, or charge/tokenize by the amount.
func (r *Request) MethodOf() string {
	switch {
	case r.Method != "":
		return r.Method
	case r.Amount.Minor == 0:
		return MethodTokenize
	}
	return MethodCharge
}

// IsBank reports whether the request pays from a bank account (ach-debit).
func (r *Request) IsBank() bool { return r.PaymentMethod == PaymentMethodACH }

// Status is the provider's verdict.
type Status string

const (
	Approved Status = "approved"
	Declined Status = "declined"
)

// Result is what the provider answered. It never holds card data.
type Result struct {
	Status           Status
	SessionID        string
	ConfirmationCode string // charge id / confirmation for the caller
	Token            string // token id when tokenizing
	ErrorCode        string // provider's code on decline (card_declined, insufficient_funds, …)
	ErrorMessage     string
	ProviderStatus   int // last HTTP status from the provider
	// Retryable: the provider marked the decline as soft (try again, or elsewhere): the only
	// decline after which a routed payment goes on to the next connector.
	Retryable bool
	// AuthorizedUntil is when an authorisation (Method authorize) lapses if not captured.
	AuthorizedUntil time.Time
	// MaskedAccount is the mask of the bank account paid from (ach-debit).
	MaskedAccount string
}

// SessionRequest starts a provider self-service session.
type SessionRequest struct {
	CallID    string
	SessionID string // look up this existing session instead of creating one
	Amount    Amount
	Reference string
	Phone     string // the customer's mobile, required for a digital session
	Digital   bool   // digitalselfservicesession (link) rather than selfservicesession (voice)
	Invoice   *Invoice
}

// Session is a provider self-service session.
type Session struct {
	ID        string
	State     string // provider's sessionState
	Amount    Amount // what the session is for, when the provider says (zero otherwise)
	Reference string // the session's merchant reference, when the provider says

	// The provider's own capture line of a voice session (capture="provider"): the number the
	// provider answers (dtmfFallbackNumber), where the connector dials it (a SIP URI: the
	// sandbox's line, or the number through the operator's trunk), and the id keyed towards
	// it so it finds the session (dtmfLinkId).
	FallbackNumber string
	FallbackURI    string
	LinkID         string

	// What the provider says of the outcome, once it has one (masked, never card data).
	TransactionID string
	Token         string
	ErrorCode     string
	MaskedCard    string
	CardType      string
}

// The provider session states paybridge acts on (VCC's sessionState values).
const (
	SessionCompleted = "Completed" // paid or tokenized: final
	SessionFailed    = "Failed"    // too many declines: final
	SessionExpired   = "Expired"   // never paid in time: final
)

// DefaultLinkTTL is how long a payment link lives when the plan does not say (ttl).
const DefaultLinkTTL = 24 * time.Hour

// MaxLinkTTL is the one limit on a payment link's lifetime: validate refuses a longer ttl and
// the gateway never issues one. A link completes a provider session, and the sessions it
// attaches to live 7 days.
const MaxLinkTTL = 7 * 24 * time.Hour

// LinkRequest asks for a payment link to be texted.
type LinkRequest struct {
	CallID       string
	Connector    string // the plan's connector name
	ConnectorKey string // the opened connector's key (KeyedConnector), "" when it has none
	To           string // E.164 mobile
	CallerID     string // the caller's own number, for the SMS-pumping guard
	// TrustedNumbers are the values the plan obtained from its own lookups (the variables
	// ApiInteraction fields set: a customer's mobile number from a billing system, say). The
	// SMS-pumping guard trusts a number found here as much as the caller's own: the plan's
	// back office supplied it, not the caller's keypad.
	TrustedNumbers []string
	Amount         Amount // zero: the session's amount (SessionID must be set)
	Reference      string
	SessionID      string // attach to this session ("" = start a digital session)
	TTL            time.Duration
	Invoice        *Invoice // shown on the payment page and carried with the payment
	// Terms say what the page does beyond charging a card through Connector: authorize, a
	// bank account, a route of backup connectors (nil: charge a card).
	Terms *LinkTerms
}

// LinkResult describes a sent link without its secret token.
type LinkResult struct {
	LinkID    string // public id of the link (not the token)
	SessionID string
	Amount    Amount // what the link pays
	Reference string
	ExpiresAt time.Time
	MessageID string // SMS outbox / provider message id
}
