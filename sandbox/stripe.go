package sandbox

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/paybridge/paybridge/internal/cardsafe"
	"github.com/paybridge/paybridge/pan"
)

// cardToken is a Stripe-shaped card token. It keeps the outcome decided when the card was
// tokenized, the mask and brand — never the number or the security code.
type cardToken struct {
	ID        string
	Outcome   string // decline code, "" = approve
	Masked    string
	Last4     string
	Brand     string
	ExpMonth  int
	ExpYear   int
	Used      bool
	Behaviour string // the test card's lifecycle behaviour
	Created   time.Time
}

// chargeObject is the sandbox's Stripe-shaped charge object.
type chargeObject struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	Amount         int64             `json:"amount"`
	Currency       string            `json:"currency"`
	Status         string            `json:"status"` // succeeded | failed
	Paid           bool              `json:"paid"`
	Captured       bool              `json:"captured"`
	AmountCaptured int64             `json:"amount_captured"`
	AmountRefunded int64             `json:"amount_refunded"`
	Refunded       bool              `json:"refunded"`
	Disputed       bool              `json:"disputed"`
	Description    string            `json:"description,omitempty"`
	FailureCode    string            `json:"failure_code,omitempty"`
	FailureMessage string            `json:"failure_message,omitempty"`
	Metadata       map[string]string `json:"metadata"`
	Source         map[string]any    `json:"source"`
	Created        int64             `json:"created"`
}

func stripeError(typ, code, msg string) map[string]any {
	e := map[string]any{"type": typ, "message": msg}
	if code != "" {
		e["code"] = code
	}
	return map[string]any{"error": e}
}

// stripeDecline builds the 402 body Stripe answers a declined card with: code card_declined and
// a decline_code for issuer declines, the specific code otherwise.
func stripeDecline(code, chargeID string) map[string]any {
	e := map[string]any{"type": "card_error", "message": declineMessage(code)}
	switch code {
	case CodeCardDeclined:
		e["code"], e["decline_code"] = CodeCardDeclined, "generic_decline"
	case CodeInsufficientFunds:
		e["code"], e["decline_code"] = CodeCardDeclined, CodeInsufficientFunds
	default:
		e["code"] = code
	}
	if chargeID != "" {
		e["charge"] = chargeID
	}
	return map[string]any{"error": e}
}

func (s *Provider) handleStripeToken(w http.ResponseWriter, r *http.Request, body []byte) {
	if !s.requireAPIKey(w, r) {
		return
	}
	fields, err := splitForm(body)
	if body == nil || err != nil {
		writeJSON(w, http.StatusBadRequest, stripeError("invalid_request_error", "", "Unreadable form body."))
		return
	}
	var num, cvc []byte
	defer func() { cardsafe.Wipe(num); cardsafe.Wipe(cvc) }()
	em, ey, hasCVC := 0, 0, false
	for _, f := range fields {
		var err error
		switch f.key {
		case "card[number]":
			cardsafe.Wipe(num)
			num, err = formDigits(f.val)
		case "card[cvc]":
			cardsafe.Wipe(cvc)
			cvc, err = formDigits(f.val)
			hasCVC = true
		case "card[exp_month]":
			em = formInt(f.val)
		case "card[exp_year]":
			ey = formInt(f.val)
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, stripeError("invalid_request_error", "parameter_invalid", "Invalid "+f.key+": digits only."))
			return
		}
	}
	if len(num) == 0 {
		writeJSON(w, http.StatusBadRequest, stripeError("invalid_request_error", "parameter_missing", "Missing required param: card[number]."))
		return
	}
	fpMonth, fpYear := strconv.Itoa(em), strconv.Itoa(ey)
	if ey > 0 && ey < 100 {
		ey += 2000
	}
	card := receivedCard{number: num, expMonth: em, expYear: ey}
	if hasCVC {
		card.securityCode = cvc
		if card.securityCode == nil {
			card.securityCode = []byte{}
		}
	}
	key := r.Header.Get("Idempotency-Key")
	fp := pan.Mask(num) + "|" + fpMonth + "|" + fpYear
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replay(w, "stripe-token", key, fp) {
		return
	}
	if !luhnValid(num) {
		b, _ := json.Marshal(stripeDecline(CodeIncorrectNumber, ""))
		s.remember("stripe-token", key, fp, http.StatusPaymentRequired, b)
		writeRaw(w, http.StatusPaymentRequired, b)
		return
	}
	t := &cardToken{ID: newID("tok_"), Outcome: s.decide(card), Masked: pan.Mask(num),
		Last4: lastFour(num), Brand: brandOf(num), ExpMonth: em, ExpYear: ey, Behaviour: behaviourOf(num), Created: s.now()}
	s.cardToks[t.ID] = t
	b, _ := json.Marshal(map[string]any{
		"id": t.ID, "object": "token", "type": "card", "used": false, "livemode": false,
		"created": s.now().Unix(),
		"card": map[string]any{"id": newID("card_"), "object": "card", "brand": t.Brand, "last4": t.Last4,
			"exp_month": em, "exp_year": ey},
	})
	s.remember("stripe-token", key, fp, http.StatusOK, b)
	writeRaw(w, http.StatusOK, b)
}

func (s *Provider) handleStripeCharge(w http.ResponseWriter, r *http.Request) {
	if !s.requireAPIKey(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, stripeError("invalid_request_error", "", "Unreadable form body."))
		return
	}
	f := r.PostForm
	amount, err := strconv.ParseInt(f.Get("amount"), 10, 64)
	if err != nil || amount <= 0 {
		writeJSON(w, http.StatusBadRequest, stripeError("invalid_request_error", "parameter_invalid_integer", "amount must be a positive integer in minor units."))
		return
	}
	cur := strings.ToUpper(f.Get("currency"))
	if len(cur) != 3 {
		writeJSON(w, http.StatusBadRequest, stripeError("invalid_request_error", "parameter_missing", "Missing required param: currency."))
		return
	}
	src := f.Get("source")
	md := map[string]string{}
	for k, v := range f {
		if strings.HasPrefix(k, "metadata[") && strings.HasSuffix(k, "]") && len(v) > 0 {
			md[k[len("metadata["):len(k)-1]] = v[0]
		}
	}
	key := r.Header.Get("Idempotency-Key")
	hold := f.Get("capture") == "false"
	fp := f.Get("amount") + "|" + cur + "|" + src + "|" + f.Get("capture")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replay(w, "stripe-charge", key, fp) {
		return
	}
	answer := func(status int, v any) {
		b, _ := json.Marshal(v)
		s.remember("stripe-charge", key, fp, status, b)
		writeRaw(w, status, b)
	}
	t := s.cardToks[src]
	if t == nil {
		answer(http.StatusBadRequest, stripeError("invalid_request_error", "resource_missing", "No such token: '"+src+"'"))
		return
	}
	if t.Used {
		answer(http.StatusBadRequest, stripeError("invalid_request_error", "token_already_used", "You cannot use a Stripe token more than once."))
		return
	}
	t.Used = true
	ch := &Charge{ID: newID("ch_"), API: "stripe", IdempotencyKey: key, Status: "succeeded",
		Amount: amount, Currency: cur, Last4: t.Last4, Brand: t.Brand, Reference: md["reference"],
		Invoice: stripeInvoice(md, f.Get("description")), behaviour: t.Behaviour}
	obj := &chargeObject{ID: ch.ID, Object: "charge", Amount: amount, Currency: strings.ToLower(cur),
		Status: "succeeded", Paid: true, Captured: true, Description: f.Get("description"), Metadata: md,
		Source:  map[string]any{"id": t.ID, "brand": t.Brand, "last4": t.Last4, "exp_month": t.ExpMonth, "exp_year": t.ExpYear},
		Created: s.now().Unix()}
	outcome := t.Outcome
	if fc := faultDecline(r); fc != "" && outcome == "" {
		outcome = fc
	}
	if outcome != "" {
		ch.Status, ch.DeclineCode = "declined", outcome
		obj.Status, obj.Paid, obj.Captured = "failed", false, false
		obj.FailureCode, obj.FailureMessage = outcome, declineMessage(outcome)
	}
	if hold {
		s.authorizeLocked(ch)
	}
	s.recordCharge(ch)
	s.stripeCharges = append(s.stripeCharges, obj)
	if outcome != "" {
		answer(http.StatusPaymentRequired, stripeDecline(outcome, ch.ID))
		return
	}
	answer(http.StatusOK, s.stripeView(obj))
}

// stripeInvoice reads the invoice a Stripe charge carries in its metadata (invoice_id,
// invoice_lines as "description|quantity|amount;…", the invoice's own metadata as
// invoice_meta_KEY) and its description.
func stripeInvoice(md map[string]string, description string) *Invoice {
	id := md["invoice_id"]
	if id == "" {
		return nil
	}
	inv := &Invoice{ID: id, Description: description}
	for _, l := range strings.Split(md["invoice_lines"], ";") {
		parts := strings.Split(l, "|")
		if len(parts) != 3 {
			continue
		}
		q, _ := strconv.Atoi(parts[1])
		inv.Lines = append(inv.Lines, InvoiceLine{Description: parts[0], Quantity: q, Amount: parts[2]})
	}
	for k, v := range md {
		if name, ok := strings.CutPrefix(k, "invoice_meta_"); ok {
			if inv.Metadata == nil {
				inv.Metadata = map[string]string{}
			}
			inv.Metadata[name] = v
		}
	}
	return inv
}

// stripeView is a charge object as it stands now: captured and refunded amounts from the
// ledger (the caller holds s.mu).
func (s *Provider) stripeView(obj *chargeObject) chargeObject {
	v := *obj
	c := s.chargeLocked(obj.ID)
	if c == nil || c.Status == "declined" {
		return v
	}
	v.Captured = c.Captured > 0
	v.AmountCaptured, v.AmountRefunded = c.Captured, c.Refunded
	v.Refunded = c.Refunded > 0 && c.Refunded == c.Captured || c.Status == statusVoided
	v.Disputed = c.Disputed
	if c.Status == statusVoided {
		v.AmountRefunded = c.Amount
	}
	return v
}

// stripeSearchQuery is the one search the sandbox understands: metadata['key']:'value'.
var stripeSearchQuery = regexp.MustCompile(`^metadata\['([A-Za-z0-9_\-]{1,40})'\]:'([^']{0,200})'$`)

func (s *Provider) handleStripeSearch(w http.ResponseWriter, r *http.Request) {
	if !s.requireAPIKey(w, r) {
		return
	}
	m := stripeSearchQuery.FindStringSubmatch(r.URL.Query().Get("query"))
	if m == nil {
		writeJSON(w, http.StatusBadRequest, stripeError("invalid_request_error", "", "The sandbox supports only query=metadata['key']:'value'."))
		return
	}
	s.mu.Lock()
	data := []*chargeObject{}
	for _, c := range s.stripeCharges {
		if c.Metadata[m[1]] == m[2] {
			v := s.stripeView(c)
			data = append(data, &v)
		}
	}
	b, _ := json.Marshal(map[string]any{"object": "search_result", "data": data, "has_more": false})
	s.mu.Unlock()
	writeRaw(w, http.StatusOK, b)
}

func (s *Provider) handleStripeGetCharge(w http.ResponseWriter, r *http.Request) {
	if !s.requireAPIKey(w, r) {
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.stripeCharges {
		if c.ID == id {
			writeJSON(w, http.StatusOK, s.stripeView(c))
			return
		}
	}
	writeJSON(w, http.StatusNotFound, stripeError("invalid_request_error", "resource_missing", "No such charge."))
}
