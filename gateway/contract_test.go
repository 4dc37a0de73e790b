package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
)

// The sandbox keeps its own copy of the JSON it answers with (package sandbox shares no code
// with the gateway), so nothing but a test shows that the two copies agree. This one drives
// every exchange the connectors make through the real connectors against the real sandbox,
// records the sandbox's answers on the wire, and holds each to the gateway's type for it
// (contract.go):
//
//   - the shapes paybridge owns (the session API and its capture call, the Generic Pay
//     Connector) decode with DisallowUnknownFields — the sandbox sends no field the client's
//     copy lacks — and every field of the client's copy is filled by some answer — the client
//     reads no field the sandbox never sends;
//   - of the shapes that are other people's (Stripe), every field the client reads is filled by
//     some answer.
//
// A field renamed on one side only fails one of the two. The request direction is the
// sandbox's TestClientRequestsAreUnderstood, which replays the client's recorded requests
// (testdata/gateway/wire, kept exact by TestWireFormats) against the sandbox.

// wireTap records every answer the sandbox gives, with the request's method and path.
type wireTap struct {
	mu  sync.Mutex
	got []tappedAnswer
}

type tappedAnswer struct {
	method, path string
	status       int
	body         []byte
}

type tapWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *tapWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *tapWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(p)
	return w.ResponseWriter.Write(p)
}

func (tp *wireTap) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &tapWriter{ResponseWriter: w}
		next.ServeHTTP(tw, r)
		tp.mu.Lock()
		tp.got = append(tp.got, tappedAnswer{method: r.Method, path: r.URL.Path, status: tw.status, body: tw.body.Bytes()})
		tp.mu.Unlock()
	})
}

// contractShape is the gateway type an answer must decode into.
type contractShape struct {
	name   string
	typ    reflect.Type
	strict bool // a shape paybridge owns: no unknown field, every field filled by some answer
}

func shapeOf[T any](strict bool) *contractShape {
	t := reflect.TypeFor[T]()
	return &contractShape{name: t.Name(), typ: t, strict: strict}
}

var (
	shapeSessionCreated = shapeOf[sessionCreated](true)
	shapeSessionStatus  = shapeOf[SessionStatus](true)
	shapeCapture        = shapeOf[CaptureResponse](true)
	shapeSessionError   = shapeOf[sessionMessage](false) // a 409 also says sessionState
	shapeGeneric        = shapeOf[GenericResponse](true)
	shapeStripeToken    = shapeOf[stripeToken](false)
	shapeStripeCharge   = shapeOf[stripeCharge](false)
	shapeStripeSearch   = shapeOf[stripeSearch](false)
	shapeStripeError    = shapeOf[stripeErrorBody](false)
	shapeTransaction    = shapeOf[TransactionStatus](true)
	shapeOperation      = shapeOf[OperationAnswer](true)
	shapeOpError        = shapeOf[opErrorBody](true)
	shapeStripeRefund   = shapeOf[stripeRefund](false)
	shapeStripeRefunds  = shapeOf[stripeRefundList](false)
	shapeProviderEvent  = shapeOf[ProviderEvent](true) // posted by the sandbox, not answered
)

// shapeFor names the gateway type of an answer; nil for the answers no connector reads (the
// token endpoint is OAuth2's, read by x/oauth2).
func shapeFor(a tappedAnswer) *contractShape {
	p := a.path
	switch {
	case strings.HasPrefix(p, "/globalpci/v1/selfservicesession"), strings.HasPrefix(p, "/globalpci/v1/digitalselfservicesession"):
		if a.status == http.StatusOK {
			return shapeSessionCreated
		}
		return shapeSessionError
	case strings.HasPrefix(p, "/globalpci/v1/session/") && strings.HasSuffix(p, "/capture"):
		if a.status == http.StatusOK {
			return shapeCapture
		}
		return shapeSessionError
	case strings.HasPrefix(p, "/globalpci/v1/transaction/") && strings.Count(p, "/") == 5: // capture, void, refund
		if a.status == http.StatusOK {
			return shapeOperation
		}
		return shapeOpError
	case strings.HasPrefix(p, "/globalpci/v1/transaction/"):
		return shapeTransaction
	case strings.HasPrefix(p, "/globalpci/v1/session/"): // status, cancel, and a signed result's answer
		if a.status == http.StatusOK {
			return shapeSessionStatus
		}
		return shapeSessionError
	case p == "/generic":
		return shapeGeneric
	case p == "/v1/tokens" && a.status == http.StatusOK:
		return shapeStripeToken
	case p == "/v1/charges" && a.status == http.StatusOK:
		return shapeStripeCharge
	case p == "/v1/tokens", p == "/v1/charges":
		return shapeStripeError
	case p == "/v1/charges/search":
		return shapeStripeSearch
	case p == "/v1/refunds" && a.method == http.MethodGet:
		return shapeStripeRefunds
	case (p == "/v1/refunds" || strings.HasPrefix(p, "/v1/charges/")) && a.status != http.StatusOK:
		return shapeStripeError
	case p == "/v1/refunds":
		return shapeStripeRefund
	case strings.HasPrefix(p, "/v1/charges/"): // a capture, a charge fetched
		return shapeStripeCharge
	}
	return nil
}

// decodeShape decodes body into a new value of s's type (strictly for the shapes paybridge
// owns) and adds the paths of the fields it filled to filled.
func decodeShape(s *contractShape, body []byte, filled map[string]bool) error {
	v := reflect.New(s.typ)
	dec := json.NewDecoder(bytes.NewReader(body))
	if s.strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v.Interface()); err != nil {
		return err
	}
	markFilled(s.name, v.Elem(), filled)
	return nil
}

// markFilled adds prefix.Field for every field of the struct v that is not zero, descending into
// structs and slices of structs. A struct of a named type also counts for that type (a charge
// in a search result fills stripeCharge's fields).
func markFilled(prefix string, v reflect.Value, filled map[string]bool) {
	if name := v.Type().Name(); name != "" && name != prefix {
		markFilled(name, v, filled)
	}
	for i := 0; i < v.NumField(); i++ {
		f, fv := v.Type().Field(i), v.Field(i)
		path := prefix + "." + f.Name
		if fv.IsZero() {
			continue
		}
		filled[path] = true
		switch {
		case fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeFor[time.Time]():
			markFilled(path, fv, filled)
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
			for j := 0; j < fv.Len(); j++ {
				markFilled(path, fv.Index(j), filled)
			}
		}
	}
}

// fieldPaths lists prefix.Field for every field of the struct type t, nested ones included.
func fieldPaths(prefix string, t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		path := prefix + "." + f.Name
		out = append(out, path)
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Time]():
			out = append(out, fieldPaths(path, f.Type)...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			out = append(out, fieldPaths(path, f.Type.Elem())...)
		}
	}
	return out
}

func TestSandboxHonoursTheContract(t *testing.T) {
	tap := &wireTap{}
	var posted [][]byte // the events the sandbox posts
	var postedMu sync.Mutex
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := new(bytes.Buffer)
		b.ReadFrom(r.Body)
		postedMu.Lock()
		posted = append(posted, b.Bytes())
		postedMu.Unlock()
	}))
	t.Cleanup(hooks.Close)
	prov := sandbox.New(sandbox.Config{PaymentKeys: map[string]string{"acct-1": "pk_contract"}, WebhookURL: hooks.URL,
		WebhookSecret: "whsec", SettleAfter: 20 * time.Millisecond, WebhookDelay: time.Millisecond})
	t.Cleanup(prov.Close)
	srv := httptest.NewServer(tap.wrap(prov))
	t.Cleanup(srv.Close)
	led := NewMemoryStore()
	cs := NewConnectors(ConnectorsConfig{SandboxURL: srv.URL, Attempts: led, Backoff: time.Millisecond})
	open := func(typ string) *Connector {
		spec := &payment.ConnectorSpec{Name: typ, Type: typ, BaseURL: "sandbox", Account: "acct-1"}
		switch typ {
		case "session":
			spec.ClientCredentials = &payment.ClientCredentials{ClientID: "id", ClientSecret: "secret"}
		case "generic":
			spec.BasicAuth = &payment.BasicAuth{Username: "merchant", Password: "pw"}
		case "stripe":
			spec.APIKey = "sk_test_contract"
		}
		c, err := cs.OpenConnector(spec)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	gbp := func(minor int64) payment.Amount { return payment.Amount{Minor: minor, Currency: "GBP"} }
	pay := func(c *Connector, key, sessionID string, amount payment.Amount, pan string) *payment.Result {
		t.Helper()
		res, err := c.Pay(ctx, &payment.Request{CallID: "call-" + key, IdempotencyKey: key, SessionID: sessionID,
			Amount: amount, Reference: "12345678", Card: card(t, pan, "123")})
		if err != nil {
			t.Fatalf("pay %s: %v", key, err)
		}
		return res
	}

	// The session API: voice and digital sessions, an approved charge, a decline, a
	// tokenization, a capture on an ended session (409), the status of each, a signed result.
	sess := open("session")
	start := func(req *payment.SessionRequest) *payment.Session {
		t.Helper()
		s, err := sess.StartSession(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	paid := start(&payment.SessionRequest{CallID: "c-paid", Amount: gbp(1234), Reference: "12345678"})
	if r := pay(sess, "s-paid", paid.ID, gbp(1234), "4242424242424242"); r.Status != payment.Approved {
		t.Fatalf("session charge: %+v", r)
	}
	if r := pay(sess, "s-again", paid.ID, gbp(1234), "4242424242424242"); r.ErrorCode != "session_completed" {
		t.Fatalf("capture on a completed session: %+v", r)
	}
	declined := start(&payment.SessionRequest{CallID: "c-declined", Amount: gbp(500)})
	if r := pay(sess, "s-declined", declined.ID, gbp(500), "4000000000000002"); r.Status != payment.Declined {
		t.Fatalf("session decline: %+v", r)
	}
	tokenized := start(&payment.SessionRequest{CallID: "c-token"})
	if r := pay(sess, "s-token", tokenized.ID, payment.Amount{}, "5555555555554444"); r.Token == "" {
		t.Fatalf("session tokenize: %+v", r)
	}
	digital := start(&payment.SessionRequest{CallID: "c-digital", Amount: gbp(700), Digital: true, Phone: "+447700900123"})
	for _, id := range []string{paid.ID, declined.ID, tokenized.ID, digital.ID} {
		start(&payment.SessionRequest{CallID: "c-status", SessionID: id}) // GET …/session/{id}
	}
	body := []byte(`{"status":"paid","transactionId":"ext-contract"}`)
	tok, err := sess.Tokens().Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/globalpci/v1/session/"+digital.ID+"/result", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set(SignatureHeader, Sign(body, "pk_contract", time.Now())) // the merchant signs as paybridge's webhooks do
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a result signed with gateway.Sign: HTTP %d", resp.StatusCode)
	}

	// The Generic Pay Connector: charge, tokenize, decline.
	gen := open("generic")
	pay(gen, "g-charge", "", gbp(1234), "4242424242424242")
	pay(gen, "g-token", "", payment.Amount{}, "4242424242424242")
	pay(gen, "g-declined", "", gbp(1234), "4000000000009995")

	// The Stripe-shaped API: a charge, a decline (402), and the search reconciliation makes for
	// each (the declined charge is found with its failure code).
	str := open("stripe")
	pay(str, "st-charge", "", gbp(1234), "4242424242424242")
	if r := pay(str, "st-declined", "", gbp(1234), "4000000000000002"); r.ErrorCode != "card_declined" {
		t.Fatalf("stripe decline: %+v", r)
	}
	for _, key := range []string{"st-charge", "st-declined"} {
		a, err := led.GetAttempt(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, found, err := str.api.lookup(ctx, a); err != nil || !found {
			t.Fatalf("stripe search for %s: found=%v %v", key, found, err)
		}
	}

	// The lifecycle: authorisations (session, generic, stripe), a soft decline, a bank debit,
	// captures, a void, refunds (one pending), a refused operation, a cancelled session, the
	// operations looked up, and the events the sandbox posts about them.
	life := NewLifecycle(LifecycleConfig{Ledger: NewMemoryLedger(), Connectors: cs})
	authorizeVia := func(c *Connector, key, pan string) *payment.Result {
		t.Helper()
		var sid string
		if c.Type() == "session" {
			sid = start(&payment.SessionRequest{CallID: "c-" + key, Amount: gbp(3000), Invoice: &payment.Invoice{ID: "INV-1",
				Lines: []payment.InvoiceLine{{Description: "Widget", Quantity: 3, AmountMinor: 1000}}}}).ID
		}
		res, err := c.Pay(ctx, &payment.Request{CallID: "c-" + key, IdempotencyKey: key, SessionID: sid, Method: payment.MethodAuthorize,
			Amount: gbp(3000), Card: card(t, pan, "123")})
		if err != nil || res.Status != payment.Approved {
			t.Fatalf("authorize %s: %+v %v", key, res, err)
		}
		life.cfg.Ledger.(*MemoryLedger).AddPayment(payment.PaymentFacts{ID: key, ConnectorKey: c.Key(), ProviderPaymentID: res.ConfirmationCode,
			Method: payment.MethodAuthorize, Currency: "GBP", AuthorizedMinor: 3000})
		return res
	}
	op := func(kind, id, key string, minor int64) {
		t.Helper()
		req := &payment.OpRequest{PaymentID: id, Amount: gbp(minor), IdempotencyKey: key, Reason: "requested_by_customer"}
		var err error
		switch kind {
		case payment.OpCapture:
			_, err = life.Capture(ctx, req)
		case payment.OpVoid:
			_, err = life.Void(ctx, req)
		default:
			_, err = life.Refund(ctx, req)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", kind, key, err)
		}
	}
	for _, c := range []*Connector{sess, gen, str} {
		k := c.Type()
		authorizeVia(c, k+"-auth", "4242424242424242")
		op(payment.OpCapture, k+"-auth", k+"-cap", 1000)
		op(payment.OpRefund, k+"-auth", k+"-ref", 500)
		authorizeVia(c, k+"-auth2", "5555555555554444")
		op(payment.OpVoid, k+"-auth2", k+"-void", 0)
		authorizeVia(c, k+"-rf", "4000000000005126")
		op(payment.OpCapture, k+"-rf", k+"-rf-cap", 0)
		op(payment.OpRefund, k+"-rf", k+"-rf-ref", 100) // pending, then failed
	}
	// A capture the issuer refuses, and a chargeback: operations with error codes and a
	// disputed transaction, in answers and in the status.
	authorizeVia(sess, "session-refuse", "4000000000003402")
	op(payment.OpCapture, "session-refuse", "session-refuse-cap", 0)
	authorizeVia(sess, "session-cb", "4000000000000259")
	op(payment.OpCapture, "session-cb", "session-cb-cap", 0)
	time.Sleep(100 * time.Millisecond) // past SettleAfter: the refunds failed, the chargeback came
	op(payment.OpRefund, "session-cb", "session-cb-ref", 100)
	// A refused operation (409 on the session API): a capture of the voided authorisation sent
	// anyway, as a second node would have before learning of the void.
	if _, err := sess.operate(ctx, &opCall{kind: payment.OpCapture, txn: func() string {
		f, _ := life.cfg.Ledger.PaymentFacts(ctx, "session-auth2")
		return f.ProviderPaymentID
	}(), key: "late-capture"}); !errors.Is(err, ErrProviderRejected) {
		t.Fatalf("a capture of a voided transaction: %v", err)
	}
	for _, k := range []string{"session-cap", "stripe-cap", "stripe-ref", "stripe-void", "session-refuse-cap", "stripe-rf-ref"} {
		o, _ := life.cfg.Ledger.OpByKey(ctx, k)
		f, _ := life.cfg.Ledger.PaymentFacts(ctx, o.PaymentID)
		conn := sess
		if strings.HasPrefix(k, "stripe") {
			conn = str
		}
		if _, found, err := conn.lookupOp(ctx, &opCall{kind: o.Kind, txn: f.ProviderPaymentID, key: k}); err != nil || !found {
			t.Fatalf("lookup of %s: found=%v %v", k, found, err)
		}
	}
	if _, _, err := str.api.lookup(ctx, &Attempt{Key: "stripe-auth"}); err != nil { // a search after refunds
		t.Fatal(err)
	}
	prov.SetFaults(sandbox.Faults{DeclineFirst: 2, Paths: []string{"/globalpci/v1/session/", "/generic"}})
	soft := start(&payment.SessionRequest{CallID: "c-soft", Amount: gbp(100)})
	if r := pay(sess, "s-soft", soft.ID, gbp(100), "4242424242424242"); !r.Retryable {
		t.Fatalf("soft decline: %+v", r)
	}
	if r := pay(gen, "g-soft", "", gbp(100), "4242424242424242"); !r.Retryable {
		t.Fatalf("generic soft decline: %+v", r)
	}
	prov.SetFaults(sandbox.Faults{})
	if _, _, err := sess.api.(fencer).fence(ctx, &Attempt{Key: "s-soft", SessionID: soft.ID}); err != nil {
		t.Fatal(err)
	}
	achSess := start(&payment.SessionRequest{CallID: "c-ach", Amount: gbp(900)})
	if r, err := sess.Pay(ctx, &payment.Request{CallID: "c-ach", IdempotencyKey: "s-ach", SessionID: achSess.ID, PaymentMethod: payment.PaymentMethodACH,
		Amount: gbp(900), Bank: &payment.BankAccount{RoutingNumber: secure(t, sandbox.TestRoutingNumber), AccountNumber: secure(t, "000123456789"),
			Type: payment.BankConsumerChecking}}); err != nil || r.MaskedAccount == "" {
		t.Fatalf("bank debit: %+v %v", r, err)
	}
	// Every kind of event the sandbox posts (capture.settled, refund.succeeded and .failed).
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		postedMu.Lock()
		n := len(posted)
		postedMu.Unlock()
		if n >= 10 {
			break
		}
	}
	postedMu.Lock()
	events := append([][]byte(nil), posted...)
	postedMu.Unlock()

	// Every answer decodes into its gateway type; the owned shapes strictly.
	filled := map[string]bool{}
	used := map[*contractShape]bool{}
	tap.mu.Lock()
	answers := append([]tappedAnswer(nil), tap.got...)
	tap.mu.Unlock()
	for _, a := range answers {
		s := shapeFor(a)
		if s == nil {
			continue
		}
		used[s] = true
		if err := decodeShape(s, a.body, filled); err != nil {
			t.Errorf("%s %s (HTTP %d) does not decode into gateway's %s: %v\n%s", a.method, a.path, a.status, s.name, err, a.body)
		}
	}
	for _, b := range events {
		used[shapeProviderEvent] = true
		if err := decodeShape(shapeProviderEvent, b, filled); err != nil {
			t.Errorf("an event the sandbox posted does not decode into gateway's ProviderEvent: %v\n%s", err, b)
		}
	}
	// Every field of every gateway type was filled by some answer.
	for _, s := range []*contractShape{shapeSessionCreated, shapeSessionStatus, shapeCapture, shapeSessionError,
		shapeGeneric, shapeStripeToken, shapeStripeCharge, shapeStripeSearch, shapeStripeError,
		shapeTransaction, shapeOperation, shapeOpError, shapeStripeRefund, shapeStripeRefunds, shapeProviderEvent} {
		if !used[s] {
			t.Errorf("no answer of the sandbox was a %s: the scenario misses an exchange", s.name)
			continue
		}
		var missing []string
		for _, p := range fieldPaths(s.name, s.typ) {
			if !filled[p] {
				missing = append(missing, p)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("no answer of the sandbox filled %s", strings.Join(missing, ", "))
		}
	}
	if t.Failed() {
		return
	}

	// Control: the check sees a field renamed on either side.
	renamed := []byte(`{"sessionId":"s","sessionStat":"Created","Message":"ok"}`)
	if err := decodeShape(shapeSessionCreated, renamed, map[string]bool{}); err == nil {
		t.Error("control: an answer with a field the client does not know decoded strictly")
	}
	got := map[string]bool{}
	if err := decodeShape(shapeCapture, []byte(`{"sessionId":"s","outcome":"approved"}`), got); err != nil || got["CaptureResponse.SessionState"] {
		t.Errorf("control: a missing field counted as filled (%v)", err)
	}
}
