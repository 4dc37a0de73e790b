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
	stateCancelled  = "Cancelled"  // ended by the merchant before any payment: final
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
	// Lifecycle and bank payments.
	Retryable       bool       `json:"retryable,omitempty"`       // a soft decline: another try may approve
	AuthorizedUntil *time.Time `json:"authorizedUntil,omitempty"` // method authorize: when the hold lapses
	MaskedAccount   string     `json:"maskedAccount,omitempty"`   // ach-debit: the account's mask
}

// genericResponse is the Generic Pay Connector response body: exactly one of ChargeID / TokenID
// on success, ErrorCode and ErrorMessage (HTTP 200) on a decline.
type genericResponse struct {
	ChargeID     *string `json:"charge_id"`
	TokenID      *string `json:"token_id,omitempty"`
	ErrorCode    *string `json:"error_code"`
	ErrorMessage *string `json:"error_message"`
	// paybridge's extensions of the contract (lifecycle methods, soft declines).
	Retryable       bool    `json:"retryable,omitempty"`
	AuthorizedUntil *string `json:"authorized_until,omitempty"` // RFC 3339, method authorize
	OperationID     *string `json:"operation_id,omitempty"`     // capture, void, refund
	Status          *string `json:"status,omitempty"`           // capture, void, refund: pending | succeeded | failed
}

// providerEvent is an event the sandbox posts to the merchant (events.go).
type providerEvent struct {
	ID      string            `json:"id"`
	Type    string            `json:"type"`
	Created int64             `json:"created"` // Unix seconds
	Data    providerEventData `json:"data"`
}

// providerEventData is what an event is about: a transaction, and one of its operations when
// the event is about one.
type providerEventData struct {
	TransactionID  string `json:"transactionId"`
	API            string `json:"api"` // session | generic | stripe
	OperationID    string `json:"operationId,omitempty"`
	Kind           string `json:"kind,omitempty"` // capture | void | refund
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	Status         string `json:"status"` // the operation's, else the transaction's
	Amount         string `json:"amount"` // decimal: the operation's, the chargeback's, else the transaction's
	Currency       string `json:"currency"`
	Captured       string `json:"captured"` // the transaction's totals after the event
	Refunded       string `json:"refunded"`
	Reason         string `json:"reason,omitempty"`
	ErrorCode      string `json:"errorCode,omitempty"`
}

// Invoice is a merchant invoice as the sandbox's APIs carry it (session data, capture and
// generic bodies): amounts are decimals in the payment's currency.
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
	Amount      string `json:"amount"` // each
}

// bankAccountField is the bank account of a capture or generic request (ach-debit): the two
// numbers are decoded straight into slices the handler wipes.
type bankAccountField struct {
	RoutingNumber digitField `json:"routingNumber"`
	AccountNumber digitField `json:"accountNumber"`
	AccountType   string     `json:"accountType"`
}

// transactionStatus is the JSON of GET /globalpci/v1/transaction/{id} and the "transaction" of
// an operation's answer.
type transactionStatus struct {
	TransactionID   string        `json:"transactionId"`
	SessionID       string        `json:"sessionId,omitempty"`
	State           string        `json:"state"` // succeeded | authorized | partially_captured | captured | voided | expired | declined
	Method          string        `json:"method"`
	PaymentMethod   string        `json:"paymentMethod"`
	Amount          string        `json:"amount"`
	Currency        string        `json:"currency"`
	Authorized      string        `json:"authorized"`
	Captured        string        `json:"captured"`
	Refunded        string        `json:"refunded"`
	AuthorizedUntil *time.Time    `json:"authorizedUntil,omitempty"`
	Disputed        bool          `json:"disputed"`
	Operations      []operationJS `json:"operations"`
}

// operationJS is one operation of a transaction, and the answer of an operation request.
type operationJS struct {
	OperationID    string `json:"operationId"`
	Kind           string `json:"kind"`
	IdempotencyKey string `json:"idempotencyKey"`
	Status         string `json:"status"` // pending | succeeded | failed
	Amount         string `json:"amount"`
	Reason         string `json:"reason,omitempty"`
	ErrorCode      string `json:"errorCode,omitempty"`
}

// operationAnswer is the JSON answer of POST /globalpci/v1/transaction/{id}/{capture|void|refund}.
type operationAnswer struct {
	operationJS
	Transaction transactionStatus `json:"transaction"`
}
