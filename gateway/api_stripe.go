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
		return nil, err
	}
	res := &payment.Result{SessionID: req.SessionID, ProviderStatus: resp.status}
	if r, err := s.cardError("stripe.token", resp, res); r != nil || err != nil {
		return r, err
	}
	var tok stripeToken
	if err := json.Unmarshal(resp.body, &tok); err != nil || !strings.HasPrefix(tok.ID, "tok_") {
		return nil, fmt.Errorf("stripe.token: %w", ErrBadResponse)
	}
	if req.Amount.Minor == 0 {
		res.Status, res.Token = payment.Approved, tok.ID
		return res, nil
	}
	form := url.Values{
		"amount":                    {strconv.FormatInt(req.Amount.Minor, 10)},
		"currency":                  {strings.ToLower(req.Amount.Currency)},
		"source":                    {tok.ID},
		"metadata[idempotency_key]": {key},
	}
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
