package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/paybridge/paybridge/internal/cardsafe"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// genericAPI speaks Twilio's Generic Pay Connector contract, so a merchant endpoint written for
// Twilio <Pay> works unchanged: one JSON POST per payment with HTTP Basic auth; the
// transaction_id is the idempotency key (Twilio retries with the same one); a decline is
// HTTP 200 with error_code.
type genericAPI struct {
	c   *Connector
	url string
}

// paysIntoSession: the contract has no provider sessions.
func (g *genericAPI) paysIntoSession() bool { return false }

// canLookup: the contract has no way to ask what became of a transaction_id.
func (g *genericAPI) canLookup() bool { return false }

func (g *genericAPI) startSession(_ context.Context, req *payment.SessionRequest) (*payment.Session, error) {
	// The generic contract has no provider sessions: paybridge's own id stands in, so a payment
	// link can still be bound to "the same session" as the call.
	id := req.SessionID
	if id == "" {
		id = newID("gs_")
	}
	return &payment.Session{ID: id, State: SessionCreated}, nil
}

func (g *genericAPI) pay(ctx context.Context, req *payment.Request, key string) (*payment.Result, error) {
	card := &req.Card
	method := req.MethodOf()
	params := map[string]string{"call_id": req.CallID, "reference": req.Reference, "session_id": req.SessionID}
	tail := map[string]any{
		"transaction_id": key, "method": method, "postal_code": card.PostalCode,
		"description": req.Description, "currency_code": req.Amount.Currency, "parameters": params,
	}
	if inv := toInvoiceWire(req.Invoice, req.Amount.Currency); inv != nil {
		tail["invoice"] = inv
	}
	bank := req.IsBank() && req.Bank != nil
	if bank {
		tail["payment_method"] = payment.PaymentMethodACH
		tail["bank_account_type"] = req.Bank.Type
		delete(tail, "postal_code")
	}
	if method != payment.MethodTokenize {
		tail["amount"] = json.Number(FormatAmount(req.Amount))
	} else {
		tt := req.TokenType
		if tt == "" {
			tt = "one-time"
		}
		tail["token_type"] = tt
	}
	rest, err := json.Marshal(tail) // {"currency_code":…}: no card data
	if err != nil {
		return nil, fmt.Errorf("gateway: encoding generic request: %w", err)
	}
	var parts []bodyPart
	if bank {
		parts = []bodyPart{lit(`{"bank_routing_number":"`), sec(req.Bank.RoutingNumber), lit(`","bank_account_number":"`),
			sec(req.Bank.AccountNumber), lit(`",`), litb(rest[1:])}
	} else {
		parts = []bodyPart{lit(`{"cardnumber":"`), sec(card.Number), lit(`","cvv":"`)}
		if card.SecurityCode != nil {
			parts = append(parts, sec(card.SecurityCode))
		}
		parts = append(parts, lit(`","expiry_month":"`), litInt2(card.ExpMonth), lit(`","expiry_year":"`),
			litInt(card.ExpYear), lit(`",`), litb(rest[1:]))
	}
	body := cardBody(parts...)
	defer cardsafe.Wipe(body)
	resp, err := g.c.doer.do(ctx, &apiRequest{op: "generic." + method, callID: req.CallID, method: http.MethodPost,
		url: g.url, contentType: "application/json", body: body, card: true, idemKey: key, idempotent: true})
	if err != nil {
		return nil, err
	}
	var gr GenericResponse
	jerr := json.Unmarshal(resp.body, &gr)
	if resp.status != http.StatusOK {
		msg := ""
		if jerr == nil && gr.ErrorCode != nil {
			msg = ": " + pan.Redact(*gr.ErrorCode)
		}
		return nil, fmt.Errorf("generic.%s: %w (HTTP %d%s)", method, ErrProviderRejected, resp.status, msg)
	}
	if jerr != nil {
		return nil, fmt.Errorf("generic.%s: %w", method, ErrBadResponse)
	}
	res := &payment.Result{SessionID: req.SessionID, ProviderStatus: resp.status, Retryable: gr.Retryable}
	if gr.AuthorizedUntil != nil {
		res.AuthorizedUntil = parseProviderTime(*gr.AuthorizedUntil)
	}
	if bank {
		res.MaskedAccount = req.Bank.AccountNumber.MaskAccount()
	}
	switch {
	case gr.ErrorCode != nil && *gr.ErrorCode != "":
		res.Status, res.ErrorCode = payment.Declined, pan.Redact(*gr.ErrorCode)
		if gr.ErrorMessage != nil {
			res.ErrorMessage = pan.Redact(*gr.ErrorMessage)
		}
	case method != payment.MethodTokenize && gr.ChargeID != nil && *gr.ChargeID != "":
		res.Status, res.ConfirmationCode = payment.Approved, pan.Redact(*gr.ChargeID)
	case method == "tokenize" && gr.TokenID != nil && *gr.TokenID != "":
		res.Status, res.Token = payment.Approved, pan.Redact(*gr.TokenID)
	default:
		return nil, fmt.Errorf("generic.%s: %w: neither an id nor an error_code", method, ErrBadResponse)
	}
	return res, nil
}

func (g *genericAPI) lookup(context.Context, *Attempt) (AttemptResult, bool, error) {
	return AttemptResult{}, false, errLookupUnsupported
}

// operate sends a capture, void or refund as one more method of the contract: charge_id
// names the payment, transaction_id is the operation's idempotency key.
func (g *genericAPI) operate(ctx context.Context, op *opCall) (*opAnswer, error) {
	body := map[string]any{"transaction_id": op.key, "method": op.kind, "charge_id": op.txn,
		"parameters": map[string]string{"call_id": op.callID, "session_id": op.sessionID}}
	if op.amount.Minor > 0 && op.kind != payment.OpVoid {
		body["amount"] = json.Number(FormatAmount(op.amount))
		body["currency_code"] = op.amount.Currency
	}
	if op.final {
		body["final"] = true
	}
	if op.reason != "" {
		body["reason"] = pan.Redact(op.reason)
	}
	b, _ := json.Marshal(body)
	resp, err := g.c.doer.do(ctx, &apiRequest{op: "generic." + op.kind, callID: op.callID, method: http.MethodPost,
		url: g.url, contentType: "application/json", body: b, idemKey: op.key, idempotent: true})
	if err != nil {
		return nil, err
	}
	var gr GenericResponse
	jerr := json.Unmarshal(resp.body, &gr)
	code := ""
	if jerr == nil && gr.ErrorCode != nil {
		code = pan.Redact(*gr.ErrorCode)
	}
	if resp.status != http.StatusOK {
		a := &opAnswer{state: payment.OpFailed, errorCode: code, status: resp.status}
		if gr.ErrorMessage != nil {
			a.errorMessage = pan.Redact(*gr.ErrorMessage)
		}
		return a, fmt.Errorf("generic.%s: %w (HTTP %d %s)", op.kind, ErrProviderRejected, resp.status, code)
	}
	if jerr != nil || gr.Status == nil || gr.OperationID == nil {
		return nil, fmt.Errorf("generic.%s: %w", op.kind, ErrBadResponse)
	}
	a := &opAnswer{state: *gr.Status, providerID: pan.Redact(*gr.OperationID), errorCode: code, status: resp.status}
	if gr.ErrorMessage != nil {
		a.errorMessage = pan.Redact(*gr.ErrorMessage)
	}
	return a, nil
}

// lookupOp: the contract has no way to ask.
func (g *genericAPI) lookupOp(context.Context, *opCall) (*opAnswer, bool, error) {
	return nil, false, errLookupUnsupported
}
