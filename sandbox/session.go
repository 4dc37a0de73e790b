package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/paybridge/paybridge/internal/cardsafe"
	"github.com/paybridge/paybridge/pan"
)

// maxSessionDeclines is how many declined captures fail a session.
const maxSessionDeclines = 3

type paySession struct {
	ID        string
	Account   string
	CallGuid  string
	Digital   bool
	Phone     string
	Amount    amount
	Reference string
	State     string
	Declines  int
	TxnID     string
	Token     string
	ErrorCode string
	Masked    string
	Brand     string
	LinkID    string // the keys its capture line finds it by (voice sessions)
	Captures  []capture
	Invoice   *Invoice
	Created   time.Time
	Expires   time.Time
}

// invoiceField reads PaymentData.invoice, an object, into an Invoice (nil when absent or not
// an invoice).
func invoiceField(m map[string]any) *Invoice {
	v, ok := m["invoice"]
	if !ok {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var inv Invoice
	if json.Unmarshal(b, &inv) != nil || inv.ID == "" {
		return nil
	}
	return &inv
}

// fieldCI finds a PaymentData field case-insensitively ("amount", "Amount").
func fieldCI(m map[string]any, name string) string {
	for k, v := range m {
		if strings.EqualFold(strings.ReplaceAll(k, " ", ""), name) {
			switch t := v.(type) {
			case string:
				return t
			case json.Number:
				return t.String()
			case float64:
				return fmt.Sprint(t)
			}
		}
	}
	return ""
}

// sessionRequest checks a session API request's bearer token and reads its body; on a
// failure it has answered (401, or 400 for a body too large or unreadable) and reports false.
func (s *Provider) sessionRequest(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if !s.requireToken(w, r) {
		return nil, false
	}
	body, err := readBody(r)
	if err != nil {
		sessionError(w, http.StatusBadRequest, "request body too large or unreadable")
		return nil, false
	}
	return body, true
}

func sessionError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"Message": msg})
}

func (s *Provider) handleCreateSession(digital bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := s.sessionRequest(w, r)
		if !ok {
			return
		}
		var req struct {
			AccountConfigurationID string         `json:"AccountConfigurationId"`
			CallGuid               string         `json:"CallGuid"`
			PaymentData            map[string]any `json:"PaymentData"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&req); err != nil {
			sessionError(w, http.StatusBadRequest, "body is not the session JSON: "+err.Error())
			return
		}
		if req.AccountConfigurationID == "" {
			sessionError(w, http.StatusBadRequest, "AccountConfigurationId is required")
			return
		}
		cur := fieldCI(req.PaymentData, "currency")
		if cur == "" {
			cur = s.cfg.DefaultCurrency
		}
		amt := amount{Currency: strings.ToUpper(cur)}
		if a := fieldCI(req.PaymentData, "amount"); a != "" {
			var err error
			if amt, err = parseAmount(a, cur); err != nil {
				sessionError(w, http.StatusBadRequest, "PaymentData.amount is not a decimal amount in "+strings.ToUpper(cur))
				return
			}
		}
		phone := fieldCI(req.PaymentData, "CustomerPhoneNumber")
		if digital && phone == "" {
			sessionError(w, http.StatusBadRequest, "PaymentData.CustomerPhoneNumber is required for a digital session")
			return
		}
		key := r.Header.Get("Idempotency-Key")
		scope := "session-create"
		fp := string(body)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.replay(w, scope, key, fp) {
			return
		}
		now := s.now()
		sess := &paySession{
			ID: newSessionID(), Account: req.AccountConfigurationID, CallGuid: req.CallGuid,
			Digital: digital, Phone: phone, Amount: amt,
			Reference: fieldCI(req.PaymentData, "merchantTxnRef"), Invoice: invoiceField(req.PaymentData),
			State: stateCreated, Created: now, Expires: now.Add(s.cfg.SessionTTL),
		}
		s.sessions[sess.ID] = sess
		resp := map[string]any{"sessionId": sess.ID, "sessionState": sess.State, "Message": "Session created"}
		if !digital {
			sess.LinkID = s.newLinkID()
			resp["dtmfFallbackNumber"] = s.fallbackNumber()
			resp["dtmfLinkId"] = sess.LinkID
		}
		b, _ := json.Marshal(resp)
		s.remember(scope, key, fp, http.StatusOK, b)
		writeRaw(w, http.StatusOK, b)
	}
}

// session returns the session with id, expiring it if due (caller holds s.mu).
func (s *Provider) session(id string) *paySession {
	sess := s.sessions[id]
	if sess != nil && (sess.State == stateCreated || sess.State == stateInProgress) && !s.now().Before(sess.Expires) {
		sess.State = stateExpired
	}
	return sess
}

func (s *Provider) statusOf(sess *paySession) sessionStatus {
	caps := append([]capture{}, sess.Captures...)
	return sessionStatus{
		SessionID: sess.ID, SessionState: sess.State, AccountConfigurationID: sess.Account,
		CallGuid: sess.CallGuid, Digital: sess.Digital, Amount: formatAmount(sess.Amount),
		Currency: sess.Amount.Currency, MerchantTxnRef: sess.Reference, TransactionID: sess.TxnID,
		Token: sess.Token, ErrorCode: sess.ErrorCode, MaskedCard: sess.Masked, CardType: sess.Brand,
		Captures: caps, ExpiresAt: sess.Expires,
	}
}

func (s *Provider) handleGetSession(w http.ResponseWriter, r *http.Request) {
	if !s.requireToken(w, r) {
		return
	}
	s.mu.Lock()
	sess := s.session(r.PathValue("id"))
	var st sessionStatus
	if sess != nil {
		st = s.statusOf(sess)
	}
	s.mu.Unlock()
	if sess == nil {
		sessionError(w, http.StatusNotFound, "session not found")
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// captureRequest is the body of POST /globalpci/v1/session/{id}/capture (see docs/gateway.md).
type captureRequest struct {
	Method       string     `json:"method"`     // charge (default when the session has an amount) | authorize | tokenize
	CardNumber   digitField `json:"cardNumber"` // wiped by the handler
	ExpiryMonth  int        `json:"expiryMonth"`
	ExpiryYear   int        `json:"expiryYear"`
	SecurityCode digitField `json:"securityCode,omitempty"` // wiped by the handler
	PostalCode   string     `json:"postalCode,omitempty"`
	TokenType    string     `json:"tokenType,omitempty"`
	Amount       string     `json:"amount,omitempty"`   // decimal; must match the session's when it has one
	Currency     string     `json:"currency,omitempty"` // default: the session's
	// A bank account instead of a card (paymentMethod ach-debit): numbers wiped by the handler.
	PaymentMethod string            `json:"paymentMethod,omitempty"`
	BankAccount   *bankAccountField `json:"bankAccount,omitempty"`
	Invoice       *Invoice          `json:"invoice,omitempty"` // default: the session's
}

func (s *Provider) handleCapture(w http.ResponseWriter, r *http.Request, body []byte) {
	if !s.requireToken(w, r) {
		return
	}
	if body == nil {
		sessionError(w, http.StatusBadRequest, "request body too large or unreadable")
		return
	}
	var req captureRequest
	defer func() {
		cardsafe.Wipe(req.CardNumber)
		cardsafe.Wipe(req.SecurityCode)
		if req.BankAccount != nil {
			cardsafe.Wipe(req.BankAccount.RoutingNumber)
			cardsafe.Wipe(req.BankAccount.AccountNumber)
		}
	}()
	if err := json.Unmarshal(body, &req); err != nil {
		sessionError(w, http.StatusBadRequest, "body is not the capture JSON (cardNumber, securityCode and bank numbers are strings of digits)")
		return
	}
	bank := req.PaymentMethod == "ach-debit"
	switch {
	case req.PaymentMethod != "" && req.PaymentMethod != "credit-card" && !bank:
		sessionError(w, http.StatusBadRequest, "paymentMethod must be credit-card or ach-debit")
		return
	case bank && (req.BankAccount == nil || len(req.BankAccount.AccountNumber) == 0 || len(req.BankAccount.RoutingNumber) == 0):
		sessionError(w, http.StatusBadRequest, "bankAccount with routingNumber and accountNumber is required for ach-debit")
		return
	case !bank && len(req.CardNumber) == 0:
		sessionError(w, http.StatusBadRequest, "cardNumber is required")
		return
	}
	if req.Method != "" && req.Method != "charge" && req.Method != "tokenize" && req.Method != "authorize" {
		sessionError(w, http.StatusBadRequest, "method must be charge, authorize or tokenize")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		sessionError(w, http.StatusBadRequest, "Idempotency-Key header is required")
		return
	}
	id := r.PathValue("id")
	card := receivedCard{number: req.CardNumber, expMonth: req.ExpiryMonth, expYear: req.ExpiryYear}
	if len(req.SecurityCode) > 0 {
		card.securityCode = req.SecurityCode
	}
	fp := id + "|" + pan.Mask(card.number) + "|" + req.Method
	if bank {
		fp = id + "|" + pan.MaskAccount(req.BankAccount.AccountNumber) + "|" + req.Method
	}
	scope := "capture"

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replay(w, scope, key, fp) {
		return
	}
	sess := s.session(id)
	if sess == nil {
		sessionError(w, http.StatusNotFound, "session not found")
		return
	}
	if sess.State != stateCreated && sess.State != stateInProgress {
		writeJSON(w, http.StatusConflict, map[string]string{"Message": "session is " + sess.State, "sessionState": sess.State})
		return
	}
	if req.Amount != "" {
		cur := req.Currency
		if cur == "" {
			cur = sess.Amount.Currency
		}
		amt, err := parseAmount(req.Amount, cur)
		switch {
		case err != nil:
			sessionError(w, http.StatusBadRequest, "amount is not a decimal amount in "+cur)
			return
		case sess.Amount.Minor == 0:
			sess.Amount = amt // a session started without an amount takes the capture's
		case amt != sess.Amount:
			sessionError(w, http.StatusBadRequest, "amount "+formatAmount(amt)+" "+amt.Currency+" does not match the session's "+formatAmount(sess.Amount)+" "+sess.Amount.Currency)
			return
		}
	}
	if (req.Method == "charge" || req.Method == "authorize") && sess.Amount.Minor == 0 {
		sessionError(w, http.StatusBadRequest, "the session has no amount to "+req.Method)
		return
	}
	in := captureInput{card: card, method: req.Method, invoice: req.Invoice, fault: faultDecline(r),
		tokenize: req.Method == "tokenize" || (req.Method == "" && sess.Amount.Minor == 0)}
	if bank {
		in.bank = req.BankAccount
	}
	resp := s.captureInto(sess, in, key, "capture")
	b, _ := json.Marshal(resp)
	s.remember(scope, key, fp, http.StatusOK, b)
	writeRaw(w, http.StatusOK, b)
}

// captureInput is what one capture decides on: a card, or a bank account when bank is set;
// the method (charge, authorize, tokenize); an invoice sent with it (nil: the session's); and a
// decline a test asked for through the fault header ("" none).
type captureInput struct {
	card     receivedCard
	bank     *bankAccountField
	method   string
	tokenize bool
	invoice  *Invoice
	fault    string
}

// captureInto decides a card or bank account submitted to an open session, records the charge
// in the ledger and moves the session on (caller holds s.mu). source names where the card came
// from ("capture": paybridge's capture call; "line": the sandbox's own capture line).
func (s *Provider) captureInto(sess *paySession, in captureInput, key, source string) captureResponse {
	var code, behaviour string
	resp := captureResponse{SessionID: sess.ID}
	last4 := ""
	if in.bank != nil {
		code, behaviour = bankOutcome(in.bank.RoutingNumber, in.bank.AccountNumber)
		resp.MaskedAccount = pan.MaskAccount(in.bank.AccountNumber)
		last4 = lastFourAny(in.bank.AccountNumber)
	} else {
		code, behaviour = s.decide(in.card), behaviourOf(in.card.number)
		resp.MaskedCard, resp.CardType = pan.Mask(in.card.number), brandOf(in.card.number)
		last4 = lastFour(in.card.number)
	}
	if in.fault != "" && code == "" {
		code = in.fault
	}
	inv := sess.Invoice
	if in.invoice != nil {
		inv, sess.Invoice = in.invoice, in.invoice
	}
	tokenize := in.tokenize
	c := capture{IdempotencyKey: key, Source: source}
	if !tokenize {
		ch := &Charge{ID: newID("ch_"), API: "session", IdempotencyKey: key, Status: "succeeded",
			Amount: sess.Amount.Minor, Currency: sess.Amount.Currency, Last4: last4,
			Brand: resp.CardType, SessionID: sess.ID, Reference: sess.Reference, Invoice: inv, behaviour: behaviour}
		if in.bank != nil {
			ch.PaymentMethod, ch.AccountType = "ach-debit", in.bank.AccountType
		}
		if code != "" {
			ch.Status, ch.DeclineCode = "declined", code
		}
		if in.method == "authorize" {
			s.authorizeLocked(ch)
		}
		s.recordCharge(ch)
		c.TransactionID = ch.ID
		resp.Retryable = ch.Retryable
		if !ch.AuthorizedUntil.IsZero() {
			t := ch.AuthorizedUntil
			resp.AuthorizedUntil = &t
		}
	}
	sess.Masked, sess.Brand = resp.MaskedCard, resp.CardType
	if in.bank != nil {
		sess.Masked = resp.MaskedAccount
	}
	if code == "" {
		resp.Outcome, c.Outcome = "approved", "approved"
		if tokenize {
			sess.Token = newID("tok_")
			resp.Token, c.Token = sess.Token, sess.Token
		} else {
			sess.TxnID = c.TransactionID
			resp.TransactionID = c.TransactionID
		}
		sess.State, sess.ErrorCode = stateCompleted, ""
	} else {
		resp.Outcome, c.Outcome, c.ErrorCode = "declined", "declined", code
		resp.ErrorCode, resp.ErrorMessage = code, declineMessage(code)
		c.TransactionID = ""
		sess.Declines++
		sess.ErrorCode = code
		sess.State = stateInProgress
		if sess.Declines >= maxSessionDeclines {
			sess.State = stateFailed
		}
	}
	sess.Captures = append(sess.Captures, c)
	resp.SessionState = sess.State
	return resp
}

func lastFour(d []byte) string {
	if len(d) < 12 {
		return ""
	}
	return string(d[len(d)-4:])
}

// lastFourAny is the last four digits of a bank account number of 8 digits or more (the
// digits its mask shows), "" otherwise.
func lastFourAny(d []byte) string {
	if len(d) < 8 {
		return ""
	}
	return string(d[len(d)-4:])
}

// handleSessionResult accepts a result posted from outside the sandbox (a merchant's own page
// paid the session). Following the Quiq payment-key pattern, the body must be signed with the
// account's payment key in a Paybridge-Signature header; a bearer token alone (which any admin
// can mint) cannot mark a session paid.
func (s *Provider) handleSessionResult(w http.ResponseWriter, r *http.Request) {
	body, ok := s.sessionRequest(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.session(r.PathValue("id"))
	if sess == nil {
		sessionError(w, http.StatusNotFound, "session not found")
		return
	}
	key := s.cfg.PaymentKeys[sess.Account]
	if key == "" {
		sessionError(w, http.StatusForbidden, "no payment key is configured for this account")
		return
	}
	if err := verifySignature(r.Header.Get(signatureHeader), body, key, 5*time.Minute, s.now()); err != nil {
		sessionError(w, http.StatusUnauthorized, "result signature does not verify with the account's payment key")
		return
	}
	var res struct {
		Status        string `json:"status"` // paid | failed
		TransactionID string `json:"transactionId"`
	}
	if err := json.Unmarshal(body, &res); err != nil || (res.Status != "paid" && res.Status != "failed") {
		sessionError(w, http.StatusBadRequest, `body must be {"status":"paid"|"failed","transactionId":…}`)
		return
	}
	if sess.State == stateCompleted || sess.State == stateFailed || sess.State == stateExpired {
		writeJSON(w, http.StatusConflict, map[string]string{"Message": "session is " + sess.State, "sessionState": sess.State})
		return
	}
	c := capture{Source: "result", TransactionID: res.TransactionID, Outcome: "approved"}
	if res.Status == "paid" {
		sess.State, sess.TxnID = stateCompleted, res.TransactionID
	} else {
		sess.State, c.Outcome = stateFailed, "declined"
	}
	sess.Captures = append(sess.Captures, c)
	writeJSON(w, http.StatusOK, s.statusOf(sess))
}
