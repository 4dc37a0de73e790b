package sandbox

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/paybridge/paybridge/internal/cardsafe"
	"github.com/paybridge/paybridge/pan"
)

// genericRequest is Twilio's Generic Pay Connector request body, as the sandbox reads it.
type genericRequest struct {
	TransactionID string            `json:"transaction_id"`
	Method        string            `json:"method"`     // charge | tokenize
	CardNumber    digitField        `json:"cardnumber"` // wiped by the handler
	CVV           digitField        `json:"cvv"`        // wiped by the handler
	ExpiryMonth   string            `json:"expiry_month"`
	ExpiryYear    string            `json:"expiry_year"`
	PostalCode    string            `json:"postal_code"`
	Description   string            `json:"description"`
	Amount        json.Number       `json:"amount"`
	CurrencyCode  string            `json:"currency_code"`
	TokenType     string            `json:"token_type"`
	Parameters    map[string]string `json:"parameters"`
}

func strp(s string) *string { return &s }

func (s *Provider) handleGeneric(w http.ResponseWriter, r *http.Request, body []byte) {
	if !s.requireBasic(w, r) {
		return
	}
	bad := func(msg string) {
		writeJSON(w, http.StatusBadRequest, genericResponse{ErrorCode: strp("invalid_request"), ErrorMessage: strp(msg)})
	}
	if body == nil {
		bad("request body too large or unreadable")
		return
	}
	var req genericRequest
	defer func() { cardsafe.Wipe(req.CardNumber); cardsafe.Wipe(req.CVV) }()
	if err := json.Unmarshal(body, &req); err != nil {
		bad("body is not Generic Pay Connector JSON (cardnumber and cvv are strings of digits)")
		return
	}
	if req.TransactionID == "" {
		bad("transaction_id is required")
		return
	}
	if req.Method != "charge" && req.Method != "tokenize" {
		bad("method must be charge or tokenize")
		return
	}
	if len(req.CardNumber) == 0 {
		bad("cardnumber is required")
		return
	}
	em, _ := strconv.Atoi(req.ExpiryMonth)
	ey, _ := strconv.Atoi(req.ExpiryYear)
	if ey > 0 && ey < 100 {
		ey += 2000
	}
	card := receivedCard{number: req.CardNumber, expMonth: em, expYear: ey}
	if len(req.CVV) > 0 {
		card.securityCode = req.CVV
	}
	cur := strings.ToUpper(req.CurrencyCode)
	var minor int64
	if req.Method == "charge" {
		a, err := parseAmount(req.Amount.String(), cur)
		if err != nil || a.Minor <= 0 {
			bad("amount and currency_code must be a positive decimal amount and an ISO 4217 code")
			return
		}
		minor = a.Minor
	}
	fp := req.Method + "|" + pan.Mask(card.number) + "|" + req.Amount.String() + "|" + cur
	s.mu.Lock()
	defer s.mu.Unlock()
	// Twilio retries with the same transaction_id: it is the idempotency key.
	if s.replay(w, "generic", req.TransactionID, fp) {
		return
	}
	code := s.decide(card)
	var resp genericResponse
	if req.Method == "charge" {
		ch := &Charge{ID: newID("ch_"), API: "generic", IdempotencyKey: req.TransactionID, Status: "succeeded",
			Amount: minor, Currency: cur, Last4: lastFour(card.number), Brand: brandOf(card.number),
			Reference: req.Parameters["reference"]}
		if code != "" {
			ch.Status, ch.DeclineCode = "declined", code
		} else {
			resp.ChargeID = strp(ch.ID)
		}
		s.recordCharge(ch)
	} else if code == "" {
		resp.TokenID = strp(newID("tok_"))
	}
	if code != "" {
		resp.ErrorCode, resp.ErrorMessage = strp(code), strp(declineMessage(code))
	}
	b, _ := json.Marshal(resp)
	s.remember("generic", req.TransactionID, fp, http.StatusOK, b)
	writeRaw(w, http.StatusOK, b)
}
