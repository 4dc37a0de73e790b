package sandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"time"
)

func TestTokenEndpoint(t *testing.T) {
	e := newEnv(t, Config{Clients: map[string]string{"vcc": "s3cret"}})
	form := "application/x-www-form-urlencoded"
	cases := []struct {
		name, body string
		status     int
		errCode    string
	}{
		{"ok", "grant_type=client_credentials&scope=globalpci&client_id=vcc&client_secret=s3cret", 200, ""},
		{"wrong secret", "grant_type=client_credentials&client_id=vcc&client_secret=nope", 401, "invalid_client"},
		{"unknown client", "grant_type=client_credentials&client_id=x&client_secret=s3cret", 401, "invalid_client"},
		{"no credentials", "grant_type=client_credentials", 401, "invalid_client"},
		{"wrong grant", "grant_type=password&client_id=vcc&client_secret=s3cret", 400, "unsupported_grant_type"},
	}
	for _, tc := range cases {
		st, m := doJSON(t, "POST", e.srv.URL+"/auth/connect/token", tc.body, map[string]string{"Content-Type": form})
		if st != tc.status {
			t.Errorf("%s: status %d, want %d (%v)", tc.name, st, tc.status, m)
		}
		if tc.errCode != "" && m["error"] != tc.errCode {
			t.Errorf("%s: error %v, want %s", tc.name, m["error"], tc.errCode)
		}
		if tc.status == 200 && (m["access_token"] == "" || m["token_type"] != "Bearer" || m["expires_in"].(float64) <= 0) {
			t.Errorf("%s: token response %v", tc.name, m)
		}
	}
	// APIs refuse requests without a valid token.
	st, _ := doJSON(t, "GET", e.srv.URL+"/globalpci/v1/session/x", "", map[string]string{"Authorization": "Bearer forged"})
	if st != 401 {
		t.Fatalf("forged token: %d", st)
	}
}

// The VCC example's ApiInteraction shapes, verbatim: token in the body, session JSON with
// "cardholder Address" (a space in the key), then the status query.
func TestSeedShapes(t *testing.T) {
	e := newEnv(t, Config{})
	st, tok := doJSON(t, "POST", e.srv.URL+"/auth/connect/token",
		"grant_type=client_credentials&scope=globalpci&client_id=any&client_secret=any",
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if st != 200 {
		t.Fatal(st, tok)
	}
	auth := map[string]string{"Authorization": "Bearer " + tok["access_token"].(string), "Content-Type": "application/json"}
	st, s := doJSON(t, "POST", e.srv.URL+"/globalpci/v1/selfservicesession/", `{"AccountConfigurationId":"acc-1", "CallGuid": "guid-1", "PaymentData": { "cardholderName":"A","cardholderPostCode":"SW1A 1AA", "cardholder Address": "1 Road","merchantTxnRef":"12345678", "amount":"12.34" } }`, auth)
	if st != 200 || s["sessionId"] == nil || s["dtmfFallbackNumber"] == nil || s["dtmfLinkId"] == nil || s["Message"] == nil {
		t.Fatalf("self-service session: %d %v", st, s)
	}
	st, d := doJSON(t, "POST", e.srv.URL+"/globalpci/v1/digitalselfservicesession/", `{"AccountConfigurationId":"acc-1", "PaymentData": {"amount":"1.00"}}`, auth)
	if st != 400 || !strings.Contains(d["Message"].(string), "CustomerPhoneNumber") {
		t.Fatalf("digital without phone: %d %v", st, d)
	}
	st, q := doJSON(t, "GET", e.srv.URL+"/globalpci/v1/session/"+s["sessionId"].(string), "", auth)
	if st != 200 || q["sessionState"] != stateCreated || q["amount"] != "12.34" || q["currency"] != "GBP" {
		t.Fatalf("status: %d %v", st, q)
	}
	for _, bad := range []string{`{`, `{"PaymentData":{}}`, `{"AccountConfigurationId":"a","PaymentData":{"amount":"12.345"}}`, `[]`} {
		if st, _ := doJSON(t, "POST", e.srv.URL+"/globalpci/v1/selfservicesession", bad, auth); st != 400 {
			t.Errorf("bad body %q: %d", bad, st)
		}
	}
}

func TestBillingAndLedger(t *testing.T) {
	e := newEnv(t, Config{})
	st, m := doJSON(t, "GET", e.srv.URL+"/billing/accounts/12345678/balance", "", nil)
	if st != 200 {
		t.Fatal(st)
	}
	bal := m["balance"].(map[string]any)
	cust := m["customer"].(map[string]any)
	if bal["amount"] != "12.34" || bal["currency"] != "GBP" || cust["mobile"] != "+447700900123" {
		t.Fatalf("balance %v", m)
	}
	if st, _ := doJSON(t, "GET", e.srv.URL+"/billing/accounts/00000000/balance", "", nil); st != 404 {
		t.Fatalf("unknown account: %d", st)
	}
	// Two Stripe charges through the API by hand, one replayed with the same key.
	key := map[string]string{"Authorization": "Bearer sk_test_x", "Content-Type": "application/x-www-form-urlencoded"}
	_, tok := doJSON(t, "POST", e.srv.URL+"/v1/tokens", "card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2099&card[cvc]=123", key)
	form := url.Values{"amount": {"400"}, "currency": {"usd"}, "source": {tok["id"].(string)}, "metadata[idempotency_key]": {"k-1"}}.Encode()
	key["Idempotency-Key"] = "k-1"
	st1, c1 := doJSON(t, "POST", e.srv.URL+"/v1/charges", form, key)
	st2, c2 := doJSON(t, "POST", e.srv.URL+"/v1/charges", form, key)
	if st1 != 200 || st2 != 200 || c1["id"] != c2["id"] {
		t.Fatalf("idempotent replay: %d %v / %d %v", st1, c1, st2, c2)
	}
	// Same key, different request: refused.
	other := url.Values{"amount": {"500"}, "currency": {"usd"}, "source": {tok["id"].(string)}}.Encode()
	if st, _ := doJSON(t, "POST", e.srv.URL+"/v1/charges", other, key); st != 422 {
		t.Fatalf("key reuse with other params: %d", st)
	}
	st, l := doJSON(t, "GET", e.srv.URL+"/ledger", "", nil)
	if st != 200 || l["succeeded"].(float64) != 1 || len(l["charges"].([]any)) != 1 {
		t.Fatalf("ledger %v", l)
	}
	ch := l["charges"].([]any)[0].(map[string]any)
	if ch["idempotency_key"] != "k-1" || ch["last4"] != "4242" || ch["amount"].(float64) != 400 {
		t.Fatalf("ledger entry %v", ch)
	}
	delete(key, "Idempotency-Key")
	st, sr := doJSON(t, "GET", e.srv.URL+"/v1/charges/search?query="+url.QueryEscape("metadata['idempotency_key']:'k-1'"), "", key)
	if st != 200 || len(sr["data"].([]any)) != 1 {
		t.Fatalf("search %d %v", st, sr)
	}
	b, _ := json.Marshal(l)
	assertNoPAN(t, "ledger", string(b))
}

func TestAdminFaults(t *testing.T) {
	e := newEnv(t, Config{})
	st, m := doJSON(t, "PUT", e.srv.URL+"/admin/faults", `{"fail_first":2,"fail_status":502,"latency":"5ms","paths":["/billing/"]}`, nil)
	if st != 200 || m["fail_first"].(float64) != 2 || m["latency"] != "5ms" {
		t.Fatalf("put faults: %d %v", st, m)
	}
	for i, want := range []int{502, 502, 200} {
		if st, _ := doJSON(t, "GET", e.srv.URL+"/billing/accounts/12345678/balance", "", nil); st != want {
			t.Fatalf("request %d: %d, want %d", i, st, want)
		}
	}
	if st, _ := doJSON(t, "GET", e.srv.URL+"/admin/faults", "", nil); st != 200 {
		t.Fatal(st)
	}
	for _, bad := range []string{`{"fail_rate":2}`, `{"latency":"soon"}`, `{"nope":1}`, `{"fail_status":200}`, `{"fail_first":-1}`} {
		if st, _ := doJSON(t, "PUT", e.srv.URL+"/admin/faults", bad, nil); st != 400 {
			t.Errorf("bad faults %s accepted: %d", bad, st)
		}
	}
	st, stats := doJSON(t, "GET", e.srv.URL+"/admin/stats", "", nil)
	if st != 200 || stats["faults_served"].(float64) != 2 {
		t.Fatalf("stats %v", stats)
	}
}

func TestFaultsJSONRoundTrip(t *testing.T) {
	f := Faults{Latency: 250 * time.Millisecond, FailFirst: 1, FailRate: 0.5, FailStatus: 500, LoseFirst: 2,
		HangFirst: 3, HangFor: time.Second, TokenMaxUses: 4, TokenTTL: time.Minute, Paths: []string{"/v1/"}}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var g Faults
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(g)
	if !bytes.Equal(b, b2) {
		t.Fatalf("%s != %s", b, b2)
	}
}

// The Quiq pattern: a result posted from outside needs the merchant's payment key; a bearer
// token alone (which any admin can mint) cannot mark a session paid.
func TestSignedResultCallback(t *testing.T) {
	e := newEnv(t, Config{PaymentKeys: map[string]string{"acct-1": "pk_merchant"}})
	_, tok := doJSON(t, "POST", e.srv.URL+"/auth/connect/token", "grant_type=client_credentials&client_id=a&client_secret=b",
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	auth := map[string]string{"Authorization": "Bearer " + tok["access_token"].(string)}
	_, s := doJSON(t, "POST", e.srv.URL+"/globalpci/v1/selfservicesession", `{"AccountConfigurationId":"acct-1","PaymentData":{"amount":"5.00"}}`, auth)
	u := e.srv.URL + "/globalpci/v1/session/" + s["sessionId"].(string) + "/result"
	body := `{"status":"paid","transactionId":"ext-1"}`
	if st, _ := doJSON(t, "POST", u, body, auth); st != 401 {
		t.Fatalf("unsigned result: %d", st)
	}
	auth[signatureHeader] = sign(body, "forged-key", time.Now())
	if st, _ := doJSON(t, "POST", u, body, auth); st != 401 {
		t.Fatalf("result signed with the wrong key: %d", st)
	}
	auth[signatureHeader] = sign(body, "pk_merchant", time.Now().Add(-6*time.Minute))
	if st, _ := doJSON(t, "POST", u, body, auth); st != 401 {
		t.Fatalf("result signed 6 minutes ago: %d", st)
	}
	auth[signatureHeader] = sign(body, "pk_merchant", time.Now())
	st, r := doJSON(t, "POST", u, body, auth)
	if st != 200 || r["sessionState"] != stateCompleted || r["transactionId"] != "ext-1" {
		t.Fatalf("signed result: %d %v", st, r)
	}
}

func TestAdminToken(t *testing.T) {
	e := newEnv(t, Config{AdminToken: "adm", InspectKey: "plan-key"})
	if st, _ := doJSON(t, "PUT", e.srv.URL+"/admin/faults", `{"fail_first":1}`, nil); st != 401 {
		t.Fatalf("admin without token: %d", st)
	}
	if st, _ := doJSON(t, "PUT", e.srv.URL+"/admin/faults", `{"fail_first":1}`, map[string]string{"Authorization": "Bearer adm"}); st != 200 {
		t.Fatalf("admin with token: %d", st)
	}
	if st, _ := doJSON(t, "PUT", e.srv.URL+"/admin/faults", `{"fail_first":0}`, map[string]string{InspectKeyHeader: "plan-key"}); st != 401 {
		t.Fatalf("fault injection with the inspection key: %d", st)
	}
	if st, _ := doJSON(t, "PUT", e.srv.URL+"/admin/faults", `{}`, map[string]string{"Authorization": "Bearer adm"}); st != 200 {
		t.Fatalf("clearing the faults: %d", st)
	}
	// The routes that show other people's data: the ledger, the billing demo, the SMS list.
	for _, path := range []string{"/ledger", "/billing/accounts/12345678/balance", "/sms/Messages"} {
		basic := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("a:b"))}
		for name, h := range map[string]map[string]string{"nothing": nil, "a wrong key": {InspectKeyHeader: "nope"},
			"any Basic": basic, "another bearer": {"Authorization": "Bearer sk_test_x"}} {
			if st, _ := doJSON(t, "GET", e.srv.URL+path, "", h); st != 401 {
				t.Errorf("%s with %s: %d", path, name, st)
			}
		}
		if path == "/sms/Messages" {
			continue // also needs the SMS API's own Basic credentials
		}
		for name, h := range map[string]map[string]string{"admin token": {"Authorization": "Bearer adm"}, "inspection key": {InspectKeyHeader: "plan-key"}} {
			if st, _ := doJSON(t, "GET", e.srv.URL+path, "", h); st != 200 {
				t.Errorf("%s with the %s: %d", path, name, st)
			}
		}
	}
}

// The sandbox forgets day-old idempotency keys, expired tokens and long-expired sessions.
func TestSweep(t *testing.T) {
	clk := &clock{t: time.Now()}
	e := newEnv(t, Config{Now: clk.Now})
	e.p.sweepEvery = 1
	if st := e.stripePay(t, "old", "4242424242424242", 1); st != 200 {
		t.Fatal(st)
	}
	e.p.mu.Lock()
	before := len(e.p.idem) + len(e.p.cardToks)
	e.p.mu.Unlock()
	clk.Add(25 * time.Hour)
	if st := e.stripePay(t, "new", "4242424242424242", 1); st != 200 {
		t.Fatal(st)
	}
	e.p.mu.Lock()
	defer e.p.mu.Unlock()
	if _, ok := e.p.idem["stripe-charge:old"]; ok || before < 3 {
		t.Fatalf("day-old key kept (before=%d)", before)
	}
	if _, ok := e.p.idem["stripe-charge:new"]; !ok {
		t.Fatal("fresh key dropped")
	}
	if len(e.p.charges) != 2 {
		t.Fatalf("ledger lost charges: %d", len(e.p.charges))
	}
}
