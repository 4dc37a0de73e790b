package sandbox

import (
	"net/http"
	"slices"
	"time"
)

// Charge is one charge in the sandbox's ledger: approved or declined, keyed by the
// idempotency key it arrived with. It holds the card's last four digits and brand only.
type Charge struct {
	ID             string    `json:"id"`
	API            string    `json:"api"` // session | generic | stripe
	IdempotencyKey string    `json:"idempotency_key"`
	Status         string    `json:"status"` // succeeded | declined
	Amount         int64     `json:"amount"` // minor units
	Currency       string    `json:"currency"`
	Last4          string    `json:"last4"`
	Brand          string    `json:"brand"`
	DeclineCode    string    `json:"decline_code,omitempty"`
	SessionID      string    `json:"session_id,omitempty"`
	Reference      string    `json:"reference,omitempty"`
	Created        time.Time `json:"created"`

	// The life of the payment (txn.go). A charge captures its amount at once; an
	// authorisation holds it until captured (in parts, up to Authorized), voided or expired.
	Method          string      `json:"method,omitempty"`         // charge | authorize
	PaymentMethod   string      `json:"payment_method,omitempty"` // credit-card | ach-debit
	AccountType     string      `json:"bank_account_type,omitempty"`
	Authorized      int64       `json:"authorized"`
	Captured        int64       `json:"captured"`
	Refunded        int64       `json:"refunded"`
	AuthorizedUntil time.Time   `json:"authorized_until,omitzero"`
	Disputed        bool        `json:"disputed,omitempty"`
	Operations      []Operation `json:"operations,omitempty"`
	Invoice         *Invoice    `json:"invoice,omitempty"`
	Retryable       bool        `json:"retryable,omitempty"` // a soft decline

	behaviour string // the test card's lifecycle behaviour
}

// receivedCard is a card as the sandbox received it, for deciding an outcome.
type receivedCard struct {
	number       []byte
	expMonth     int
	expYear      int
	securityCode []byte // nil when not sent
}

// decide returns the decline code for a card ("" = approve): invalid numbers and expiry dates,
// a security code of the wrong length, then the test-card table.
func (s *Provider) decide(c receivedCard) string {
	if !luhnValid(c.number) {
		return CodeIncorrectNumber
	}
	if c.expMonth < 1 || c.expMonth > 12 || c.expYear < 2000 || c.expYear > 2100 {
		return CodeExpiredCard
	}
	now := s.now()
	if c.expYear*12+c.expMonth < now.Year()*12+int(now.Month()) {
		return CodeExpiredCard
	}
	if c.securityCode != nil {
		want := 3
		if brandOf(c.number) == "amex" {
			want = 4
		}
		if len(c.securityCode) != want || !digitBytes(c.securityCode) {
			return CodeIncorrectCVC
		}
	}
	return sandboxOutcome(c.number)
}

// declineMessage is the human text for a decline code.
func declineMessage(code string) string {
	switch code {
	case CodeCardDeclined:
		return "Your card was declined."
	case CodeInsufficientFunds:
		return "Your card has insufficient funds."
	case CodeExpiredCard:
		return "Your card has expired."
	case CodeIncorrectCVC:
		return "Your card's security code is incorrect."
	case CodeProcessingError:
		return "An error occurred while processing your card. Try again in a little bit."
	case CodeIncorrectNumber:
		return "Your card number is incorrect."
	case CodeAuthorizationExpired:
		return "The authorization has expired and can no longer be captured."
	case CodeCaptureDeclined:
		return "The issuer declined the capture."
	case CodeRefundFailed:
		return "The refund could not be made to the card: it has expired or been cancelled."
	case CodeInvalidRoutingNumber:
		return "The routing number is not valid."
	case CodeInvalidAccountNumber:
		return "The bank account number is not valid."
	case CodeNoAccount:
		return "The bank account could not be located."
	case CodeDebitNotAuthorized:
		return "The account holder has not authorized debits."
	}
	return "The payment was not approved."
}

// recordCharge appends a charge to the ledger; the caller holds s.mu. An approved charge
// captures its amount (an authorisation holds it: placeLocked).
func (s *Provider) recordCharge(c *Charge) {
	c.Created = s.now()
	if c.Method == "" {
		c.Method = "charge"
	}
	if c.PaymentMethod == "" {
		c.PaymentMethod = "credit-card"
	}
	if c.Status == "succeeded" {
		c.Authorized, c.Captured = c.Amount, c.Amount
	}
	if c.DeclineCode != "" {
		c.Retryable = retryableCodes[c.DeclineCode]
	}
	s.charges = append(s.charges, c)
	s.byID[c.ID] = c
	s.afterPlacedLocked(c)
}

// replay returns the stored answer for an idempotency key (caller holds s.mu). A key reused
// with a different request is a conflict (422), as with Stripe.
func (s *Provider) replay(w http.ResponseWriter, scope, key, fingerprint string) bool {
	if key == "" {
		return false
	}
	rp, ok := s.idem[scope+":"+key]
	if !ok {
		return false
	}
	if rp.fingerprint != fingerprint {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": map[string]string{
			"type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same parameters they were first used with."}})
		return true
	}
	w.Header().Set("Idempotent-Replayed", "true")
	writeRaw(w, rp.status, rp.body)
	return true
}

// remember stores the answer for an idempotency key (caller holds s.mu).
func (s *Provider) remember(scope, key, fingerprint string, status int, body []byte) {
	if key == "" {
		return
	}
	s.idem[scope+":"+key] = &storedAnswer{fingerprint: fingerprint, status: status, body: body, at: s.now()}
	s.sweepLocked()
}

// Ledger returns every charge, oldest first.
func (s *Provider) Ledger() []Charge {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Charge, len(s.charges))
	for i, c := range s.charges {
		s.expireLocked(c)
		out[i] = *c
		out[i].Operations = slices.Clone(c.Operations)
	}
	return out
}

// Ledger is the JSON of GET /ledger.
type Ledger struct {
	Charges   []Charge         `json:"charges"`
	Succeeded int              `json:"succeeded"` // charges and authorisations approved
	Declined  int              `json:"declined"`
	Captured  map[string]int64 `json:"captured"` // currency → minor units captured
	Refunded  map[string]int64 `json:"refunded"` // currency → minor units refunded
}

func (s *Provider) handleLedger(w http.ResponseWriter, _ *http.Request) {
	l := Ledger{Charges: s.Ledger(), Captured: map[string]int64{}, Refunded: map[string]int64{}}
	for _, c := range l.Charges {
		if c.Status == "declined" {
			l.Declined++
			continue
		}
		l.Succeeded++
		l.Captured[c.Currency] += c.Captured
		if c.Refunded > 0 {
			l.Refunded[c.Currency] += c.Refunded
		}
	}
	slices.SortStableFunc(l.Charges, func(a, b Charge) int { return a.Created.Compare(b.Created) })
	writeJSON(w, http.StatusOK, l)
}
