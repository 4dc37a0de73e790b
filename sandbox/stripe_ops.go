package sandbox

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// The Stripe-shaped API after the charge: a charge made with capture=false is captured once
// (POST /v1/charges/{id}/capture, amount optional — a partial capture releases the rest), and
// refunds are objects of their own (POST /v1/refunds with charge, amount, reason, metadata;
// refunding an uncaptured charge releases its hold). GET /v1/refunds?charge= lists a charge's
// refunds, which is how a client finds a refund by the metadata it gave it.

// refundObject is the sandbox's Stripe-shaped refund.
type refundObject struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	Amount        int64             `json:"amount"`
	Charge        string            `json:"charge"`
	Currency      string            `json:"currency"`
	Status        string            `json:"status"` // pending | succeeded | failed | canceled
	Reason        string            `json:"reason,omitempty"`
	FailureReason string            `json:"failure_reason,omitempty"`
	Metadata      map[string]string `json:"metadata"`
	Created       int64             `json:"created"`
}

// stripeReasons are the refund reasons Stripe accepts; any other text goes to metadata.
var stripeReasons = map[string]bool{"duplicate": true, "fraudulent": true, "requested_by_customer": true}

func refundOf(c *Charge, o *Operation) refundObject {
	r := refundObject{ID: o.ID, Object: "refund", Amount: o.Amount, Charge: c.ID, Currency: strings.ToLower(c.Currency),
		Status: o.Status, Metadata: map[string]string{}, Created: o.Created.Unix()}
	if o.IdempotencyKey != "" {
		r.Metadata["idempotency_key"] = o.IdempotencyKey
	}
	if stripeReasons[o.Reason] {
		r.Reason = o.Reason
	} else if o.Reason != "" {
		r.Metadata["reason"] = o.Reason
	}
	if o.Kind == "void" {
		r.Status = "succeeded" // Stripe reports the released hold as a refund
	}
	if o.Status == opFailed {
		r.FailureReason = o.ErrorCode
	}
	return r
}

func (s *Provider) stripeFail(w http.ResponseWriter, scope, key, fp string, e *opError) {
	typ := "invalid_request_error"
	status := e.status
	if e.code == CodeCaptureDeclined {
		typ, status = "card_error", http.StatusPaymentRequired
	}
	if e.status == http.StatusConflict {
		status = http.StatusBadRequest // Stripe answers 400 to a state it cannot act on
	}
	b, _ := json.Marshal(stripeError(typ, e.code, e.msg))
	s.remember(scope, key, fp, status, b)
	writeRaw(w, status, b)
}

func (s *Provider) handleStripeCapture(w http.ResponseWriter, r *http.Request) {
	if !s.requireAPIKey(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, stripeError("invalid_request_error", "", "Unreadable form body."))
		return
	}
	id, key := r.PathValue("id"), r.Header.Get("Idempotency-Key")
	fp := id + "|capture|" + r.PostForm.Get("amount")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replay(w, "stripe-capture", key, fp) {
		return
	}
	c := s.chargeLocked(id)
	if c == nil || c.API != "stripe" {
		writeJSON(w, http.StatusNotFound, stripeError("invalid_request_error", "resource_missing", "No such charge: '"+id+"'"))
		return
	}
	req := opRequest{kind: "capture", single: true}
	if a := r.PostForm.Get("amount"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n <= 0 {
			writeJSON(w, http.StatusBadRequest, stripeError("invalid_request_error", "parameter_invalid_integer", "amount must be a positive integer."))
			return
		}
		req.amount = n
	}
	if c.Captured > 0 {
		s.stripeFail(w, "stripe-capture", key, fp, &opError{http.StatusBadRequest, "charge_already_captured", "Charge " + id + " has already been captured."})
		return
	}
	o, oerr := s.operateLocked(c, req, key)
	if oerr != nil {
		s.stripeFail(w, "stripe-capture", key, fp, oerr)
		return
	}
	if o.Status == opFailed {
		code := o.ErrorCode
		if code == CodeAuthorizationExpired {
			s.stripeFail(w, "stripe-capture", key, fp, &opError{http.StatusBadRequest, "charge_expired_for_capture", "The charge has expired and can no longer be captured."})
			return
		}
		s.stripeFail(w, "stripe-capture", key, fp, &opError{http.StatusPaymentRequired, code, declineMessage(code)})
		return
	}
	for _, obj := range s.stripeCharges {
		if obj.ID == id {
			b, _ := json.Marshal(s.stripeView(obj))
			s.remember("stripe-capture", key, fp, http.StatusOK, b)
			writeRaw(w, http.StatusOK, b)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, stripeError("invalid_request_error", "resource_missing", "No such charge."))
}

func (s *Provider) handleStripeRefund(w http.ResponseWriter, r *http.Request) {
	if !s.requireAPIKey(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, stripeError("invalid_request_error", "", "Unreadable form body."))
		return
	}
	f := r.PostForm
	id, key := f.Get("charge"), r.Header.Get("Idempotency-Key")
	fp := id + "|refund|" + f.Get("amount") + "|" + f.Get("reason")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replay(w, "stripe-refund", key, fp) {
		return
	}
	c := s.chargeLocked(id)
	if c == nil || c.API != "stripe" {
		writeJSON(w, http.StatusBadRequest, stripeError("invalid_request_error", "resource_missing", "No such charge: '"+id+"'"))
		return
	}
	req := opRequest{kind: "refund", reason: f.Get("reason")}
	if req.reason == "" {
		req.reason = f.Get("metadata[reason]")
	}
	if a := f.Get("amount"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n <= 0 {
			writeJSON(w, http.StatusBadRequest, stripeError("invalid_request_error", "parameter_invalid_integer", "amount must be a positive integer."))
			return
		}
		req.amount = n
	}
	if holding(c) && c.Captured == 0 {
		// Refunding an uncaptured charge releases its hold (a void), for the whole amount.
		if req.amount != 0 && req.amount != c.Authorized {
			s.stripeFail(w, "stripe-refund", key, fp, &opError{http.StatusBadRequest, "amount_too_large", "An uncaptured charge is refunded in full."})
			return
		}
		req = opRequest{kind: "void"}
	}
	o, oerr := s.operateLocked(c, req, key)
	if oerr != nil {
		s.stripeFail(w, "stripe-refund", key, fp, oerr)
		return
	}
	b, _ := json.Marshal(refundOf(c, o))
	s.remember("stripe-refund", key, fp, http.StatusOK, b)
	writeRaw(w, http.StatusOK, b)
}

func (s *Provider) handleStripeListRefunds(w http.ResponseWriter, r *http.Request) {
	if !s.requireAPIKey(w, r) {
		return
	}
	id := r.URL.Query().Get("charge")
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chargeLocked(id)
	if c == nil || c.API != "stripe" {
		writeJSON(w, http.StatusBadRequest, stripeError("invalid_request_error", "resource_missing", "No such charge: '"+id+"'"))
		return
	}
	data := []refundObject{}
	for i := range c.Operations {
		if o := &c.Operations[i]; o.Kind == "refund" || o.Kind == "void" {
			data = append(data, refundOf(c, o))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "has_more": false})
}
