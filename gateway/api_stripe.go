package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paybridge/paybridge/internal/cardsafe"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// stripeAPI speaks a Stripe-style API: form-encoded bodies, a Bearer secret key,
// a card token (POST /v1/tokens) and then a charge (POST /v1/charges) with an Idempotency-Key.
// The idempotency key is also stored as metadata[idempotency_key] so Reconcile can search for
// the charge after a crash.
type stripeAPI struct{ c *Connector }

// paysIntoSession: a charge stands alone; the session id is paybridge's own.
func (s *stripeAPI) paysIntoSession() bool { return false }

// canLookup: charges are searched by metadata['idempotency_key'].
func (s *stripeAPI) canLookup() bool { return true }

func (s *stripeAPI) startSession(_ context.Context, req *payment.SessionRequest) (*payment.Session, error) {
	id := req.SessionID
	if id == "" {
		id = newID("ss_")
	}
	return &payment.Session{ID: id, State: SessionCreated}, nil
}

func (s *stripeAPI) pay(ctx context.Context, req *payment.Request, key string) (*payment.Result, error) {
	card := &req.Card
	parts := []bodyPart{lit("card[number]="), sec(card.Number),
		lit("&card[exp_month]="), litInt(card.ExpMonth), lit("&card[exp_year]="), litInt(card.ExpYear)}
	if card.SecurityCode != nil && card.SecurityCode.Len() > 0 {
		parts = append(parts, lit("&card[cvc]="), sec(card.SecurityCode))
	}
	if card.PostalCode != "" {
		parts = append(parts, lit("&card[address_zip]="+url.QueryEscape(card.PostalCode)))
	}
	body := cardBody(parts...)
	resp, err := s.c.doer.do(ctx, &apiRequest{op: "stripe.token", callID: req.CallID, method: http.MethodPost,
		url: s.c.base + "/v1/tokens", contentType: "application/x-www-form-urlencoded", body: body, card: true,
		idemKey: key + "-token", idempotent: true})
	cardsafe.Wipe(body)
	if err != nil {
		// A token moves no money: whatever became of this request, nothing was charged.
		return nil, fmt.Errorf("%w: %w", err, payment.ErrNotCharged)
	}
	res := &payment.Result{SessionID: req.SessionID, ProviderStatus: resp.status}
	if r, err := s.cardError("stripe.token", resp, res); r != nil || err != nil {
		return r, err
	}
	var tok stripeToken
	if err := json.Unmarshal(resp.body, &tok); err != nil || !strings.HasPrefix(tok.ID, "tok_") {
		return nil, fmt.Errorf("stripe.token: %w", ErrBadResponse)
	}
	if req.MethodOf() == payment.MethodTokenize {
		res.Status, res.Token = payment.Approved, tok.ID
		return res, nil
	}
	form := url.Values{
		"amount":                    {strconv.FormatInt(req.Amount.Minor, 10)},
		"currency":                  {strings.ToLower(req.Amount.Currency)},
		"source":                    {tok.ID},
		"metadata[idempotency_key]": {key},
	}
	if req.MethodOf() == payment.MethodAuthorize {
		form.Set("capture", "false")
	}
	stripeInvoiceMetadata(req.Invoice, req.Amount.Currency, form.Set)
	if req.Description != "" {
		form.Set("description", req.Description)
	}
	if req.Reference != "" {
		form.Set("metadata[reference]", req.Reference)
	}
	if req.CallID != "" {
		form.Set("metadata[call_id]", req.CallID)
	}
	resp, err = s.c.doer.do(ctx, &apiRequest{op: "stripe.charge", callID: req.CallID, method: http.MethodPost,
		url: s.c.base + "/v1/charges", contentType: "application/x-www-form-urlencoded",
		body: []byte(form.Encode()), idemKey: key, idempotent: true})
	if err != nil {
		return nil, err
	}
	res.ProviderStatus = resp.status
	if r, err := s.cardError("stripe.charge", resp, res); r != nil || err != nil {
		return r, err
	}
	if req.MethodOf() == payment.MethodAuthorize {
		// Stripe holds an uncaptured charge for 7 days.
		res.AuthorizedUntil = s.c.now().Add(stripeHoldTTL).UTC()
	}
	var ch stripeCharge
	if err := json.Unmarshal(resp.body, &ch); err != nil || ch.ID == "" {
		return nil, fmt.Errorf("stripe.charge: %w", ErrBadResponse)
	}
	if ch.Status != "succeeded" {
		res.Status, res.ErrorCode = payment.Declined, "charge_"+ch.Status
		return res, nil
	}
	res.Status, res.ConfirmationCode = payment.Approved, ch.ID
	return res, nil
}

// cardError maps a non-200 Stripe answer: 402 is a decline (a result), anything else an error.
// It returns (nil, nil) for a 200.
func (s *stripeAPI) cardError(op string, resp *apiResponse, res *payment.Result) (*payment.Result, error) {
	if resp.status == http.StatusOK {
		return nil, nil
	}
	var e stripeErrorBody
	_ = json.Unmarshal(resp.body, &e)
	if resp.status == http.StatusPaymentRequired && e.Error.Code != "" {
		res.Status, res.ErrorCode, res.ErrorMessage = payment.Declined, pan.Redact(e.declineCode()), pan.Redact(e.Error.Message)
		res.ConfirmationCode = pan.Redact(e.Error.Charge)
		res.Retryable = stripeRetryable[res.ErrorCode]
		return res, nil
	}
	code := e.Error.Code
	if code == "" {
		code = e.Error.Type
	}
	return nil, fmt.Errorf("%s: %w (HTTP %d %s)", op, ErrProviderRejected, resp.status, pan.Redact(code))
}

func (s *stripeAPI) lookup(ctx context.Context, a *Attempt) (AttemptResult, bool, error) {
	q := "metadata['idempotency_key']:'" + a.Key + "'"
	resp, err := s.c.doer.do(ctx, &apiRequest{op: "stripe.search", callID: a.CallID, method: http.MethodGet,
		url: s.c.base + "/v1/charges/search?query=" + url.QueryEscape(q), idempotent: true})
	if err != nil {
		return AttemptResult{}, false, err
	}
	if resp.status != http.StatusOK {
		return AttemptResult{}, false, fmt.Errorf("stripe.search: %w (HTTP %d)", ErrProviderRejected, resp.status)
	}
	var sr stripeSearch
	if err := json.Unmarshal(resp.body, &sr); err != nil {
		return AttemptResult{}, false, fmt.Errorf("stripe.search: %w", ErrBadResponse)
	}
	for _, c := range sr.Data {
		if c.Status == "succeeded" {
			return AttemptResult{State: AttemptApproved, ConfirmationCode: c.ID, ProviderStatus: 200}, true, nil
		}
	}
	if len(sr.Data) > 0 {
		c := sr.Data[0]
		return AttemptResult{State: AttemptDeclined, ConfirmationCode: c.ID, ErrorCode: c.FailureCode, ProviderStatus: 200}, true, nil
	}
	return AttemptResult{}, false, nil
}

// stripeHoldTTL is how long Stripe holds an uncaptured charge.
const stripeHoldTTL = 7 * 24 * time.Hour

// stripeRetryable are the decline codes Stripe documents as worth retrying: the provider's way
// of marking a soft decline.
var stripeRetryable = map[string]bool{"processing_error": true, "try_again_later": true,
	"issuer_not_available": true, "reenter_transaction": true, "approve_with_id": true}

// stripeRefundReasons are the reasons Stripe accepts; other text goes to metadata[reason].
var stripeRefundReasons = map[string]bool{"duplicate": true, "fraudulent": true, "requested_by_customer": true}

// operate: a capture is POST /v1/charges/{id}/capture; a void refunds the uncaptured charge
// (Stripe releases the hold); a refund is POST /v1/refunds. Each carries its key as
// Idempotency-Key and, for refunds, as metadata[idempotency_key] so it can be found again.
func (s *stripeAPI) operate(ctx context.Context, op *opCall) (*opAnswer, error) {
	form := url.Values{}
	var target string
	switch op.kind {
	case payment.OpCapture:
		target = s.c.base + "/v1/charges/" + url.PathEscape(op.txn) + "/capture"
		if op.amount.Minor > 0 {
			form.Set("amount", strconv.FormatInt(op.amount.Minor, 10))
		}
	case payment.OpVoid, payment.OpRefund:
		target = s.c.base + "/v1/refunds"
		form.Set("charge", op.txn)
		form.Set("metadata[idempotency_key]", op.key)
		if op.kind == payment.OpRefund && op.amount.Minor > 0 {
			form.Set("amount", strconv.FormatInt(op.amount.Minor, 10))
		}
		if r := pan.Redact(op.reason); stripeRefundReasons[r] {
			form.Set("reason", r)
		} else if r != "" {
			form.Set("metadata[reason]", r)
		}
	default:
		return nil, errOpUnsupported
	}
	resp, err := s.c.doer.do(ctx, &apiRequest{op: "stripe." + op.kind, callID: op.callID, method: http.MethodPost,
		url: target, contentType: "application/x-www-form-urlencoded", body: []byte(form.Encode()), idemKey: op.key, idempotent: true})
	if err != nil {
		return nil, err
	}
	var e stripeErrorBody
	if resp.status == http.StatusPaymentRequired && json.Unmarshal(resp.body, &e) == nil && e.Error.Code != "" {
		// The issuer declined the capture: a failed operation.
		return &opAnswer{state: payment.OpFailed, errorCode: pan.Redact(e.declineCode()), errorMessage: pan.Redact(e.Error.Message), status: resp.status}, nil
	}
	if resp.status != http.StatusOK {
		_ = json.Unmarshal(resp.body, &e)
		code := e.Error.Code
		if code == "charge_expired_for_capture" {
			// The hold lapsed: Stripe says so as a request error; it is the capture failing.
			return &opAnswer{state: payment.OpFailed, errorCode: "authorization_expired", errorMessage: pan.Redact(e.Error.Message), status: resp.status}, nil
		}
		return &opAnswer{state: payment.OpFailed, errorCode: pan.Redact(code), errorMessage: pan.Redact(e.Error.Message), status: resp.status},
			fmt.Errorf("stripe.%s: %w (HTTP %d %s)", op.kind, ErrProviderRejected, resp.status, pan.Redact(code))
	}
	if op.kind == payment.OpCapture {
		var ch stripeCharge
		if err := json.Unmarshal(resp.body, &ch); err != nil || ch.ID == "" {
			return nil, fmt.Errorf("stripe.capture: %w", ErrBadResponse)
		}
		return &opAnswer{state: payment.OpSucceeded, providerID: pan.Redact(ch.ID), status: resp.status}, nil
	}
	var r stripeRefund
	if err := json.Unmarshal(resp.body, &r); err != nil || r.ID == "" {
		return nil, fmt.Errorf("stripe.%s: %w", op.kind, ErrBadResponse)
	}
	return stripeRefundAnswer(&r, resp.status), nil
}

func stripeRefundAnswer(r *stripeRefund, status int) *opAnswer {
	a := &opAnswer{providerID: pan.Redact(r.ID), status: status}
	switch r.Status {
	case "succeeded":
		a.state = payment.OpSucceeded
	case "pending", "requires_action":
		a.state = payment.OpPending
	default:
		a.state, a.errorCode = payment.OpFailed, pan.Redact(r.FailureReason)
	}
	return a
}

// lookupOp: a capture shows on the charge (captured), a void or refund in the charge's list of
// refunds under its metadata[idempotency_key].
func (s *stripeAPI) lookupOp(ctx context.Context, op *opCall) (*opAnswer, bool, error) {
	if op.kind == payment.OpCapture {
		resp, err := s.c.doer.do(ctx, &apiRequest{op: "stripe.charge.get", callID: op.callID, method: http.MethodGet,
			url: s.c.base + "/v1/charges/" + url.PathEscape(op.txn), idempotent: true})
		if err != nil {
			return nil, false, err
		}
		var ch stripeCharge
		if resp.status != http.StatusOK || json.Unmarshal(resp.body, &ch) != nil {
			return nil, false, fmt.Errorf("stripe.charge.get: %w (HTTP %d)", ErrProviderRejected, resp.status)
		}
		if !ch.Captured {
			return nil, false, nil
		}
		return &opAnswer{state: payment.OpSucceeded, providerID: pan.Redact(ch.ID), status: resp.status}, true, nil
	}
	resp, err := s.c.doer.do(ctx, &apiRequest{op: "stripe.refunds", callID: op.callID, method: http.MethodGet,
		url: s.c.base + "/v1/refunds?charge=" + url.QueryEscape(op.txn), idempotent: true})
	if err != nil {
		return nil, false, err
	}
	var l stripeRefundList
	if resp.status != http.StatusOK || json.Unmarshal(resp.body, &l) != nil {
		return nil, false, fmt.Errorf("stripe.refunds: %w (HTTP %d)", ErrProviderRejected, resp.status)
	}
	for i := range l.Data {
		if l.Data[i].Metadata["idempotency_key"] == op.key {
			return stripeRefundAnswer(&l.Data[i], resp.status), true, nil
		}
	}
	return nil, false, nil
}
