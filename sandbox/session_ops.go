package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
)

// The session API's payments after the capture call (docs/gateway.md): a capture's
// transactionId names a transaction that can be captured, voided and refunded here, each
// request with its own Idempotency-Key; and a session that has taken no payment can be
// cancelled, so that a capture that arrives late (its client gave up) can no longer charge.

// opBody is the body of POST /globalpci/v1/transaction/{id}/{capture|void|refund}.
type opBody struct {
	Amount   string `json:"amount,omitempty"`   // decimal; "" = all that is left
	Currency string `json:"currency,omitempty"` // "" = the transaction's
	Final    bool   `json:"final,omitempty"`    // capture: release the rest of the hold
	Reason   string `json:"reason,omitempty"`   // refund
}

// statusOfTxn is the transactionStatus of a charge.
func statusOfTxn(c *Charge) transactionStatus {
	f := func(n int64) string { return formatAmount(amount{Minor: n, Currency: c.Currency}) }
	st := transactionStatus{TransactionID: c.ID, SessionID: c.SessionID, State: c.Status, Method: c.Method,
		PaymentMethod: c.PaymentMethod, Amount: f(c.Amount), Currency: c.Currency, Authorized: f(c.Authorized),
		Captured: f(c.Captured), Refunded: f(c.Refunded), Disputed: c.Disputed, Operations: []operationJS{}}
	if !c.AuthorizedUntil.IsZero() {
		t := c.AuthorizedUntil
		st.AuthorizedUntil = &t
	}
	for _, o := range c.Operations {
		st.Operations = append(st.Operations, opJS(c, &o))
	}
	return st
}

func opJS(c *Charge, o *Operation) operationJS {
	return operationJS{OperationID: o.ID, Kind: o.Kind, IdempotencyKey: o.IdempotencyKey, Status: o.Status,
		Amount: formatAmount(amount{Minor: o.Amount, Currency: c.Currency}), Reason: o.Reason, ErrorCode: o.ErrorCode}
}

func (s *Provider) handleGetTransaction(w http.ResponseWriter, r *http.Request) {
	if !s.requireToken(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chargeLocked(r.PathValue("id"))
	if c == nil || c.API != "session" {
		sessionError(w, http.StatusNotFound, "transaction not found")
		return
	}
	writeJSON(w, http.StatusOK, statusOfTxn(c))
}

// handleTransactionOp serves capture, void and refund of a session transaction.
func (s *Provider) handleTransactionOp(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := s.sessionRequest(w, r)
		if !ok {
			return
		}
		var req opBody
		if len(strings.TrimSpace(string(body))) > 0 {
			if err := json.Unmarshal(body, &req); err != nil {
				sessionError(w, http.StatusBadRequest, "body is not the operation JSON: "+err.Error())
				return
			}
		}
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			sessionError(w, http.StatusBadRequest, "Idempotency-Key header is required")
			return
		}
		id := r.PathValue("id")
		scope := "txn-op"
		fp := id + "|" + kind + "|" + req.Amount + "|" + req.Currency
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.replay(w, scope, key, fp) {
			return
		}
		c := s.chargeLocked(id)
		if c == nil || c.API != "session" {
			sessionError(w, http.StatusNotFound, "transaction not found")
			return
		}
		op := opRequest{kind: kind, final: req.Final, reason: req.Reason, currency: strings.ToUpper(req.Currency)}
		if req.Amount != "" {
			a, err := parseAmount(req.Amount, c.Currency)
			if err != nil {
				sessionError(w, http.StatusBadRequest, "amount is not a decimal amount in "+c.Currency)
				return
			}
			op.amount = a.Minor
		}
		o, oerr := s.operateLocked(c, op, key)
		if oerr != nil {
			b, _ := json.Marshal(map[string]string{"Message": oerr.msg, "errorCode": oerr.code})
			s.remember(scope, key, fp, oerr.status, b)
			writeRaw(w, oerr.status, b)
			return
		}
		b, _ := json.Marshal(operationAnswer{operationJS: opJS(c, o), Transaction: statusOfTxn(c)})
		s.remember(scope, key, fp, http.StatusOK, b)
		writeRaw(w, http.StatusOK, b)
	}
}

// handleSessionCancel ends a session that has taken no payment (Created or InProgress →
// Cancelled): a capture that reaches it afterwards gets 409. A session that has ended answers
// 409 with its status, so the caller learns what became of it (a capture that got in first).
func (s *Provider) handleSessionCancel(w http.ResponseWriter, r *http.Request) {
	if !s.requireToken(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.session(r.PathValue("id"))
	if sess == nil {
		sessionError(w, http.StatusNotFound, "session not found")
		return
	}
	if sess.State == stateCreated || sess.State == stateInProgress {
		sess.State = stateCancelled
		writeJSON(w, http.StatusOK, s.statusOf(sess))
		return
	}
	if sess.State == stateCancelled {
		writeJSON(w, http.StatusOK, s.statusOf(sess))
		return
	}
	writeJSON(w, http.StatusConflict, s.statusOf(sess))
}
