package gateway

import (
	"bytes"
	"context"
	"encoding/json"
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
	case strings.HasPrefix(p, "/globalpci/v1/session/"): // status, and a signed result's answer
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
	prov := sandbox.New(sandbox.Config{PaymentKeys: map[string]string{"acct-1": "pk_contract"}})
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
	// Every field of every gateway type was filled by some answer.
	for _, s := range []*contractShape{shapeSessionCreated, shapeSessionStatus, shapeCapture, shapeSessionError,
		shapeGeneric, shapeStripeToken, shapeStripeCharge, shapeStripeSearch, shapeStripeError} {
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
