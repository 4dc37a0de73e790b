package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/gateway"
)

// sandboxCall sends one request to a sandbox API with a bearer token and returns the status
// and the JSON answer.
func sandboxCall(t *testing.T, method, u, token, body string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// TestServePaymentKey: results posted to serve's sandbox from outside (a merchant's own page
// paid the session) are accepted only when signed with the account's payment key, which the
// operator gives serve in PAYBRIDGE_PAYMENT_KEYS (or --payment-keys). Without it wired, serve's
// result endpoint answered 403 to everyone.
func TestServePaymentKey(t *testing.T) {
	bin := paybridgeBinary(t)
	const key = "pk_merchant_e2e_0123456789"
	t.Setenv("PAYBRIDGE_PAYMENT_KEYS", "merchant-1:"+key) // the child inherits it
	// The banner's signing line comes after the console line: waiting for it proves it is there.
	node, _ := crashStart(t, bin, regexp.MustCompile(`payment keys for 1 account`), "serve", "--sip-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0", "--data", t.TempDir(), "--admin-token", "paykey-admin-token-0123456789abcdef")
	m := regexp.MustCompile(`console\s+(http://\S+)/`).FindStringSubmatch(node.out.String())
	if m == nil {
		t.Fatalf("no console address in the banner:\n%s", node.out)
	}
	base := m[1] + "/sandbox"

	resp, err := http.PostForm(base+"/auth/connect/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"merchant-app"}, "client_secret": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	session := func(account string) string {
		st, s := sandboxCall(t, "POST", base+"/globalpci/v1/selfservicesession", tok.AccessToken,
			`{"AccountConfigurationId":"`+account+`","PaymentData":{"amount":"5.00","currency":"GBP"}}`, nil)
		if st != 200 {
			t.Fatalf("start session: %d %v", st, s)
		}
		return s["sessionId"].(string)
	}
	body := []byte(`{"status":"paid","transactionId":"ext-e2e-1"}`)
	post := func(id string, sig string) (int, map[string]any) {
		hdr := map[string]string{}
		if sig != "" {
			hdr[gateway.SignatureHeader] = sig
		}
		return sandboxCall(t, "POST", base+"/globalpci/v1/session/"+id+"/result", tok.AccessToken, string(body), hdr)
	}

	id := session("merchant-1")
	if st, _ := post(id, ""); st != http.StatusUnauthorized {
		t.Errorf("unsigned result: %d, want 401", st)
	}
	if st, _ := post(id, gateway.Sign(body, "not-the-key", time.Now())); st != http.StatusUnauthorized {
		t.Errorf("result signed with another key: %d, want 401", st)
	}
	st, r := post(id, gateway.Sign(body, key, time.Now()))
	if st != http.StatusOK || r["sessionState"] != gateway.SessionCompleted || r["transactionId"] != "ext-e2e-1" {
		t.Fatalf("signed result: %d %v\n%s", st, r, node.out)
	}
	// An account without a key cannot be marked paid from outside at all.
	other := session("merchant-2")
	if st, _ := post(other, gateway.Sign(body, key, time.Now())); st != http.StatusForbidden {
		t.Errorf("account without a payment key: %d, want 403", st)
	}
	if bytes.Contains([]byte(node.out.String()), []byte(key)) {
		t.Error("the payment key appears in serve's output")
	}
}
