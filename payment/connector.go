package payment

import (
	"context"
	"time"
)

// Connector pays through one payment provider. The gateway package implements it for the
// session (VCC/PCI Pal style), generic (Twilio Generic Pay Connector) and stripe APIs.
type Connector interface {
	// Pay charges the card (Amount > 0) or tokenizes it (Amount == 0). A decline is not an
	// error: it is a Result with Status Declined and the provider's ErrorCode. An error
	// means the provider could not give an answer (network, 5xx after retries, timeout); the
	// engine then reports payment-connector-error. The connector never wipes req.Card; the
	// engine wipes it after Pay returns.
	Pay(ctx context.Context, req *Request) (*Result, error)

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

	// Merchant is who its payment page and link texts name (nil: serve's default). It is
	// not part of the connector's key: rebranding keeps links already sent working.
	Merchant *Merchant

	// Capture says who takes the card on a voice call (session connectors only):
	// CapturePaybridge ("" too) — the caller keys it to paybridge's Pay step, which posts it
	// to the session; CaptureProvider — the caller is bridged to the session's own capture line
	// (its dtmfFallbackNumber), the session's dtmfLinkId is keyed towards it, and the session's
	// status says how it went.
	Capture string
}

// Who takes the card (ConnectorSpec.Capture).
const (
	CapturePaybridge = "paybridge"
	CaptureProvider  = "provider"
)

// CapturesOnProviderLine reports whether a Pay step on this connector bridges the caller to the
// provider's capture line instead of taking the card itself.
func (s *ConnectorSpec) CapturesOnProviderLine() bool { return s.Capture == CaptureProvider }

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
