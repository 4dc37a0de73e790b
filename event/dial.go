package event

import "time"

// The events of a bridged call: <Dial>, its legs, and the payments an agent takes on it.

// ChannelAgent: a payment taken from the caller's keypad with an agent on the line (the
// Payments API, the console, <Pay mode="agent">).
const ChannelAgent = "agent"

// DialAttempted: one target of a Dial (or a provider's capture line) was tried.
type DialAttempted struct {
	Target    string `json:"target"` // the SIP URI dialled
	Result    string `json:"result"` // answered | busy | no-answer | failed | caller-hung-up
	SIPStatus int    `json:"sipStatus,omitempty"`
	Agent     string `json:"agent,omitempty"`
}

// Bridged: a target answered and the caller is bridged to it.
type Bridged struct {
	Target string `json:"target"`
	Agent  string `json:"agent,omitempty"`
}

// Unbridged: the bridge ended. By says who ended it (agent, caller, time-limit, paybridge);
// the figures are the caller→agent direction's: frames skipped for want of audio while the
// caller was sending, and the longest any relayed sample waited (jitter buffer + masker).
type Unbridged struct {
	By            string `json:"by"`
	DurationMS    int64  `json:"durationMs"`
	FramesSkipped int64  `json:"framesSkipped"`
	MaxDelayMS    int64  `json:"maxDelayMs"`
}

// AgentPayment is the masked state of a payment an agent takes on a bridged call, after each
// change: opened, a field asked for, a key (counted, never shown), a field entered, completed,
// cancelled. Nothing in it is a digit of the card: the number is masked (all '*' while it is
// keyed, the last four once it is complete and valid), the security code is its length in
// 'x's, and the expiry is published only once valid (as Pay.ExpirationDate is).
type AgentPayment struct {
	PaymentID   string `json:"paymentId"`
	Agent       string `json:"agent,omitempty"`
	Status      string `json:"status"`            // open | capturing | processing | complete | cancelled | failed
	Capture     string `json:"capture,omitempty"` // the field being taken
	Connector   string `json:"connector"`
	AmountMinor int64  `json:"amountMinor"`
	Currency    string `json:"currency,omitempty"`

	Fields        []AgentField `json:"fields"`
	Required      []string     `json:"required"`      // the fields not yet entered validly
	PartialResult bool         `json:"partialResult"` // a field is being keyed: this is progress, not its end
	CardType      string       `json:"cardType,omitempty"`
	MaskedCard    string       `json:"maskedCard,omitempty"`
	SecurityCode  string       `json:"securityCode,omitempty"` // "xxx", "xxxx"
	Expiration    string       `json:"expirationDate,omitempty"`
	ErrorType     string       `json:"errorType,omitempty"`

	// The life of the payment (issue 15): charge or authorize, a card or a bank account
	// (ach-debit: its type and the masks of its numbers, last four), the hold's expiry once
	// authorised, and the connectors it was offered to.
	Method            string    `json:"method,omitempty"`
	PaymentMethod     string    `json:"paymentMethod,omitempty"`
	BankAccountType   string    `json:"bankAccountType,omitempty"`
	BankAccountNumber string    `json:"bankAccountNumber,omitempty"` // mask
	BankRoutingNumber string    `json:"bankRoutingNumber,omitempty"` // mask
	AuthorizedUntil   time.Time `json:"authorizedUntil,omitzero"`
	Route             []string  `json:"route,omitempty"` // the connectors tried, "name:outcome"

	Result       string `json:"result,omitempty"`
	Confirmation string `json:"confirmation,omitempty"`
	Token        string `json:"token,omitempty"`
	ErrorCode    string `json:"errorCode,omitempty"`
}

// AgentField is one field of an agent payment: how many keys it holds and whether they make a
// valid entry — never which keys.
type AgentField struct {
	Name     string `json:"name"`
	Digits   int    `json:"digits"`
	Complete bool   `json:"complete"`
	Valid    bool   `json:"valid"`
	// Check is what validity means for the field, as the console shows it: luhn (card number),
	// expiry (a month not in the past), length (security code for the brand), postal.
	Check     string `json:"check"`
	ErrorType string `json:"errorType,omitempty"`
}

func (*DialAttempted) Type() string { return "dial.attempted" }
func (*Bridged) Type() string       { return "call.bridged" }
func (*Unbridged) Type() string     { return "call.unbridged" }
func (*AgentPayment) Type() string  { return "agent.payment" }

func init() {
	for _, f := range []func() Data{
		func() Data { return new(DialAttempted) },
		func() Data { return new(Bridged) },
		func() Data { return new(Unbridged) },
		func() Data { return new(AgentPayment) },
	} {
		registry[f().Type()] = f
	}
}
