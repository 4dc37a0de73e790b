package callplan

import (
	"context"
	"time"

	"github.com/paybridge/paybridge/pan"
)

// Connector pays through one payment provider. The gateway package implements it for the
// session (VCC/PCI Pal style), generic (Twilio Generic Pay Connector) and stripe APIs.
type Connector interface {
	// Pay charges the card (Amount > 0) or tokenizes it (Amount == 0). A decline is not an
	// error: it is a PaymentResult with Status Declined and the provider's ErrorCode. An error
	// means the provider could not give an answer (network, 5xx after retries, timeout); the
	// engine then reports payment-connector-error. The connector never wipes req.Card; the
	// engine wipes it after Pay returns.
	Pay(ctx context.Context, req *PaymentRequest) (*PaymentResult, error)

	// StartSession creates (or, when SessionID is set, looks up) the provider's self-service
	// session that a voice capture and a payment link both complete.
	StartSession(ctx context.Context, req *SessionRequest) (*Session, error)

	// Authorize fetches or refreshes the connector's client-credentials token.
	Authorize(ctx context.Context) error
}

// KeyedConnector is a Connector that names itself with a key stable across restarts: the
// plan and the spec it was opened from. The engine puts the key on payment events and link
// requests, so that whatever outlives the call (the link's page, reconciliation) reaches the
// same provider, never another plan's connector of the same name.
type KeyedConnector interface {
	Connector
	Key() string
}

// LinkSender is the digital fallback: it signs a single-use payment link bound to a session and
// texts it. The gateway package implements it.
type LinkSender interface {
	SendPaymentLink(ctx context.Context, req *LinkRequest) (*LinkResult, error)
}

// Connectors opens the connector a plan's <Connector> element describes. serve and replay
// provide one backed by the gateway package (and the sandbox for baseUrl="sandbox").
type Connectors interface {
	Open(spec *ConnectorSpec) (Connector, error)
}

// ConnectorSpec is a <Connector> element after #(env:…) substitution.
type ConnectorSpec struct {
	Plan    string        // the plan that declares it ("" for a connector built in code)
	Name    string        // the name Pay/SendPaymentLink refer to
	Type    string        // "session" | "generic" | "stripe"
	BaseURL string        // "sandbox" = the embedded sandbox provider
	Account string        // AccountConfigurationId / merchant account
	Timeout time.Duration // per provider request; 0 = the connector's default

	// ClientCredentials, when set, authenticates with an OAuth2 client-credentials token.
	ClientCredentials *ClientCredentials
	// BasicAuth, when set, authenticates with HTTP Basic (generic connector).
	BasicAuth *BasicAuth
	// APIKey is a bearer secret (stripe connector), always from #(env:…).
	APIKey string
}

// ClientCredentials is the <ClientCredentials> child of a connector.
type ClientCredentials struct {
	TokenURL     string // default {baseUrl}/auth/connect/token
	ClientID     string
	ClientSecret string
	Scope        string
}

// BasicAuth is the <BasicAuth> child of a connector.
type BasicAuth struct {
	Username string
	Password string
}

// Amount is money in minor units of Currency (pence, cents; yen have none).
type Amount struct {
	Minor    int64
	Currency string // ISO 4217, upper case
}

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

// PaymentRequest is one payment attempt.
type PaymentRequest struct {
	CallID         string
	Channel        string // "voice" (a Pay step) or "link" (a payment link's page)
	SessionID      string // attach to this provider session ("" = the connector starts one)
	IdempotencyKey string // the same key for every retry of this attempt
	Amount         Amount // Minor == 0 tokenizes
	Reference      string
	Description    string
	TokenType      string // "one-time" | "reusable" (tokenize only)
	Card           Card
}

// PaymentStatus is the provider's verdict.
type PaymentStatus string

const (
	PaymentApproved PaymentStatus = "approved"
	PaymentDeclined PaymentStatus = "declined"
)

// PaymentResult is what the provider answered. It never holds card data.
type PaymentResult struct {
	Status           PaymentStatus
	SessionID        string
	ConfirmationCode string // charge id / confirmation for the caller
	Token            string // token id when tokenizing
	ErrorCode        string // provider's code on decline (card_declined, insufficient_funds, …)
	ErrorMessage     string
	ProviderStatus   int // last HTTP status from the provider
}

// SessionRequest starts a provider self-service session.
type SessionRequest struct {
	CallID    string
	SessionID string // look up this existing session instead of creating one
	Amount    Amount
	Reference string
	Phone     string // the customer's mobile, required for a digital session
	Digital   bool   // digitalselfservicesession (link) rather than selfservicesession (voice)
}

// Session is a provider self-service session.
type Session struct {
	ID        string
	State     string // provider's sessionState
	Amount    Amount // what the session is for, when the provider says (zero otherwise)
	Reference string // the session's merchant reference, when the provider says
}

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
