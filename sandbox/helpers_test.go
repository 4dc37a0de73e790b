package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/testlog"
)

// The sandbox's own tests speak to it over HTTP only, as a client of its APIs would; the
// gateway's tests (and its contract test) drive it through the real connectors.

// env is a running sandbox provider with every log line kept.
type env struct {
	p    *Provider
	srv  *httptest.Server
	logs *testlog.Buffer
}

func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	logs := &testlog.Buffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p := New(cfg)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return &env{p: p, srv: srv, logs: logs}
}

// testPANs are the card numbers no output of the sandbox may contain.
var testPANs = []string{"4242424242424242", "5555555555554444", "378282246310005", "2223003122003222",
	"4000000000000002", "4000000000009995"}

// assertNoPAN fails if any test card number appears in out.
func assertNoPAN(t testing.TB, what, out string) {
	t.Helper()
	for _, p := range testPANs {
		if strings.Contains(out, p) {
			t.Fatalf("%s contains the card number %s…", what, p[:6])
		}
	}
}

func doJSON(t testing.TB, method, u string, body string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

// token fetches an access token from the token endpoint (any credentials: the zero Config).
func (e *env) token(t testing.TB) string {
	t.Helper()
	st, m := doJSON(t, "POST", e.srv.URL+"/auth/connect/token", "grant_type=client_credentials&client_id=a&client_secret=b",
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	tok, _ := m["access_token"].(string)
	if st != http.StatusOK || tok == "" {
		t.Fatalf("token: %d %v", st, m)
	}
	return tok
}

// session starts a voice session for amount (a decimal string) of account acct-1.
func (e *env) session(t testing.TB, tok, amount string) string {
	t.Helper()
	st, m := doJSON(t, "POST", e.srv.URL+"/globalpci/v1/selfservicesession",
		`{"AccountConfigurationId":"acct-1","CallGuid":"call-1","PaymentData":{"amount":"`+amount+`","merchantTxnRef":"12345678"}}`,
		map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
	id, _ := m["sessionId"].(string)
	if st != http.StatusOK || id == "" {
		t.Fatalf("session: %d %v", st, m)
	}
	return id
}

// stripePay tokenizes pan and charges minor units of GBP with it under key, as a Stripe
// client does; it returns the charge's HTTP status.
func (e *env) stripePay(t testing.TB, key, pan string, minor int) int {
	t.Helper()
	hdr := map[string]string{"Authorization": "Bearer sk_test_x", "Content-Type": "application/x-www-form-urlencoded",
		"Idempotency-Key": key + "-token"}
	st, tok := doJSON(t, "POST", e.srv.URL+"/v1/tokens", "card[number]="+pan+"&card[exp_month]=12&card[exp_year]=2099&card[cvc]=123", hdr)
	id, _ := tok["id"].(string)
	if st != http.StatusOK || id == "" {
		t.Fatalf("token: %d %v", st, tok)
	}
	hdr["Idempotency-Key"] = key
	form := url.Values{"amount": {strconv.Itoa(minor)}, "currency": {"gbp"}, "source": {id}, "metadata[idempotency_key]": {key}}
	st, _ = doJSON(t, "POST", e.srv.URL+"/v1/charges", form.Encode(), hdr)
	return st
}

// sign makes a Paybridge-Signature for body with key at t, as a merchant would.
func sign(body, key string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(ts + "." + body))
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
