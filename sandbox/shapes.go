package sandbox

import "time"

// The JSON the sandbox answers the session and generic APIs with. The sandbox keeps its own
// copy of these shapes, as any provider does: it shares no code with the gateway's client, so
// a field renamed on one side only is not hidden by a shared type. Whether the two copies
// agree, field by field, is what gateway's TestSandboxHonoursTheContract checks.

// Session states.
const (
	stateCreated    = "Created"    // waiting for a card
	stateInProgress = "InProgress" // a card was declined; another may be submitted
	stateCompleted  = "Completed"  // paid or tokenized: final
	stateFailed     = "Failed"     // too many declines: final
	stateExpired    = "Expired"    // past its lifetime: final
)

// sessionStatus is the JSON of GET /globalpci/v1/session/{id}.
type sessionStatus struct {
	SessionID              string    `json:"sessionId"`
	SessionState           string    `json:"sessionState"`
	AccountConfigurationID string    `json:"accountConfigurationId"`
	CallGuid               string    `json:"callGuid,omitempty"`
	Digital                bool      `json:"digital"`
	Amount                 string    `json:"amount"`
	Currency               string    `json:"currency"`
	MerchantTxnRef         string    `json:"merchantTxnRef,omitempty"`
	TransactionID          string    `json:"transactionId,omitempty"`
	Token                  string    `json:"token,omitempty"`
	ErrorCode              string    `json:"errorCode,omitempty"`
	MaskedCard             string    `json:"maskedCard,omitempty"`
	CardType               string    `json:"cardType,omitempty"`
	Captures               []capture `json:"captures"`
	ExpiresAt              time.Time `json:"expiresAt"`
}

// capture is one capture of a session, as its status lists it.
type capture struct {
	IdempotencyKey string `json:"idempotencyKey"`
	Outcome        string `json:"outcome"` // approved | declined
	TransactionID  string `json:"transactionId,omitempty"`
	Token          string `json:"token,omitempty"`
	ErrorCode      string `json:"errorCode,omitempty"`
	Source         string `json:"source"` // capture | line | result
}

// captureResponse is the JSON answer of POST /globalpci/v1/session/{id}/capture.
type captureResponse struct {
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

// genericResponse is the Generic Pay Connector response body: exactly one of ChargeID / TokenID
// on success, ErrorCode and ErrorMessage (HTTP 200) on a decline.
type genericResponse struct {
	ChargeID     *string `json:"charge_id"`
	TokenID      *string `json:"token_id,omitempty"`
	ErrorCode    *string `json:"error_code"`
	ErrorMessage *string `json:"error_message"`
}
