package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/event"
)

// fakeAgents records the requests the API hands on and answers from a script.
type fakeAgents struct {
	mu   sync.Mutex
	reqs []AgentRequest
	err  error
	p    AgentPayment
}

func (f *fakeAgents) Do(_ context.Context, callID string, req AgentRequest) (AgentPayment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	p := f.p
	p.CallID = callID
	return p, f.err
}

func (f *fakeAgents) Payment(id string) (AgentPayment, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.p, id == f.p.PaymentID
}

func (f *fakeAgents) Payments(callID string) []AgentPayment {
	f.mu.Lock()
	defer f.mu.Unlock()
	if callID != f.p.CallID {
		return nil
	}
	return []AgentPayment{f.p}
}

func (f *fakeAgents) Bridged() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return map[string]string{f.p.CallID: "alice"}
}

func postForm(t *testing.T, f *fixture, path, contentType string, form url.Values) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", contentType)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

const formType = "application/x-www-form-urlencoded"

func TestPaymentsAPIRequests(t *testing.T) {
	ag := &fakeAgents{p: AgentPayment{AgentPayment: event.AgentPayment{PaymentID: "PK1", Status: "capturing",
		Capture: "payment-card-number", Connector: "provider", AmountMinor: 1250, Currency: "GBP", PartialResult: true,
		MaskedCard: "********", CardType: "visa", Required: []string{"payment-card-number", "expiration-date"},
		Fields: []event.AgentField{{Name: "payment-card-number", Digits: 8, Check: "luhn"}}},
		CallID: "c1", Created: time.Unix(0, 0), Updated: time.Unix(1, 0)}}
	f := newFixture(t, func(c *Config) { c.Agents = ag })

	code, body := postForm(t, f, "/api/calls/c1/payments", formType, url.Values{"IdempotencyKey": {"k"}, "ChargeAmount": {"12.50"},
		"Currency": {"GBP"}, "ValidCardTypes": {"visa mastercard"}, "SecurityCode": {"false"}, "PostalCode": {"true"},
		"Timeout": {"7"}, "StatusCallback": {"https://desk.example/cb"}, "PaymentConnector": {"provider"}})
	if code != http.StatusCreated {
		t.Fatalf("start: %d %s", code, body)
	}
	var v AgentPaymentView
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	if v.Sid != "PK1" || v.CallSid != "c1" || v.ChargeAmount != "12.50" || v.PaymentCardNumber != "********" ||
		v.Required != "payment-card-number,expiration-date" || !v.PartialResult || len(v.Fields) != 1 {
		t.Fatalf("answer %+v", v)
	}
	st := ag.reqs[0]
	if st.Op != AgentOpStart || st.IdempotencyKey != "k" || st.Start.ChargeAmount != "12.50" || st.Start.SecurityCode == nil ||
		*st.Start.SecurityCode || !st.Start.PostalCode || st.Start.Timeout != 7*time.Second ||
		fmt.Sprint(st.Start.ValidCardTypes) != "[visa mastercard]" || st.Start.PaymentConnector != "provider" {
		t.Fatalf("start request %+v", st)
	}
	for _, tc := range []struct {
		form url.Values
		op   string
	}{
		{url.Values{"IdempotencyKey": {"a"}, "Capture": {"security-code"}}, AgentOpCapture},
		{url.Values{"IdempotencyKey": {"b"}, "Status": {"complete"}}, AgentOpComplete},
		{url.Values{"IdempotencyKey": {"c"}, "Status": {"cancel"}}, AgentOpCancel},
	} {
		if code, body := postForm(t, f, "/api/calls/c1/payments/PK1", formType, tc.form); code != 200 {
			t.Fatalf("%v: %d %s", tc.form, code, body)
		}
		if r := ag.reqs[len(ag.reqs)-1]; r.Op != tc.op || r.PaymentID != "PK1" {
			t.Fatalf("%v went on as %+v", tc.form, r)
		}
	}
	if ag.reqs[1].Field != "security-code" {
		t.Fatalf("capture request %+v", ag.reqs[1])
	}
	var list page[AgentPaymentView]
	f.getJSON(t, "/api/calls/c1/payments", &list)
	if len(list.Items) != 1 || list.Items[0].Sid != "PK1" {
		t.Fatalf("list %+v", list)
	}
	var desk page[bridgedCall]
	f.getJSON(t, "/api/agent/calls", &desk)
	if len(desk.Items) != 1 || desk.Items[0].Agent != "alice" || len(desk.Items[0].Payments) != 1 {
		t.Fatalf("agent desk %+v", desk)
	}
	if code, _, _ := f.do(t, "GET", "/api/calls/other/payments/PK1", testToken); code != 404 {
		t.Fatalf("a payment read through another call: %d", code)
	}
	// Bad requests are refused before they reach the call.
	n := len(ag.reqs)
	for _, tc := range []struct {
		path, ct string
		form     url.Values
		want     int
		msg      string
	}{
		{"/api/calls/c1/payments", "application/json", url.Values{"IdempotencyKey": {"k"}}, 415, "x-www-form-urlencoded"},
		{"/api/calls/c1/payments", formType, url.Values{"ChargeAmount": {"1"}}, 400, "IdempotencyKey is required"},
		{"/api/calls/c1/payments", formType, url.Values{"IdempotencyKey": {"k"}, "Timeout": {"soon"}}, 400, "Timeout"},
		{"/api/calls/c1/payments", formType, url.Values{"IdempotencyKey": {"k"}, "SecurityCode": {"maybe"}}, 400, "true or false"},
		{"/api/calls/c1/payments", formType, url.Values{"IdempotencyKey": {"k"}, "StatusCallback": {"ftp://x/"}}, 400, "StatusCallback"},
		{"/api/calls/c1/payments", formType, url.Values{"IdempotencyKey": {"k"}, "StatusCallback": {"https://u:p@x/"}}, 400, "without credentials"},
		{"/api/calls/c1/payments/PK1", formType, url.Values{"IdempotencyKey": {"k"}, "Capture": {"pin"}}, 400, "one of payment-card-number"},
		{"/api/calls/c1/payments/PK1", formType, url.Values{"IdempotencyKey": {"k"}, "Capture": {"security-code"}, "Status": {"complete"}}, 400, "not both"},
		{"/api/calls/c1/payments/PK1", formType, url.Values{"IdempotencyKey": {"k"}, "Status": {"paid"}}, 400, "Status=complete|cancel"},
		// A card number typed into a parameter is never echoed back.
		{"/api/calls/c1/payments/PK1", formType, url.Values{"IdempotencyKey": {"k"}, "Capture": {"4242424242424242"}}, 400, "Capture"},
	} {
		code, body := postForm(t, f, tc.path, tc.ct, tc.form)
		if code != tc.want || !strings.Contains(string(body), tc.msg) {
			t.Errorf("%s %v: %d %s, want %d with %q", tc.path, tc.form, code, body, tc.want, tc.msg)
		}
		if strings.Contains(string(body), "4242424242424242") {
			t.Errorf("the answer echoes a card number: %s", body)
		}
	}
	if len(ag.reqs) != n {
		t.Fatalf("%d bad requests reached the call", len(ag.reqs)-n)
	}
	if code, _ := postForm(t, f, "/api/calls/c1/payments", formType, url.Values{"IdempotencyKey": {"k"}}); code != 201 {
		t.Fatal("the API stopped answering")
	}
	// No token, no payment.
	req, _ := http.NewRequest("POST", f.srv.URL+"/api/calls/c1/payments", strings.NewReader("IdempotencyKey=z"))
	req.Header.Set("Content-Type", formType)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without a token: %d", res.StatusCode)
	}
}

// TestPaymentsAPIErrors: each error of the call's side has its status.
func TestPaymentsAPIErrors(t *testing.T) {
	ag := &fakeAgents{}
	f := newFixture(t, func(c *Config) { c.Agents = ag })
	for _, tc := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("%w: x", ErrAgentNotBridged), http.StatusConflict},
		{fmt.Errorf("%w: x", ErrAgentState), http.StatusConflict},
		{fmt.Errorf("%w: x", ErrAgentNoPayment), http.StatusNotFound},
		{fmt.Errorf("%w: x", ErrAgentRequest), http.StatusBadRequest},
		{fmt.Errorf("%w: x", ErrAgentIdempotency), http.StatusUnprocessableEntity},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), http.StatusGatewayTimeout},
		{fmt.Errorf("database on fire"), http.StatusInternalServerError},
	} {
		ag.mu.Lock()
		ag.err = tc.err
		ag.mu.Unlock()
		code, body := postForm(t, f, "/api/calls/c1/payments/PK1", formType, url.Values{"IdempotencyKey": {"k"}, "Status": {"cancel"}})
		if code != tc.want {
			t.Errorf("%v: %d %s, want %d", tc.err, code, body, tc.want)
		}
		if code == 500 && strings.Contains(string(body), "fire") {
			t.Errorf("a server error's details reached the client: %s", body)
		}
	}
	// Without Agents the API says so.
	g := newFixture(t)
	if code, _ := postForm(t, g, "/api/calls/c1/payments", formType, url.Values{"IdempotencyKey": {"k"}}); code != http.StatusServiceUnavailable {
		t.Fatalf("no Agents: %d", code)
	}
}

func TestAgentPaymentViewForm(t *testing.T) {
	p := AgentPayment{AgentPayment: event.AgentPayment{PaymentID: "PK2", Status: "complete", Connector: "p", AmountMinor: 999,
		Currency: "GBP", MaskedCard: "************4242", CardType: "visa", SecurityCode: "xxx", Expiration: "1230",
		Required: []string{}, Result: "success", Confirmation: "C1"}, CallID: "c9"}
	f := p.View().Form()
	want := map[string]string{"Sid": "PK2", "CallSid": "c9", "ChargeAmount": "9.99", "PaymentCardNumber": "************4242",
		"SecurityCode": "xxx", "ExpirationDate": "1230", "PartialResult": "false", "Required": "", "Result": "success",
		"PaymentConfirmationCode": "C1"}
	for k, v := range want {
		if f.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, f.Get(k), v)
		}
	}
	if minorToDecimal(500, "JPY") != "500" || minorToDecimal(0, "GBP") != "0" || minorToDecimal(5, "EUR") != "0.05" {
		t.Fatal("minorToDecimal")
	}
}

// TestAgentTokens: an agent's token reaches the Payments API for the calls bridged to that
// agent only; other calls look absent, and nothing else of the admin API opens to it.
func TestAgentTokens(t *testing.T) {
	const aliceTok, bobTok = "alice-token-0123456789", "bob-token-0123456789ab"
	ag := &fakeAgents{p: AgentPayment{AgentPayment: event.AgentPayment{PaymentID: "PK1", Status: "open"}, CallID: "c1"}}
	f := newFixture(t, func(c *Config) {
		c.Agents = ag
		c.AgentTokens = map[string]string{"alice": aliceTok, "bob": bobTok}
	})
	send := func(method, path, tok string) int {
		req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader("IdempotencyKey=k&Status=cancel"))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", formType)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if method == "GET" && path == "/api/agent/calls" && res.StatusCode == 200 {
			var p page[bridgedCall]
			json.Unmarshal(body, &p)
			return 200 + len(p.Items) // 201: one call listed, 200: none
		}
		return res.StatusCode
	}
	// c1 is bridged to alice (fakeAgents.Bridged).
	for _, tc := range []struct {
		method, path, tok string
		want              int
	}{
		{"POST", "/api/calls/c1/payments/PK1", aliceTok, 200},
		{"GET", "/api/calls/c1/payments/PK1", aliceTok, 200},
		{"GET", "/api/agent/calls", aliceTok, 201},
		{"POST", "/api/calls/c1/payments/PK1", bobTok, 404},
		{"GET", "/api/calls/c1/payments", bobTok, 404},
		{"GET", "/api/agent/calls", bobTok, 200},
		{"POST", "/api/calls/c2/payments/PK1", aliceTok, 404},
		{"GET", "/api/calls", aliceTok, 401},
		{"GET", "/api/calls/c1", aliceTok, 401},
		{"GET", "/api/payments", aliceTok, 401},
		{"GET", "/api/agent/calls", "not-a-token-0123456789", 401},
		{"POST", "/api/calls/c1/payments/PK1", testToken, 200},
		{"GET", "/api/agent/calls", testToken, 201},
	} {
		if got := send(tc.method, tc.path, tc.tok); got != tc.want {
			t.Errorf("%s %s with %s: %d, want %d", tc.method, tc.path, tc.tok[:5], got, tc.want)
		}
	}
	for _, bad := range []string{"alice", "alice=short", "=x0123456789abcdefg", "al ice=0123456789abcdefg",
		"a=0123456789abcdefg,a=0123456789abcdefh", "a=0123456789abcdefg,b=0123456789abcdefg", "bad/agent=0123456789abcdefg"} {
		if _, err := ParseAgentTokens(bad); err == nil {
			t.Errorf("ParseAgentTokens(%q) accepted", bad)
		}
	}
	if m, err := ParseAgentTokens("alice=0123456789abcdefg, +441632960001=0123456789abcdefh"); err != nil || len(m) != 2 {
		t.Fatalf("ParseAgentTokens: %v %v", m, err)
	}
}

// The lifecycle options of the Payments API: Method (authorize), PaymentMethod and
// BankAccountType (Twilio's names), a route in PaymentConnector; Capture takes the bank
// fields; the answer and the StatusCallback form carry the masks, the hold's expiry and the
// route.
func TestPaymentsAPILifecycleOptions(t *testing.T) {
	until := time.Date(2030, 1, 8, 12, 0, 0, 0, time.UTC)
	ag := &fakeAgents{p: AgentPayment{AgentPayment: event.AgentPayment{PaymentID: "PK3", Status: "complete", Connector: "backup",
		AmountMinor: 4200, Currency: "USD", Required: []string{}, Result: "success", Confirmation: "C3", Method: "authorize",
		PaymentMethod: "ach-debit", BankAccountType: "consumer-savings", BankAccountNumber: "********6789", BankRoutingNumber: "*****0000",
		AuthorizedUntil: until, Route: []string{"primary:soft-decline", "backup:approved"}}, CallID: "c1"}}
	f := newFixture(t, func(c *Config) { c.Agents = ag })
	code, body := postForm(t, f, "/api/calls/c1/payments", formType, url.Values{"IdempotencyKey": {"k"}, "ChargeAmount": {"42.00"},
		"Currency": {"USD"}, "PaymentConnector": {" primary   backup "}, "Method": {"authorize"}, "PaymentMethod": {"ach-debit"},
		"BankAccountType": {"consumer-savings"}})
	if code != http.StatusCreated {
		t.Fatalf("start: %d %s", code, body)
	}
	if st := ag.reqs[0].Start; st.PaymentConnector != "primary backup" || st.Method != "authorize" || st.PaymentMethod != "ach-debit" ||
		st.BankAccountType != "consumer-savings" {
		t.Fatalf("start request %+v", st)
	}
	for _, field := range []string{"bank-routing-number", "bank-account-number"} {
		if code, body := postForm(t, f, "/api/calls/c1/payments/PK3", formType, url.Values{"IdempotencyKey": {field}, "Capture": {field}}); code != 200 {
			t.Fatalf("Capture=%s: %d %s", field, code, body)
		}
		if r := ag.reqs[len(ag.reqs)-1]; r.Op != AgentOpCapture || r.Field != field {
			t.Fatalf("Capture=%s went on as %+v", field, r)
		}
	}
	var v AgentPaymentView
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	form := v.Form()
	for k, want := range map[string]string{"Method": "authorize", "PaymentMethod": "ach-debit", "BankAccountType": "consumer-savings",
		"BankAccountNumber": "********6789", "BankRoutingNumber": "*****0000", "AuthorizedUntil": "2030-01-08T12:00:00Z",
		"Route": "primary:soft-decline backup:approved", "PaymentConnector": "backup"} {
		if form.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, form.Get(k), want)
		}
	}
}
