package gateway

import "time"

// The JSON shapes of the provider APIs, as the connectors read them. The client owns the
// contract it speaks: a provider — the sandbox included, which keeps its own copy of these
// shapes in package sandbox — is held to them, and TestSandboxHonoursTheContract checks,
// field by field, that the sandbox's answers decode into these types and fill every field.
//
// The session API (self-service sessions plus paybridge's capture call, docs/gateway.md) and
// the Generic Pay Connector are contracts paybridge speaks in full: the shapes below list every
// field. The Stripe-shaped API and OAuth2 are other people's: the shapes list only what the
// connectors read.

// Session states of the session API.
const (
	SessionCreated    = "Created"    // waiting for a card
	SessionInProgress = "InProgress" // a card was declined; another may be submitted
	SessionCompleted  = "Completed"  // paid or tokenized: final
	SessionFailed     = "Failed"     // too many declines: final
	SessionExpired    = "Expired"    // past its lifetime: final
	SessionCancelled  = "Cancelled"  // ended by paybridge before any payment (a routing fence): final
)

// sessionCreated is the answer of POST /globalpci/v1/selfservicesession (and of the digital
// one): the shape Vonage VCC publishes.
type sessionCreated struct {
	SessionID          string `json:"sessionId"`
	SessionState       string `json:"sessionState"`
	Message            string `json:"Message"`
	DTMFFallbackNumber string `json:"dtmfFallbackNumber,omitempty"` // voice sessions only
	DTMFLinkID         string `json:"dtmfLinkId,omitempty"`         // voice sessions only
}

// SessionStatus is the JSON of GET /globalpci/v1/session/{id} (and of a signed result's answer).
type SessionStatus struct {
	SessionID              string           `json:"sessionId"`
	SessionState           string           `json:"sessionState"`
	AccountConfigurationID string           `json:"accountConfigurationId"`
	CallGuid               string           `json:"callGuid,omitempty"`
	Digital                bool             `json:"digital"`
	Amount                 string           `json:"amount"` // decimal, in Currency's minor digits
	Currency               string           `json:"currency"`
	MerchantTxnRef         string           `json:"merchantTxnRef,omitempty"`
	TransactionID          string           `json:"transactionId,omitempty"`
	Token                  string           `json:"token,omitempty"`
	ErrorCode              string           `json:"errorCode,omitempty"`
	MaskedCard             string           `json:"maskedCard,omitempty"`
	CardType               string           `json:"cardType,omitempty"`
	Captures               []SessionCapture `json:"captures"`
	ExpiresAt              time.Time        `json:"expiresAt"`
}

// SessionCapture is one capture of a session, as its status lists it: what reconciliation
// looks an attempt up by (IdempotencyKey).
type SessionCapture struct {
	IdempotencyKey string `json:"idempotencyKey"`
	Outcome        string `json:"outcome"` // approved | declined
	TransactionID  string `json:"transactionId,omitempty"`
	Token          string `json:"token,omitempty"`
	ErrorCode      string `json:"errorCode,omitempty"`
	Source         string `json:"source"` // capture | result (posted from outside)
}

// CaptureResponse is the JSON answer of POST /globalpci/v1/session/{id}/capture.
type CaptureResponse struct {
	SessionID     string `json:"sessionId"`
	SessionState  string `json:"sessionState"`
	Outcome       string `json:"outcome"` // approved | declined
	TransactionID string `json:"transactionId,omitempty"`
	Token         string `json:"token,omitempty"`
	ErrorCode     string `json:"errorCode,omitempty"`
	ErrorMessage  string `json:"errorMessage,omitempty"`
	MaskedCard    string `json:"maskedCard,omitempty"`
	CardType      string `json:"cardType,omitempty"`
	// The lifecycle and bank accounts.
	Retryable       bool       `json:"retryable,omitempty"`       // a soft decline
	AuthorizedUntil *time.Time `json:"authorizedUntil,omitempty"` // method authorize
	MaskedAccount   string     `json:"maskedAccount,omitempty"`   // ach-debit
}

// TransactionStatus is the JSON of GET /globalpci/v1/transaction/{id}: a payment's amounts
// (decimals), its hold and its operations. Reconciliation finds an operation in it by key.
type TransactionStatus struct {
	TransactionID   string              `json:"transactionId"`
	SessionID       string              `json:"sessionId,omitempty"`
	State           string              `json:"state"`
	Method          string              `json:"method"`
	PaymentMethod   string              `json:"paymentMethod"`
	Amount          string              `json:"amount"`
	Currency        string              `json:"currency"`
	Authorized      string              `json:"authorized"`
	Captured        string              `json:"captured"`
	Refunded        string              `json:"refunded"`
	AuthorizedUntil *time.Time          `json:"authorizedUntil,omitempty"`
	Disputed        bool                `json:"disputed"`
	Operations      []TransactionOpJSON `json:"operations"`
}

// TransactionOpJSON is one capture, void or refund of a transaction.
type TransactionOpJSON struct {
	OperationID    string `json:"operationId"`
	Kind           string `json:"kind"`
	IdempotencyKey string `json:"idempotencyKey"`
	Status         string `json:"status"` // pending | succeeded | failed
	Amount         string `json:"amount"`
	Reason         string `json:"reason,omitempty"`
	ErrorCode      string `json:"errorCode,omitempty"`
}

// OperationAnswer is the answer of POST /globalpci/v1/transaction/{id}/{capture|void|refund}.
type OperationAnswer struct {
	TransactionOpJSON
	Transaction TransactionStatus `json:"transaction"`
}

// opErrorBody is the body of a refused operation (4xx): {"Message": …, "errorCode": …}.
type opErrorBody struct {
	Message   string `json:"Message"`
	ErrorCode string `json:"errorCode"`
}

// ProviderEvent is an event a provider posts to paybridge (POST /webhooks/provider/{name}),
// signed with the provider's webhook secret: the sandbox's format, which paybridge owns.
type ProviderEvent struct {
	ID      string            `json:"id"`
	Type    string            `json:"type"`    // capture.settled | refund.succeeded | refund.failed | authorization.expired | chargeback.created
	Created int64             `json:"created"` // Unix seconds
	Data    ProviderEventData `json:"data"`
}

// ProviderEventData is what a provider event is about.
type ProviderEventData struct {
	TransactionID  string `json:"transactionId"`
	API            string `json:"api"`
	OperationID    string `json:"operationId,omitempty"`
	Kind           string `json:"kind,omitempty"`
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	Status         string `json:"status"`
	Amount         string `json:"amount"`
	Currency       string `json:"currency"`
	Captured       string `json:"captured"`
	Refunded       string `json:"refunded"`
	Reason         string `json:"reason,omitempty"`
	ErrorCode      string `json:"errorCode,omitempty"`
}

// sessionMessage is the body of a session API error (4xx): {"Message": "…"}.
type sessionMessage struct {
	Message string `json:"Message"`
}

// GenericResponse is the Generic Pay Connector response body: exactly one of ChargeID / TokenID
// on success, ErrorCode and ErrorMessage (HTTP 200) on a decline.
type GenericResponse struct {
	ChargeID     *string `json:"charge_id"`
	TokenID      *string `json:"token_id,omitempty"`
	ErrorCode    *string `json:"error_code"`
	ErrorMessage *string `json:"error_message"`
	// paybridge's extensions: soft declines, authorisations, lifecycle methods.
	Retryable       bool    `json:"retryable,omitempty"`
	AuthorizedUntil *string `json:"authorized_until,omitempty"`
	OperationID     *string `json:"operation_id,omitempty"`
	Status          *string `json:"status,omitempty"`
}

// stripeToken is what the connector reads of POST /v1/tokens.
type stripeToken struct {
	ID string `json:"id"`
}

// stripeCharge is what the connector reads of a charge (POST /v1/charges, and each result of a
// search).
type stripeCharge struct {
	ID             string `json:"id"`
	Status         string `json:"status"` // succeeded | failed
	FailureCode    string `json:"failure_code"`
	Captured       bool   `json:"captured"`
	AmountCaptured int64  `json:"amount_captured"`
	AmountRefunded int64  `json:"amount_refunded"`
}

// stripeRefund is what the connector reads of a refund (POST /v1/refunds, GET /v1/refunds).
type stripeRefund struct {
	ID            string            `json:"id"`
	Amount        int64             `json:"amount"`
	Status        string            `json:"status"` // pending | succeeded | failed | canceled
	FailureReason string            `json:"failure_reason"`
	Metadata      map[string]string `json:"metadata"`
}

// stripeRefundList is what the connector reads of GET /v1/refunds?charge=.
type stripeRefundList struct {
	Data []stripeRefund `json:"data"`
}

// stripeSearch is what the connector reads of GET /v1/charges/search.
type stripeSearch struct {
	Data []stripeCharge `json:"data"`
}

// stripeErrorBody is a Stripe error answer (a 402 card error, or any 4xx).
type stripeErrorBody struct {
	Error struct {
		Type        string `json:"type"`
		Code        string `json:"code"`
		DeclineCode string `json:"decline_code"`
		Message     string `json:"message"`
		Charge      string `json:"charge"`
	} `json:"error"`
}

// declineCode is the most specific code of a Stripe card error: an issuer decline is
// card_declined with the reason in decline_code (generic_decline says nothing more).
func (e *stripeErrorBody) declineCode() string {
	if e.Error.Code == "card_declined" && e.Error.DeclineCode != "" && e.Error.DeclineCode != "generic_decline" {
		return e.Error.DeclineCode
	}
	return e.Error.Code
}
