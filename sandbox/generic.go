package sandbox

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

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

	// paybridge's extensions of the contract: bank accounts (payment_method ach-debit), the
	// merchant's invoice, and the lifecycle methods authorize, capture, void and refund (the
	// last three name the charge_id of an earlier authorize or charge).
	PaymentMethod     string     `json:"payment_method,omitempty"`
	BankAccountType   string     `json:"bank_account_type,omitempty"`
	BankRoutingNumber digitField `json:"bank_routing_number,omitempty"` // wiped by the handler
	BankAccountNumber digitField `json:"bank_account_number,omitempty"` // wiped by the handler
	Invoice           *Invoice   `json:"invoice,omitempty"`
	ChargeID          string     `json:"charge_id,omitempty"`
	Final             bool       `json:"final,omitempty"`
	Reason            string     `json:"reason,omitempty"`
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
	defer func() {
		cardsafe.Wipe(req.CardNumber)
		cardsafe.Wipe(req.CVV)
		cardsafe.Wipe(req.BankRoutingNumber)
		cardsafe.Wipe(req.BankAccountNumber)
	}()
	if err := json.Unmarshal(body, &req); err != nil {
		bad("body is not Generic Pay Connector JSON (cardnumber, cvv and bank numbers are strings of digits)")
		return
	}
	if req.TransactionID == "" {
		bad("transaction_id is required")
		return
	}
	switch req.Method {
	case "capture", "void", "refund":
		s.genericOperation(w, &req)
		return
	case "charge", "tokenize", "authorize":
	default:
		bad("method must be charge, authorize, tokenize, capture, void or refund")
		return
	}
	bank := req.PaymentMethod == "ach-debit"
	switch {
	case req.PaymentMethod != "" && req.PaymentMethod != "credit-card" && !bank:
		bad("payment_method must be credit-card or ach-debit")
		return
	case bank && (len(req.BankAccountNumber) == 0 || len(req.BankRoutingNumber) == 0):
		bad("bank_routing_number and bank_account_number are required for ach-debit")
		return
	case !bank && len(req.CardNumber) == 0:
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
	if req.Method == "charge" || req.Method == "authorize" {
		a, err := parseAmount(req.Amount.String(), cur)
		if err != nil || a.Minor <= 0 {
			bad("amount and currency_code must be a positive decimal amount and an ISO 4217 code")
			return
		}
		minor = a.Minor
	}
	mask := pan.Mask(card.number)
	if bank {
		mask = pan.MaskAccount(req.BankAccountNumber)
	}
	fp := req.Method + "|" + mask + "|" + req.Amount.String() + "|" + cur
	s.mu.Lock()
	defer s.mu.Unlock()
	// Twilio retries with the same transaction_id: it is the idempotency key.
	if s.replay(w, "generic", req.TransactionID, fp) {
		return
	}
	var code, behaviour, last4, brand string
	if bank {
		code, behaviour = bankOutcome(req.BankRoutingNumber, req.BankAccountNumber)
		last4 = lastFourAny(req.BankAccountNumber)
	} else {
		code, behaviour = s.decide(card), behaviourOf(card.number)
		last4, brand = lastFour(card.number), brandOf(card.number)
	}
	if fc := faultDecline(r); fc != "" && code == "" {
		code = fc
	}
	var resp genericResponse
	if req.Method == "charge" || req.Method == "authorize" {
		ch := &Charge{ID: newID("ch_"), API: "generic", IdempotencyKey: req.TransactionID, Status: "succeeded",
			Amount: minor, Currency: cur, Last4: last4, Brand: brand,
			Reference: req.Parameters["reference"], SessionID: req.Parameters["session_id"], Invoice: req.Invoice, behaviour: behaviour}
		if bank {
			ch.PaymentMethod, ch.AccountType = "ach-debit", req.BankAccountType
		}
		if code != "" {
			ch.Status, ch.DeclineCode = "declined", code
		} else {
			resp.ChargeID = strp(ch.ID)
		}
		if req.Method == "authorize" {
			s.authorizeLocked(ch)
			if !ch.AuthorizedUntil.IsZero() {
				resp.AuthorizedUntil = strp(ch.AuthorizedUntil.UTC().Format(time.RFC3339Nano))
			}
		}
		s.recordCharge(ch)
		resp.Retryable = ch.Retryable
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

// genericOperation serves the capture, void and refund methods: the charge_id of an earlier
// generic authorize or charge, the amount (absent: all that is left), transaction_id the
// idempotency key. The answer names the operation and its status; a declined operation has
// error_code, a request that cannot be done is HTTP 400 with error_code.
func (s *Provider) genericOperation(w http.ResponseWriter, req *genericRequest) {
	fail := func(status int, code, msg string) {
		writeJSON(w, status, genericResponse{ErrorCode: strp(code), ErrorMessage: strp(msg)})
	}
	if req.ChargeID == "" {
		fail(http.StatusBadRequest, "invalid_request", "charge_id is required for "+req.Method)
		return
	}
	fp := req.Method + "|" + req.ChargeID + "|" + req.Amount.String() + "|" + strings.ToUpper(req.CurrencyCode)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replay(w, "generic", req.TransactionID, fp) {
		return
	}
	c := s.chargeLocked(req.ChargeID)
	if c == nil || c.API != "generic" {
		fail(http.StatusBadRequest, "invalid_request", "no such charge")
		return
	}
	op := opRequest{kind: req.Method, final: req.Final, reason: req.Reason, currency: strings.ToUpper(req.CurrencyCode)}
	if req.Amount != "" {
		a, err := parseAmount(req.Amount.String(), c.Currency)
		if err != nil {
			fail(http.StatusBadRequest, "invalid_request", "amount is not a decimal amount in "+c.Currency)
			return
		}
		op.amount = a.Minor
	}
	o, oerr := s.operateLocked(c, op, req.TransactionID)
	if oerr != nil {
		b, _ := json.Marshal(genericResponse{ErrorCode: strp(oerr.code), ErrorMessage: strp(oerr.msg)})
		s.remember("generic", req.TransactionID, fp, http.StatusBadRequest, b)
		writeRaw(w, http.StatusBadRequest, b)
		return
	}
	resp := genericResponse{ChargeID: strp(c.ID), OperationID: strp(o.ID), Status: strp(o.Status)}
	if o.ErrorCode != "" {
		resp.ErrorCode, resp.ErrorMessage = strp(o.ErrorCode), strp(declineMessage(o.ErrorCode))
	}
	b, _ := json.Marshal(resp)
	s.remember("generic", req.TransactionID, fp, http.StatusOK, b)
	writeRaw(w, http.StatusOK, b)
}
