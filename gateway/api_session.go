package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/paybridge/paybridge/internal/cardsafe"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// sessionAPI speaks the self-service session model of Vonage VCC / PCI Pal, plus
// the capture call paybridge uses to submit a voice session's card (docs/gateway.md).
type sessionAPI struct{ c *Connector }

// paysIntoSession: a capture goes into a session, which the attempt names.
func (s *sessionAPI) paysIntoSession() bool { return true }

// canLookup: the session's status lists its captures by idempotency key.
func (s *sessionAPI) canLookup() bool { return true }

func (s *sessionAPI) sessionURL(id string) string {
	return s.c.base + "/globalpci/v1/session/" + url.PathEscape(id)
}

func (s *sessionAPI) startSession(ctx context.Context, req *payment.SessionRequest) (*payment.Session, error) {
	if req.SessionID != "" {
		st, err := s.status(ctx, req.CallID, req.SessionID)
		if err != nil {
			return nil, err
		}
		// What the provider says of the outcome: a capture on its own line (capture="provider")
		// is known to paybridge only through this status.
		sess := &payment.Session{ID: st.SessionID, State: st.SessionState, Reference: st.MerchantTxnRef,
			TransactionID: st.TransactionID, Token: st.Token, ErrorCode: st.ErrorCode,
			MaskedCard: st.MaskedCard, CardType: st.CardType}
		if st.Amount != "" && st.Currency != "" {
			if a, err := ParseAmount(st.Amount, st.Currency); err == nil {
				sess.Amount = a
			}
		}
		return sess, nil
	}
	pd := map[string]string{
		"amount":         FormatAmount(req.Amount),
		"currency":       req.Amount.Currency,
		"merchantTxnRef": req.Reference,
	}
	path := "/globalpci/v1/selfservicesession"
	kind := "voice"
	if req.Digital {
		if req.Phone == "" {
			return nil, fmt.Errorf("%w: a digital session needs the customer's phone number", ErrConnectorConfig)
		}
		pd["CustomerPhoneNumber"] = req.Phone
		path = "/globalpci/v1/digitalselfservicesession"
		kind = "digital"
	}
	payData := map[string]any{}
	for k, v := range pd {
		payData[k] = v
	}
	if inv := toInvoiceWire(req.Invoice, req.Amount.Currency); inv != nil {
		payData["invoice"] = inv
	}
	body, err := json.Marshal(map[string]any{"AccountConfigurationId": s.c.spec.Account, "CallGuid": req.CallID, "PaymentData": payData})
	if err != nil {
		return nil, fmt.Errorf("gateway: encoding session request: %w", err)
	}
	ar := &apiRequest{op: "session.create", callID: req.CallID, method: http.MethodPost, url: s.c.base + path,
		contentType: "application/json", body: body}
	if req.CallID != "" {
		// One session per call, kind, amount and reference: a retried create finds the first.
		ar.idemKey = "sess:" + req.CallID + ":" + kind + ":" + strconv.FormatInt(req.Amount.Minor, 10) + req.Amount.Currency + ":" + req.Reference
		ar.idempotent = true
	}
	resp, err := s.c.doer.do(ctx, ar)
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK && resp.status != http.StatusCreated {
		return nil, fmt.Errorf("session.create: %w (HTTP %d%s)", ErrProviderRejected, resp.status, providerMessage(resp.body))
	}
	var out sessionCreated
	if err := json.Unmarshal(resp.body, &out); err != nil || out.SessionID == "" {
		return nil, fmt.Errorf("session.create: %w: no sessionId", ErrBadResponse)
	}
	if out.SessionState == "" {
		out.SessionState = SessionCreated
	}
	sess := &payment.Session{ID: out.SessionID, State: out.SessionState}
	if !req.Digital {
		if err := captureLine(sess, &out); err != nil {
			return nil, err
		}
	}
	return sess, nil
}

// providerMessage extracts a short, card-free message from an error body for an error string.
func providerMessage(body []byte) string {
	var m struct {
		Message string `json:"Message"`
		Error   any    `json:"error"`
	}
	if json.Unmarshal(body, &m) != nil || m.Message == "" {
		return ""
	}
	msg := m.Message
	if len(msg) > 120 {
		msg = msg[:120]
	}
	return ": " + pan.Redact(msg)
}

func (s *sessionAPI) status(ctx context.Context, callID, id string) (*SessionStatus, error) {
	resp, err := s.c.doer.do(ctx, &apiRequest{op: "session.status", callID: callID, method: http.MethodGet,
		url: s.sessionURL(id), idempotent: true})
	if err != nil {
		return nil, err
	}
	if resp.status == http.StatusNotFound {
		return nil, fmt.Errorf("session.status: %w: %w: session %s not found", ErrProviderRejected, errSessionGone, id)
	}
	if resp.status != http.StatusOK {
		return nil, fmt.Errorf("session.status: %w (HTTP %d)", ErrProviderRejected, resp.status)
	}
	var st SessionStatus
	if err := json.Unmarshal(resp.body, &st); err != nil || st.SessionID == "" {
		return nil, fmt.Errorf("session.status: %w", ErrBadResponse)
	}
	return &st, nil
}

func (s *sessionAPI) pay(ctx context.Context, req *payment.Request, key string) (*payment.Result, error) {
	sid := req.SessionID
	if sid == "" {
		sess, err := s.startSession(ctx, &payment.SessionRequest{CallID: req.CallID, Amount: req.Amount, Reference: req.Reference})
		if err != nil {
			return nil, err
		}
		sid = sess.ID
	}
	method := req.MethodOf()
	var parts []bodyPart
	if b := req.Bank; req.IsBank() && b != nil {
		parts = []bodyPart{lit(`{"method":"` + method + `","paymentMethod":"ach-debit","bankAccount":{"routingNumber":"`),
			sec(b.RoutingNumber), lit(`","accountNumber":"`), sec(b.AccountNumber), lit(`","accountType":`),
			litb(mustJSON(b.Type)), lit(`}`)}
	} else {
		card := &req.Card
		parts = []bodyPart{lit(`{"method":"` + method + `","cardNumber":"`), sec(card.Number),
			lit(`","expiryMonth":`), litInt(card.ExpMonth), lit(`,"expiryYear":`), litInt(card.ExpYear)}
		if card.SecurityCode != nil && card.SecurityCode.Len() > 0 {
			parts = append(parts, lit(`,"securityCode":"`), sec(card.SecurityCode), lit(`"`))
		}
		if card.PostalCode != "" {
			pc, _ := json.Marshal(card.PostalCode)
			parts = append(parts, lit(`,"postalCode":`), litb(pc))
		}
	}
	if method != payment.MethodTokenize {
		parts = append(parts, lit(`,"amount":"`+FormatAmount(req.Amount)+`","currency":`), litb(mustJSON(req.Amount.Currency)))
	}
	if inv := toInvoiceWire(req.Invoice, req.Amount.Currency); inv != nil {
		ib, _ := json.Marshal(inv)
		parts = append(parts, lit(`,"invoice":`), litb(ib))
	}
	if req.TokenType != "" {
		tt, _ := json.Marshal(req.TokenType)
		parts = append(parts, lit(`,"tokenType":`), litb(tt))
	}
	parts = append(parts, lit("}"))
	body := cardBody(parts...)
	defer cardsafe.Wipe(body)
	resp, err := s.c.doer.do(ctx, &apiRequest{op: "session.capture", callID: req.CallID, method: http.MethodPost,
		url: s.sessionURL(sid) + "/capture", contentType: "application/json", body: body, card: true, idemKey: key, idempotent: true})
	if err != nil {
		return nil, err
	}
	switch resp.status {
	case http.StatusOK:
		var cr CaptureResponse
		if err := json.Unmarshal(resp.body, &cr); err != nil || (cr.Outcome != "approved" && cr.Outcome != "declined") {
			return nil, fmt.Errorf("session.capture: %w", ErrBadResponse)
		}
		res := &payment.Result{SessionID: sid, ProviderStatus: resp.status, ErrorCode: pan.Redact(cr.ErrorCode),
			ErrorMessage: pan.Redact(cr.ErrorMessage), ConfirmationCode: pan.Redact(cr.TransactionID), Token: pan.Redact(cr.Token),
			Retryable: cr.Retryable}
		if cr.AuthorizedUntil != nil {
			res.AuthorizedUntil = cr.AuthorizedUntil.UTC()
		}
		if pan.ValidAccountMask(cr.MaskedAccount) {
			res.MaskedAccount = cr.MaskedAccount
		}
		res.Status = payment.Approved
		if cr.Outcome == "declined" {
			res.Status = payment.Declined
		}
		return res, nil
	case http.StatusConflict:
		// The session already ended: report why as a decline the plan can branch on.
		st, err := s.status(ctx, req.CallID, sid)
		if err != nil {
			return nil, err
		}
		for _, c := range st.Captures {
			if c.IdempotencyKey == key && c.Outcome == "approved" {
				return &payment.Result{Status: payment.Approved, SessionID: sid,
					ConfirmationCode: c.TransactionID, Token: c.Token, ProviderStatus: resp.status}, nil
			}
		}
		return &payment.Result{Status: payment.Declined, SessionID: sid, ProviderStatus: resp.status,
			ErrorCode: "session_" + strings.ToLower(st.SessionState), ErrorMessage: "the payment session is " + st.SessionState}, nil
	}
	return nil, fmt.Errorf("session.capture: %w (HTTP %d%s)", ErrProviderRejected, resp.status, providerMessage(resp.body))
}

func (s *sessionAPI) lookup(ctx context.Context, a *Attempt) (AttemptResult, bool, error) {
	if a.SessionID == "" {
		return AttemptResult{}, false, errLookupUnsupported
	}
	st, err := s.status(ctx, a.CallID, a.SessionID)
	if err != nil {
		return AttemptResult{}, false, err
	}
	for _, c := range st.Captures {
		if c.IdempotencyKey != a.Key {
			continue
		}
		r := AttemptResult{State: AttemptApproved, SessionID: st.SessionID, ConfirmationCode: c.TransactionID,
			Token: c.Token, ErrorCode: c.ErrorCode, ProviderStatus: http.StatusOK}
		if c.Outcome != "approved" {
			r.State = AttemptDeclined
		}
		return r, true, nil
	}
	return AttemptResult{SessionID: st.SessionID}, false, nil
}

func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// operate sends a capture, void or refund of a session transaction.
func (s *sessionAPI) operate(ctx context.Context, op *opCall) (*opAnswer, error) {
	body := map[string]any{}
	if op.amount.Minor > 0 && op.kind != payment.OpVoid {
		body["amount"] = FormatAmount(op.amount)
		body["currency"] = op.amount.Currency
	}
	if op.final {
		body["final"] = true
	}
	if op.reason != "" {
		body["reason"] = pan.Redact(op.reason)
	}
	b, _ := json.Marshal(body)
	resp, err := s.c.doer.do(ctx, &apiRequest{op: "transaction." + op.kind, callID: op.callID, method: http.MethodPost,
		url: s.c.base + "/globalpci/v1/transaction/" + url.PathEscape(op.txn) + "/" + op.kind, contentType: "application/json",
		body: b, idemKey: op.key, idempotent: true})
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		var e opErrorBody
		_ = json.Unmarshal(resp.body, &e)
		return &opAnswer{state: payment.OpFailed, errorCode: pan.Redact(e.ErrorCode), errorMessage: pan.Redact(e.Message), status: resp.status},
			fmt.Errorf("transaction.%s: %w (HTTP %d %s)", op.kind, ErrProviderRejected, resp.status, pan.Redact(e.ErrorCode))
	}
	var a OperationAnswer
	if err := json.Unmarshal(resp.body, &a); err != nil || a.OperationID == "" {
		return nil, fmt.Errorf("transaction.%s: %w", op.kind, ErrBadResponse)
	}
	return sessionOpAnswer(&a.TransactionOpJSON, resp.status), nil
}

func sessionOpAnswer(o *TransactionOpJSON, status int) *opAnswer {
	return &opAnswer{state: o.Status, providerID: pan.Redact(o.OperationID), errorCode: pan.Redact(o.ErrorCode), status: status}
}

// lookupOp finds an operation in the transaction's status by its idempotency key.
func (s *sessionAPI) lookupOp(ctx context.Context, op *opCall) (*opAnswer, bool, error) {
	resp, err := s.c.doer.do(ctx, &apiRequest{op: "transaction.status", callID: op.callID, method: http.MethodGet,
		url: s.c.base + "/globalpci/v1/transaction/" + url.PathEscape(op.txn), idempotent: true})
	if err != nil {
		return nil, false, err
	}
	if resp.status != http.StatusOK {
		return nil, false, fmt.Errorf("transaction.status: %w (HTTP %d)", ErrProviderRejected, resp.status)
	}
	var st TransactionStatus
	if err := json.Unmarshal(resp.body, &st); err != nil {
		return nil, false, fmt.Errorf("transaction.status: %w", ErrBadResponse)
	}
	for i := range st.Operations {
		if st.Operations[i].IdempotencyKey == op.key {
			return sessionOpAnswer(&st.Operations[i], resp.status), true, nil
		}
	}
	return nil, false, nil
}

// fence cancels the attempt's session so that the capture, should it still arrive, cannot
// charge; when the session had already ended, the capture that ended it is looked for.
func (s *sessionAPI) fence(ctx context.Context, a *Attempt) (AttemptResult, bool, error) {
	if a.SessionID == "" {
		return AttemptResult{}, false, errLookupUnsupported
	}
	resp, err := s.c.doer.do(ctx, &apiRequest{op: "session.cancel", callID: a.CallID, method: http.MethodPost,
		url: s.sessionURL(a.SessionID) + "/cancel", idempotent: true})
	if err != nil {
		return AttemptResult{}, false, err
	}
	switch resp.status {
	case http.StatusOK:
		return AttemptResult{}, false, nil
	case http.StatusConflict:
		r, found, err := s.lookup(ctx, a)
		if err != nil {
			return AttemptResult{}, false, err
		}
		return r, found, nil
	}
	return AttemptResult{}, false, fmt.Errorf("session.cancel: %w (HTTP %d)", ErrProviderRejected, resp.status)
}
