package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookSink receives the sandbox's events, verifying their signatures.
type hookSink struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	events []providerEvent
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if err := verifySignature(r.Header.Get(signatureHeader), b, h.secret, time.Minute, time.Now()); err != nil {
		h.t.Errorf("event signature: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev providerEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		h.t.Errorf("event %s: %v", b, err)
	}
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// wait returns the first event of type typ about transaction txn, waiting up to 10s.
func (h *hookSink) wait(t *testing.T, typ, txn string) providerEvent {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		h.mu.Lock()
		for _, ev := range h.events {
			if ev.Type == typ && ev.Data.TransactionID == txn {
				h.mu.Unlock()
				return ev
			}
		}
		h.mu.Unlock()
	}
	t.Fatalf("no %s event for %s", typ, txn)
	return providerEvent{}
}

func lifecycleEnv(t *testing.T) (*env, *hookSink) {
	sink := &hookSink{t: t, secret: "whsec-test"}
	hooks := httptest.NewServer(sink)
	t.Cleanup(hooks.Close)
	e := newEnv(t, Config{WebhookURL: hooks.URL, WebhookSecret: sink.secret, SettleAfter: 100 * time.Millisecond,
		WebhookDelay: 10 * time.Millisecond, ShortAuthorizationTTL: 300 * time.Millisecond})
	t.Cleanup(e.p.Close)
	return e, sink
}

// authorizeSession authorizes amount on a fresh session with card pan and returns the
// transaction id.
func (e *env) authorizeSession(t *testing.T, tok, amount, pan, key string) (string, map[string]any) {
	t.Helper()
	sid := e.session(t, tok, amount)
	st, m := doJSON(t, "POST", e.srv.URL+"/globalpci/v1/session/"+sid+"/capture",
		`{"method":"authorize","cardNumber":"`+pan+`","expiryMonth":12,"expiryYear":2099,"securityCode":"123"}`,
		map[string]string{"Authorization": "Bearer " + tok, "Idempotency-Key": key, "Content-Type": "application/json"})
	txn, _ := m["transactionId"].(string)
	if st != http.StatusOK {
		t.Fatalf("authorize: %d %v", st, m)
	}
	return txn, m
}

func (e *env) op(t *testing.T, tok, txn, kind, key, body string) (int, map[string]any) {
	t.Helper()
	return doJSON(t, "POST", e.srv.URL+"/globalpci/v1/transaction/"+txn+"/"+kind, body,
		map[string]string{"Authorization": "Bearer " + tok, "Idempotency-Key": key, "Content-Type": "application/json"})
}

func (e *env) charge(t *testing.T, id string) Charge {
	t.Helper()
	for _, c := range e.p.Ledger() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("charge %s not in the ledger", id)
	return Charge{}
}

// TestSessionAuthorizeCaptureRefund walks one authorisation through the session API: two
// partial captures up to the authorised amount (a third refused), a replayed capture, refunds
// up to the captured amount (one more refused), the ledger's totals, and the capture.settled
// and refund.succeeded events.
func TestSessionAuthorizeCaptureRefund(t *testing.T) {
	e, sink := lifecycleEnv(t)
	tok := e.token(t)
	txn, m := e.authorizeSession(t, tok, "50.00", "4242424242424242", "k-auth")
	if m["outcome"] != "approved" || m["authorizedUntil"] == nil || txn == "" {
		t.Fatalf("authorize answer %v", m)
	}
	if c := e.charge(t, txn); c.Status != statusAuthorized || c.Authorized != 5000 || c.Captured != 0 || c.Method != "authorize" {
		t.Fatalf("authorisation in the ledger: %+v", c)
	}
	if st, m := e.op(t, tok, txn, "capture", "k-cap-1", `{"amount":"20.00"}`); st != 200 || m["status"] != opSucceeded {
		t.Fatalf("capture 1: %d %v", st, m)
	}
	// The same key again: the first answer, no second capture.
	if st, m := e.op(t, tok, txn, "capture", "k-cap-1", `{"amount":"20.00"}`); st != 200 || m["status"] != opSucceeded {
		t.Fatalf("capture 1 replayed: %d %v", st, m)
	}
	if st, m := e.op(t, tok, txn, "capture", "k-cap-2", `{"amount":"30.01"}`); st != http.StatusBadRequest || m["errorCode"] != CodeAmountTooLarge {
		t.Fatalf("over-capture: %d %v", st, m)
	}
	st, m := e.op(t, tok, txn, "capture", "k-cap-3", `{}`) // the rest
	tr, _ := m["transaction"].(map[string]any)
	if st != 200 || tr["state"] != statusCaptured || tr["captured"] != "50.00" {
		t.Fatalf("capture of the rest: %d %v", st, m)
	}
	for i, amt := range []string{"10.00", "15.00"} {
		if st, m := e.op(t, tok, txn, "refund", "k-ref-"+amt, `{"amount":"`+amt+`","reason":"requested_by_customer"}`); st != 200 || m["status"] != opSucceeded {
			t.Fatalf("refund %d: %d %v", i, st, m)
		}
	}
	if st, m := e.op(t, tok, txn, "refund", "k-ref-big", `{"amount":"25.01"}`); st != http.StatusBadRequest || m["errorCode"] != CodeAmountTooLarge {
		t.Fatalf("over-refund: %d %v", st, m)
	}
	c := e.charge(t, txn)
	if c.Captured != 5000 || c.Refunded != 2500 || len(c.Operations) != 4 {
		t.Fatalf("ledger: %+v", c)
	}
	ev := sink.wait(t, EventRefundSucceeded, txn)
	if ev.Data.Kind != "refund" || ev.Data.Currency != "GBP" || ev.Data.IdempotencyKey == "" {
		t.Errorf("refund event %+v", ev)
	}
	sink.wait(t, EventCaptureSettled, txn)
	// Voiding a captured transaction is refused; the status lists every operation.
	if st, _ := e.op(t, tok, txn, "void", "k-void", ``); st != http.StatusConflict {
		t.Errorf("void after capture: %d", st)
	}
	st, m = doJSON(t, "GET", e.srv.URL+"/globalpci/v1/transaction/"+txn, "", map[string]string{"Authorization": "Bearer " + tok})
	if ops, _ := m["operations"].([]any); st != 200 || len(ops) != 4 || m["refunded"] != "25.00" {
		t.Errorf("status: %d %v", st, m)
	}
}

// TestLifecycleTestCards: each lifecycle test card takes its path — an authorisation that
// expires, a capture refused, a refund that fails later, a chargeback after capture — and the
// void of a fresh authorisation releases it.
func TestLifecycleTestCards(t *testing.T) {
	e, sink := lifecycleEnv(t)
	tok := e.token(t)

	txn, _ := e.authorizeSession(t, tok, "12.34", "4000000000003006", "k-exp")
	time.Sleep(400 * time.Millisecond) // past the short lifetime
	if st, m := e.op(t, tok, txn, "capture", "k-exp-cap", `{}`); st != 200 || m["status"] != opFailed || m["errorCode"] != CodeAuthorizationExpired {
		t.Errorf("capture after expiry: %d %v", st, m)
	}
	sink.wait(t, EventAuthorizationExpired, txn)
	if c := e.charge(t, txn); c.Status != statusExpired || c.Captured != 0 {
		t.Errorf("expired: %+v", c)
	}

	txn, _ = e.authorizeSession(t, tok, "12.34", "4000000000003402", "k-refuse")
	if st, m := e.op(t, tok, txn, "capture", "k-refuse-cap", `{}`); st != 200 || m["status"] != opFailed || m["errorCode"] != CodeCaptureDeclined {
		t.Errorf("refused capture: %d %v", st, m)
	}
	if c := e.charge(t, txn); c.Status != statusAuthorized || c.Captured != 0 {
		t.Errorf("after a refused capture: %+v", c)
	}
	if st, m := e.op(t, tok, txn, "void", "k-refuse-void", ``); st != 200 || m["status"] != opSucceeded {
		t.Errorf("void: %d %v", st, m)
	}
	if c := e.charge(t, txn); c.Status != statusVoided {
		t.Errorf("after void: %+v", c)
	}

	txn, _ = e.authorizeSession(t, tok, "12.34", "4000000000005126", "k-rf")
	e.op(t, tok, txn, "capture", "k-rf-cap", `{}`)
	if st, m := e.op(t, tok, txn, "refund", "k-rf-ref", `{"amount":"2.00"}`); st != 200 || m["status"] != opPending {
		t.Errorf("refund of the failing card: %d %v", st, m)
	}
	ev := sink.wait(t, EventRefundFailed, txn)
	if ev.Data.ErrorCode != CodeRefundFailed || ev.Data.Amount != "2.00" || ev.Data.Refunded != "0.00" {
		t.Errorf("refund.failed %+v", ev)
	}

	txn, _ = e.authorizeSession(t, tok, "12.34", "4000000000000259", "k-cb")
	e.op(t, tok, txn, "capture", "k-cb-cap", `{}`)
	ev = sink.wait(t, EventChargeback, txn)
	if ev.Data.Amount != "12.34" || !e.charge(t, txn).Disputed {
		t.Errorf("chargeback %+v", ev)
	}
}

// TestBankAccountPayments: an ach-debit capture approves with the account's mask, the test
// accounts decline, a bad routing number is refused, and a bank refund is pending until it
// settles (refund.succeeded).
func TestBankAccountPayments(t *testing.T) {
	e, sink := lifecycleEnv(t)
	tok := e.token(t)
	pay := func(account, routing, key string) map[string]any {
		sid := e.session(t, tok, "20.00")
		st, m := doJSON(t, "POST", e.srv.URL+"/globalpci/v1/session/"+sid+"/capture",
			`{"method":"charge","paymentMethod":"ach-debit","bankAccount":{"routingNumber":"`+routing+`","accountNumber":"`+account+`","accountType":"consumer-checking"}}`,
			map[string]string{"Authorization": "Bearer " + tok, "Idempotency-Key": key, "Content-Type": "application/json"})
		if st != 200 {
			t.Fatalf("ach capture: %d %v", st, m)
		}
		return m
	}
	m := pay("000123456789", TestRoutingNumber, "ach-1")
	txn, _ := m["transactionId"].(string)
	if m["outcome"] != "approved" || m["maskedAccount"] != "********6789" {
		t.Fatalf("ach approve: %v", m)
	}
	if c := e.charge(t, txn); c.PaymentMethod != "ach-debit" || c.Last4 != "6789" || c.AccountType != "consumer-checking" || c.Captured != 2000 {
		t.Errorf("ach charge: %+v", c)
	}
	for acct, code := range map[string]string{"000111111116": CodeNoAccount, "000222222227": CodeInsufficientFunds} {
		if m := pay(acct, TestRoutingNumber, "ach-"+acct); m["outcome"] != "declined" || m["errorCode"] != code {
			t.Errorf("account %s: %v", acct, m)
		}
	}
	if m := pay("000123456789", "110000001", "ach-badrouting"); m["errorCode"] != CodeInvalidRoutingNumber {
		t.Errorf("bad routing: %v", m)
	}
	if st, m := e.op(t, tok, txn, "refund", "ach-ref", `{"amount":"5.00"}`); st != 200 || m["status"] != opPending {
		t.Fatalf("ach refund: %d %v", st, m)
	}
	ev := sink.wait(t, EventRefundSucceeded, txn)
	if ev.Data.Status != opSucceeded || ev.Data.Refunded != "5.00" {
		t.Errorf("settled: %+v", ev)
	}
	b, _ := json.Marshal(e.p.Ledger())
	if strings.Contains(string(b), "000123456789") || strings.Contains(e.logs.String(), "000123456789") {
		t.Error("the ledger or the log holds the account number")
	}
}

// TestSessionCancelFences: a cancelled session refuses a capture that arrives afterwards; a
// completed one answers 409 with its captures.
func TestSessionCancelFences(t *testing.T) {
	e, _ := lifecycleEnv(t)
	tok := e.token(t)
	sid := e.session(t, tok, "12.34")
	auth := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
	if st, m := doJSON(t, "POST", e.srv.URL+"/globalpci/v1/session/"+sid+"/cancel", "", auth); st != 200 || m["sessionState"] != stateCancelled {
		t.Fatalf("cancel: %d %v", st, m)
	}
	auth["Idempotency-Key"] = "late"
	if st, _ := doJSON(t, "POST", e.srv.URL+"/globalpci/v1/session/"+sid+"/capture",
		`{"cardNumber":"4242424242424242","expiryMonth":12,"expiryYear":2099}`, auth); st != http.StatusConflict {
		t.Errorf("capture after cancel: %d", st)
	}
	if len(e.p.Ledger()) != 0 {
		t.Error("a cancelled session was charged")
	}
}

// TestDeclineFault: decline_first declines the next payment with a retryable code, whatever
// the card; the answer says it is retryable.
func TestDeclineFault(t *testing.T) {
	e, _ := lifecycleEnv(t)
	e.p.SetFaults(Faults{DeclineFirst: 1})
	tok := e.token(t)
	sid := e.session(t, tok, "1.00")
	hdr := map[string]string{"Authorization": "Bearer " + tok, "Idempotency-Key": "d1", "Content-Type": "application/json"}
	st, m := doJSON(t, "POST", e.srv.URL+"/globalpci/v1/session/"+sid+"/capture", `{"cardNumber":"4242424242424242","expiryMonth":12,"expiryYear":2099}`, hdr)
	if st != 200 || m["errorCode"] != CodeProcessingError || m["retryable"] != true {
		t.Fatalf("declined by fault: %d %v", st, m)
	}
	hdr["Idempotency-Key"] = "d2"
	if _, m := doJSON(t, "POST", e.srv.URL+"/globalpci/v1/session/"+sid+"/capture", `{"cardNumber":"4242424242424242","expiryMonth":12,"expiryYear":2099}`, hdr); m["outcome"] != "approved" {
		t.Fatalf("after the fault: %v", m)
	}
}

// TestStripeHoldCaptureRefund: capture=false holds; one capture (partial releases the rest), a
// second refused; refunds by object, listed by charge; refunding an uncaptured charge voids it.
func TestStripeHoldCaptureRefund(t *testing.T) {
	e, _ := lifecycleEnv(t)
	hdr := map[string]string{"Authorization": "Bearer sk_test_x", "Content-Type": "application/x-www-form-urlencoded"}
	hold := func(key string) string {
		hdr["Idempotency-Key"] = key + "-token"
		_, tok := doJSON(t, "POST", e.srv.URL+"/v1/tokens", "card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2099&card[cvc]=123", hdr)
		hdr["Idempotency-Key"] = key
		form := url.Values{"amount": {"5000"}, "currency": {"gbp"}, "source": {tok["id"].(string)}, "capture": {"false"},
			"metadata[invoice_id]": {"INV-7"}, "metadata[invoice_lines]": {"Widget|2|25.00"}}
		st, ch := doJSON(t, "POST", e.srv.URL+"/v1/charges", form.Encode(), hdr)
		if st != 200 || ch["captured"] != false {
			t.Fatalf("hold: %d %v", st, ch)
		}
		return ch["id"].(string)
	}
	id := hold("s1")
	hdr["Idempotency-Key"] = "s1-cap"
	if st, ch := doJSON(t, "POST", e.srv.URL+"/v1/charges/"+id+"/capture", "amount=3000", hdr); st != 200 || ch["amount_captured"] != 3000.0 {
		t.Fatalf("capture: %d %v", st, ch)
	}
	hdr["Idempotency-Key"] = "s1-cap2"
	if st, _ := doJSON(t, "POST", e.srv.URL+"/v1/charges/"+id+"/capture", "amount=1000", hdr); st != 400 {
		t.Errorf("second capture: %d", st)
	}
	hdr["Idempotency-Key"] = "s1-ref"
	if st, r := doJSON(t, "POST", e.srv.URL+"/v1/refunds", "charge="+id+"&amount=1000&reason=duplicate&metadata[idempotency_key]=s1-ref", hdr); st != 200 || r["status"] != "succeeded" {
		t.Errorf("refund: %d %v", st, r)
	}
	st, l := doJSON(t, "GET", e.srv.URL+"/v1/refunds?charge="+id, "", hdr)
	if data, _ := l["data"].([]any); st != 200 || len(data) != 1 {
		t.Errorf("refund list: %d %v", st, l)
	}
	if c := e.charge(t, id); c.Status != statusCaptured || c.Captured != 3000 || c.Refunded != 1000 || c.Invoice == nil || c.Invoice.ID != "INV-7" {
		t.Errorf("ledger %+v", c)
	}
	id2 := hold("s2")
	hdr["Idempotency-Key"] = "s2-void"
	if st, r := doJSON(t, "POST", e.srv.URL+"/v1/refunds", "charge="+id2, hdr); st != 200 || r["status"] != "succeeded" {
		t.Errorf("void by refund: %d %v", st, r)
	}
	if c := e.charge(t, id2); c.Status != statusVoided {
		t.Errorf("voided: %+v", c)
	}
}

// TestGenericLifecycleAndBank: the generic contract's authorize, capture and refund methods,
// and a bank debit, with the invoice the request carries kept on the charge.
func TestGenericLifecycleAndBank(t *testing.T) {
	e, _ := lifecycleEnv(t)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("merchant:pw"))
	send := func(body string) (int, map[string]any) {
		return doJSON(t, "POST", e.srv.URL+"/generic", body, map[string]string{"Authorization": basic, "Content-Type": "application/json"})
	}
	st, m := send(`{"transaction_id":"g1","method":"authorize","cardnumber":"4242424242424242","cvv":"123","expiry_month":"12","expiry_year":"2099","amount":20.00,"currency_code":"USD","invoice":{"id":"INV-1","lines":[{"description":"Plan","quantity":1,"amount":"20.00"}]}}`)
	id, _ := m["charge_id"].(string)
	if st != 200 || id == "" || m["authorized_until"] == nil {
		t.Fatalf("authorize: %d %v", st, m)
	}
	if st, m := send(`{"transaction_id":"g2","method":"capture","charge_id":"` + id + `","amount":15.00,"currency_code":"USD","final":true}`); st != 200 || m["status"] != opSucceeded {
		t.Fatalf("capture: %d %v", st, m)
	}
	if st, m := send(`{"transaction_id":"g3","method":"refund","charge_id":"` + id + `","amount":5.00,"currency_code":"USD","reason":"damaged"}`); st != 200 || m["status"] != opSucceeded {
		t.Fatalf("refund: %d %v", st, m)
	}
	if st, m := send(`{"transaction_id":"g4","method":"capture","charge_id":"` + id + `","amount":1.00,"currency_code":"USD"}`); st != 400 || m["error_code"] != CodeNotCapturable {
		t.Errorf("capture after the final one: %d %v", st, m)
	}
	c := e.charge(t, id)
	if c.Captured != 1500 || c.Refunded != 500 || c.Status != statusCaptured || c.Invoice == nil || c.Invoice.Lines[0].Amount != "20.00" {
		t.Errorf("ledger %+v", c)
	}
	st, m = send(`{"transaction_id":"g5","method":"charge","payment_method":"ach-debit","bank_account_type":"consumer-savings","bank_routing_number":"110000000","bank_account_number":"000123456789","amount":9.99,"currency_code":"USD"}`)
	if st != 200 || m["charge_id"] == nil {
		t.Fatalf("bank charge: %d %v", st, m)
	}
	if c := e.charge(t, m["charge_id"].(string)); c.PaymentMethod != "ach-debit" || c.AccountType != "consumer-savings" || c.Last4 != "6789" {
		t.Errorf("bank charge %+v", c)
	}
}
