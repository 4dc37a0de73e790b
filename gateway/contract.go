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
}

// stripeToken is what the connector reads of POST /v1/tokens.
type stripeToken struct {
	ID string `json:"id"`
}

// stripeCharge is what the connector reads of a charge (POST /v1/charges, and each result of a
// search).
type stripeCharge struct {
	ID          string `json:"id"`
	Status      string `json:"status"` // succeeded | failed
	FailureCode string `json:"failure_code"`
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
