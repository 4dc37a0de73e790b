package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/internal/testlog"
	"github.com/paybridge/paybridge/store"
)

const testToken = "pb_test-token-0123456789abcdef"

var testPANs = []string{"4242424242424242", "5555555555554444", "378282246310005"}

// fakePlans is a PlanSource for unit tests.
type fakePlans struct {
	mu      sync.Mutex
	plans   []PlanInfo
	sources map[string]string
	reloads int
	err     error
}

func (f *fakePlans) Plans() []PlanInfo { f.mu.Lock(); defer f.mu.Unlock(); return f.plans }
func (f *fakePlans) Reload() error     { f.mu.Lock(); defer f.mu.Unlock(); f.reloads++; return f.err }
func (f *fakePlans) PlanText(name, hash string) (PlanText, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.plans {
		if p.Name == name {
			return PlanText{Name: p.Name, File: p.File, Hash: p.Hash, Current: true, Source: f.sources[p.Name]}, true
		}
	}
	return PlanText{}, false
}

type fixture struct {
	srv     *httptest.Server
	st      *store.Store
	hub     *Hub
	metrics *Metrics
	plans   *fakePlans
	logs    *testlog.Buffer
	ready   error
	mu      sync.Mutex
	bodies  bytes.Buffer // every response body, for the PAN scan
}

func newFixture(t testing.TB, mod ...func(*Config)) *fixture {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "paybridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := prometheus.NewRegistry()
	f := &fixture{st: st, hub: NewHub(), metrics: NewMetrics(reg), logs: &testlog.Buffer{},
		plans: &fakePlans{plans: []PlanInfo{{Name: "pay", File: "plans/pay.xml", Numbers: []string{"+441632960000"}, Valid: true},
			{Name: "broken", File: "plans/broken.xml", Valid: false, Messages: []PlanMessage{{Severity: "error", Line: 3, Col: 5,
				Text: "plans/broken.xml:3:5: unknown element <Pya> (did you mean <Pay>?)"}}}}}}
	f.metrics.RegisterHub(reg, f.hub)
	cfg := Config{Store: st, Hub: f.hub, Metrics: f.metrics, Gatherer: reg, AdminToken: testToken, Plans: f.plans,
		Logger: slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Ready:  func() error { f.mu.Lock(); defer f.mu.Unlock(); return f.ready }, Version: "test",
		WebSocket: &WebSocketConfig{PingInterval: 100 * time.Millisecond}, AuthFailures: 1000}
	for _, m := range mod {
		m(&cfg)
	}
	f.srv = httptest.NewServer(NewServer(cfg))
	t.Cleanup(f.srv.Close)
	return f
}

// do sends a request with the given token ("" = none) and returns status, headers and body.
func (f *fixture) do(t *testing.T, method, path, token string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	f.mu.Lock()
	f.bodies.Write(b)
	f.mu.Unlock()
	return res.StatusCode, res.Header, b
}

func (f *fixture) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	code, _, b := f.do(t, "GET", path, testToken)
	if code != http.StatusOK {
		t.Fatalf("GET %s = %d %s", path, code, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, b)
	}
}

var protected = []struct{ method, path string }{
	{"GET", "/api/info"}, {"GET", "/api/calls"}, {"GET", "/api/calls/x"}, {"GET", "/api/live"},
	{"GET", "/api/payments"}, {"GET", "/api/payments/x"}, {"GET", "/api/nodes"}, {"GET", "/api/plans"}, {"POST", "/api/plans/reload"},
	{"GET", "/api/sms"}, {"GET", "/api/links"}, {"GET", "/api/audit"}, {"GET", "/api/stats"}, {"GET", "/api/events"}, {"GET", "/metrics"}, {"GET", "/api/nope"},
	{"GET", "/api/plans/pay/source"}, {"GET", "/api/export/payments.csv"},
}

func TestAuthRequired(t *testing.T) {
	f := newFixture(t)
	for _, p := range protected {
		for _, tok := range []string{"", "wrong-token-0123456789", testToken + "x", testToken[:len(testToken)-1]} {
			code, h, body := f.do(t, p.method, p.path, tok)
			if code != http.StatusUnauthorized {
				t.Errorf("%s %s with token %q = %d, want 401", p.method, p.path, tok, code)
			}
			if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(string(body), "admin token") {
				t.Errorf("%s %s: 401 without WWW-Authenticate or message: %v %s", p.method, p.path, h, body)
			}
		}
	}
	// Other schemes and the query token outside /api/events are refused too.
	for _, hdr := range []string{"Basic " + testToken, "Bearer", "bearer " + testToken + " extra"} {
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/calls", nil)
		req.Header.Set("Authorization", hdr)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q = %d", hdr, res.StatusCode)
		}
	}
	if code, _, _ := f.do(t, "GET", "/api/calls?token="+testToken, ""); code != http.StatusUnauthorized {
		t.Errorf("query token on /api/calls = %d, want 401", code)
	}
	// The scheme is case-insensitive; the right token opens every route.
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/calls", nil)
	req.Header.Set("Authorization", "bearer "+testToken)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Errorf("lower-case bearer: %v %v", res, err)
	}
	// Open routes.
	for _, p := range []string{"/", "/healthz", "/assets/app.js", "/assets/app.css"} {
		if code, _, _ := f.do(t, "GET", p, ""); code != http.StatusOK {
			t.Errorf("GET %s without token = %d, want 200", p, code)
		}
	}
	if !strings.Contains(f.logs.String(), "unauthorized request") || strings.Contains(f.logs.String(), testToken) {
		t.Errorf("auth failures must be logged without the token")
	}
}

func TestNoTokenConfiguredLocksEverything(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.AdminToken = "" })
	for _, tok := range []string{"", "anything-long-enough-1234"} {
		if code, _, _ := f.do(t, "GET", "/api/calls", tok); code != http.StatusUnauthorized {
			t.Errorf("token %q with no admin token configured = %d", tok, code)
		}
	}
}

func TestStaticPageSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	code, h, body := f.do(t, "GET", "/", "")
	if code != 200 || !strings.Contains(string(body), "<title>paybridge console</title>") {
		t.Fatalf("GET / = %d %.100s", code, body)
	}
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "connect-src 'self' ws://"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows unsafe sources: %s", csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("security headers missing: %v", h)
	}
	// The page loads nothing from elsewhere and has no inline script or style.
	for _, bad := range []string{"http://", "https://", "<script>", "style=", "onclick"} {
		if strings.Contains(string(body), bad) {
			t.Errorf("index.html contains %q", bad)
		}
	}
	if code, _, _ := f.do(t, "GET", "/assets/", ""); code != http.StatusNotFound {
		t.Errorf("asset directory listing = %d", code)
	}
	if code, _, _ := f.do(t, "GET", "/assets/missing.js", ""); code != http.StatusNotFound {
		t.Errorf("missing asset = %d", code)
	}
}

func seedCalls(t *testing.T, st *store.Store, n int) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("call-%02d", i)
		if err := st.CreateCall(ctx, store.Call{ID: id, From: "+447700900001", To: "+441632960000", Plan: []string{"pay", "other"}[i%2],
			StartedAt: t0.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := st.AppendEvent(ctx, id, store.EventRecord{Type: "step", Step: "Pay", Time: t0.Add(time.Duration(i)*time.Minute + time.Second)}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if err := st.EndCall(ctx, id, "caller-hangup", t0.Add(time.Duration(i)*time.Minute+30*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestListCallsPagingAndFilters(t *testing.T) {
	f := newFixture(t)
	seedCalls(t, f.st, 12)
	var all []string
	path := "/api/calls?limit=5"
	for pages := 0; ; pages++ {
		var p page[store.Call]
		f.getJSON(t, path, &p)
		for _, c := range p.Items {
			all = append(all, c.ID)
		}
		if p.NextCursor == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		path = "/api/calls?limit=5&cursor=" + p.NextCursor
	}
	if len(all) != 12 || all[0] != "call-11" || all[11] != "call-00" {
		t.Errorf("paged ids = %v", all)
	}
	for _, tt := range []struct {
		q    string
		want int
	}{
		{"state=ended", 4}, {"state=active", 8}, {"plan=pay", 6}, {"plan=pay&state=ended", 2},
		{"since=2026-11-22T09:05:00Z", 7}, {"until=2026-11-22T09:02:00Z", 2}, {"from=%2B447700900001", 12},
		{fmt.Sprintf("since=%d", time.Date(2026, 11, 22, 9, 10, 0, 0, time.UTC).Unix()), 2},
	} {
		var p page[store.Call]
		f.getJSON(t, "/api/calls?"+tt.q, &p)
		if len(p.Items) != tt.want {
			t.Errorf("?%s: %d calls, want %d", tt.q, len(p.Items), tt.want)
		}
	}
	for q, want := range map[string]string{
		"state=bogus":     "state",
		"limit=0":         "limit",
		"limit=501":       "limit",
		"limit=x":         "limit",
		"since=yesterday": "since",
		"cursor=%21%21":   "cursor",
		"colour=red":      "unknown parameter",
		"plan=a&plan=b":   "more than once",
		"plan=%00":        "control",
	} {
		code, _, body := f.do(t, "GET", "/api/calls?"+q, testToken)
		if code != http.StatusBadRequest || !strings.Contains(string(body), want) {
			t.Errorf("?%s = %d %s, want 400 mentioning %q", q, code, body, want)
		}
	}
}

func TestCallDetail(t *testing.T) {
	f := newFixture(t)
	seedCalls(t, f.st, 2)
	ctx := context.Background()
	if err := f.st.UpsertPaymentSession(ctx, store.PaymentSession{ID: "sess-1", CallID: "call-01", Connector: "sandbox",
		AmountMinor: 1250, Currency: "GBP", State: "completed", Result: "success", MaskedCard: "************4242", CardType: "visa"}); err != nil {
		t.Fatal(err)
	}
	f.hub.Publish(event.Event{CallID: "call-01", Data: &event.CallStarted{From: "+447700900001"}})
	var d callDetail
	f.getJSON(t, "/api/calls/call-01", &d)
	if d.Call.ID != "call-01" || len(d.Timeline) != 1 || d.Timeline[0].Step != "Pay" || len(d.Payments) != 1 ||
		d.Payments[0].MaskedCard != "************4242" || d.Live == nil {
		t.Errorf("call detail = %+v", d)
	}
	if code, _, body := f.do(t, "GET", "/api/calls/nope", testToken); code != 404 || !strings.Contains(string(body), "not found") {
		t.Errorf("unknown call = %d %s", code, body)
	}
}

func TestPaymentsLinksSMS(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	f := newFixture(t, func(c *Config) { c.Now = func() time.Time { return now } })
	ctx := context.Background()
	must(t, f.st.UpsertPaymentSession(ctx, store.PaymentSession{ID: "sess-1", CallID: "call-1", Connector: "sandbox",
		AmountMinor: 1250, Currency: "GBP", State: "completed", Result: "success", MaskedCard: "************4242", CardType: "visa", CreatedAt: now}))
	must(t, f.st.UpsertPaymentSession(ctx, store.PaymentSession{ID: "sess-2", Connector: "stripe", AmountMinor: 99, Currency: "EUR",
		State: "failed", Result: "too-many-failed-attempts", CreatedAt: now.Add(time.Second)}))
	must(t, f.st.CreateAttempt(ctx, store.Attempt{IdempotencyKey: "k1", SessionID: "sess-1", Attempt: 1}))
	must(t, f.st.CompleteAttempt(ctx, "k1", store.AttemptResult{Result: "approved", ProviderStatus: 201}))
	must(t, f.st.CreateLink(ctx, store.Link{ID: "lnk-1", TokenHash: "secret-hash", SessionID: "sess-1", AmountMinor: 1250, Currency: "GBP",
		CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}))
	_, err := f.st.EnqueueSMS(ctx, store.SMS{To: "+447700900001", Body: "Pay £12.50: https://pay.example/p/…", CreatedAt: now})
	must(t, err)

	var st store.Stats
	f.getJSON(t, "/api/stats?since=2026-11-22T00:00:00Z", &st)
	if st.Payments["success"] != 1 || st.Collected["GBP"] != 1250 || st.LinksSent != 1 {
		t.Errorf("stats = %+v", st)
	}
	if code, _, _ := f.do(t, "GET", "/api/stats?since=soon", testToken); code != 400 {
		t.Errorf("bad since = %d", code)
	}
	var ps page[store.PaymentSession]
	f.getJSON(t, "/api/payments", &ps)
	if len(ps.Items) != 2 || ps.Items[0].ID != "sess-2" {
		t.Errorf("payments = %+v", ps)
	}
	f.getJSON(t, "/api/payments?connector=sandbox&result=success", &ps)
	if len(ps.Items) != 1 || ps.Items[0].ID != "sess-1" {
		t.Errorf("filtered payments = %+v", ps)
	}
	var pd paymentDetail
	f.getJSON(t, "/api/payments/sess-1", &pd)
	if pd.Payment.Result != "success" || len(pd.Attempts) != 1 || pd.Attempts[0].ProviderStatus != 201 || len(pd.Links) != 1 || pd.Links[0].State != "expired" {
		t.Errorf("payment detail = %+v", pd)
	}
	code, _, body := f.do(t, "GET", "/api/links", testToken)
	if code != 200 || !strings.Contains(string(body), `"state":"expired"`) || strings.Contains(string(body), "secret-hash") {
		t.Errorf("links = %d %s (the token hash must never be served)", code, body)
	}
	var sms page[store.SMS]
	f.getJSON(t, "/api/sms?status=queued", &sms)
	if len(sms.Items) != 1 || sms.Items[0].To != "+447700900001" {
		t.Errorf("sms = %+v", sms)
	}
	if code, _, _ := f.do(t, "GET", "/api/sms?status=lost", testToken); code != 400 {
		t.Errorf("bad status = %d", code)
	}
	if code, _, _ := f.do(t, "GET", "/api/payments/none", testToken); code != 404 {
		t.Errorf("unknown payment = %d", code)
	}
}

func TestPlansAndReloadAudited(t *testing.T) {
	f := newFixture(t)
	var got struct{ Items []PlanInfo }
	f.getJSON(t, "/api/plans", &got)
	if len(got.Items) != 2 || got.Items[1].Valid || !strings.Contains(got.Items[1].Messages[0].Text, "did you mean") {
		t.Errorf("plans = %+v", got)
	}
	if code, _, _ := f.do(t, "GET", "/api/plans/reload", testToken); code != http.StatusMethodNotAllowed {
		t.Errorf("GET reload = %d, want 405", code)
	}
	if code, _, _ := f.do(t, "POST", "/api/plans/reload", testToken); code != 200 {
		t.Errorf("reload = %d", code)
	}
	f.plans.mu.Lock()
	f.plans.err = errors.New("plans/broken.xml:3:5: unknown element <Pya>")
	f.plans.mu.Unlock()
	code, _, body := f.do(t, "POST", "/api/plans/reload", testToken)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "Pya") {
		t.Errorf("failed reload = %d %s", code, body)
	}
	audit, err := f.st.ListAudit(context.Background(), 10)
	if err != nil || len(audit) != 2 || audit[0].Action != "plans.reload" || !strings.HasPrefix(audit[0].Detail, "failed") ||
		!strings.HasPrefix(audit[0].Actor, "admin-token@") {
		t.Errorf("audit = %+v %v", audit, err)
	}
	var al struct{ Items []store.AuditEntry }
	f.getJSON(t, "/api/audit?limit=1", &al)
	if len(al.Items) != 1 || al.Items[0].Action != "plans.reload" {
		t.Errorf("/api/audit = %+v", al)
	}
	if f.plans.reloads != 2 {
		t.Errorf("reloads = %d", f.plans.reloads)
	}
	g := newFixture(t, func(c *Config) { c.Plans = nil })
	if code, _, _ := g.do(t, "GET", "/api/plans", testToken); code != 503 {
		t.Errorf("no plan source = %d", code)
	}
}

// TestReadyzWithoutToken: a load balancer probes /readyz without the admin token and gets
// ready or not ready — nothing else: not which check failed, not the store's error. A wrong
// token is not counted as a failed sign-in (probes must never lock the admin out).
func TestReadyzWithoutToken(t *testing.T) {
	f := newFixture(t)
	for _, tok := range []string{"", "wrong-token-0123456789"} {
		code, _, b := f.do(t, "GET", "/readyz", tok)
		if code != 200 || strings.TrimSpace(string(b)) != `{"ready":true}` {
			t.Errorf("readyz (token %q) = %d %s", tok, code, b)
		}
	}
	f.mu.Lock()
	f.ready = errors.New("SIP listener not bound on 10.0.0.7:5060")
	f.mu.Unlock()
	code, _, b := f.do(t, "GET", "/readyz", "")
	if code != 503 || strings.TrimSpace(string(b)) != `{"ready":false}` {
		t.Errorf("not ready, no token = %d %s", code, b)
	}
	for i := 0; i < 3*DefaultAuthFailures; i++ {
		f.do(t, "GET", "/readyz", "wrong-token-0123456789")
	}
	if code, _, _ := f.do(t, "GET", "/api/info", "wrong-token-0123456789"); code == http.StatusTooManyRequests {
		t.Error("probing /readyz with a wrong token locked the address out")
	}
}

func TestHealthAndReadiness(t *testing.T) {
	f := newFixture(t)
	if code, _, b := f.do(t, "GET", "/healthz", ""); code != 200 || string(b) != "ok\n" {
		t.Errorf("healthz = %d %q", code, b)
	}
	if code, _, _ := f.do(t, "GET", "/readyz", testToken); code != 200 {
		t.Errorf("readyz = %d", code)
	}
	f.mu.Lock()
	f.ready = errors.New("SIP listener not bound")
	f.mu.Unlock()
	code, _, b := f.do(t, "GET", "/readyz", testToken)
	if code != 503 || !strings.Contains(string(b), "SIP listener") {
		t.Errorf("readyz not ready = %d %s", code, b)
	}
	f.st.Close()
	f.mu.Lock()
	f.ready = nil
	f.mu.Unlock()
	if code, _, b := f.do(t, "GET", "/readyz", testToken); code != 503 || !strings.Contains(string(b), `"store"`) {
		t.Errorf("readyz with the store closed = %d %s", code, b)
	}
	if code, _, _ := f.do(t, "GET", "/api/calls", testToken); code != 503 {
		t.Errorf("closed store = %d, want 503", code)
	}
}

func TestMetricsExposition(t *testing.T) {
	f := newFixture(t)
	m := f.metrics
	m.CallStarted()
	m.CallStarted()
	m.CallEnded("completed")
	m.Payment("success", "sandbox")
	m.Payment("declined", "sandbox")
	m.Payment("success", "4242424242424242") // a label that is a card number never reaches /metrics
	for i := 0; i < 16; i++ {
		m.Digit("rfc4733")
	}
	m.Digit("inband")
	m.RTP(500, 3)
	m.ProviderLatency("sandbox", 120*time.Millisecond)
	m.SIPResponse(200)
	m.SIPResponse(486)
	m.SIPResponse(9999)
	var nilM *Metrics
	nilM.CallStarted() // nil is a no-op
	nilM.Payment("x", "y")

	code, h, body := f.do(t, "GET", "/metrics", testToken)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics = %d %s", code, h.Get("Content-Type"))
	}
	text := string(body)
	for _, want := range []string{
		"paybridge_active_calls 1",
		`paybridge_calls_total{outcome="completed"} 1`,
		`paybridge_payments_total{connector="sandbox",result="success"} 1`,
		`paybridge_payments_total{connector="sandbox",result="declined"} 1`,
		`paybridge_payments_total{connector="invalid",result="success"} 1`,
		`paybridge_dtmf_digits_total{source="rfc4733"} 16`,
		`paybridge_dtmf_digits_total{source="inband"} 1`,
		"paybridge_rtp_packets_received_total 500",
		"paybridge_rtp_packets_lost_total 3",
		`paybridge_provider_request_seconds_bucket{connector="sandbox",le="0.25"} 1`,
		`paybridge_provider_request_seconds_count{connector="sandbox"} 1`,
		`paybridge_sip_responses_total{code="200"} 1`,
		`paybridge_sip_responses_total{code="486"} 1`,
		`paybridge_sip_responses_total{code="0"} 1`,
		"paybridge_console_clients 0",
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, pan := range testPANs {
		if strings.Contains(text, pan) {
			t.Errorf("/metrics holds a PAN")
		}
	}
}

// TestOutputsHoldNoPAN pushes the test card numbers at every input the console has — stored
// free text, event fields, query parameters, paths — and scans every response and log line.
func TestOutputsHoldNoPAN(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i, pan := range testPANs {
		id := fmt.Sprintf("c%d", i)
		must(t, f.st.CreateCall(ctx, store.Call{ID: id, From: "+44770", Plan: "pay"}))
		must(t, f.st.AppendEvent(ctx, id, store.EventRecord{Type: "pay.progress", Fields: json.RawMessage(`{"leak":"` + pan + `","digits":16}`)}))
		must(t, f.st.UpsertPaymentSession(ctx, store.PaymentSession{ID: "s" + id, CallID: id, Reference: pan, MaskedCard: "************" + pan[len(pan)-4:]}))
		f.hub.Publish(event.Event{CallID: id, Data: &event.Unknown{Name: "pay.progress", Fields: json.RawMessage(`{"leak":"` + pan + `","for":"payment-card-number","digits":16}`)}})
		for _, p := range []string{"/api/calls", "/api/calls/" + id, "/api/payments", "/api/payments/s" + id, "/api/live",
			"/api/calls?plan=" + pan, "/api/calls?" + pan + "=1", "/api/calls/" + pan, "/api/" + pan, "/metrics"} {
			f.do(t, "GET", p, testToken)
		}
		f.do(t, "GET", "/api/calls/"+pan, "") // unauthorized, logged
	}
	f.mu.Lock()
	out := f.bodies.String() + f.logs.String()
	f.mu.Unlock()
	if !strings.Contains(out, "************4242") {
		t.Fatal("scan saw no masked card: the outputs were not produced")
	}
	for _, pan := range testPANs {
		if strings.Contains(out, pan) {
			i := strings.Index(out, pan)
			t.Errorf("output holds test PAN %s…: %q", pan[:6], out[max(0, i-80):min(len(out), i+40)])
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// /api/stats carries the admission figure when serve gives one (the overview's Call limit),
// and leaves it out otherwise; the refusal and drop counters are on /metrics from the start.
func TestStatsCapacity(t *testing.T) {
	f := newFixture(t)
	var plain map[string]any
	f.getJSON(t, "/api/stats", &plain)
	if _, ok := plain["capacity"]; ok {
		t.Fatalf("capacity without a source: %v", plain)
	}
	f = newFixture(t, func(c *Config) {
		c.Capacity = func() Capacity {
			return Capacity{Calls: 12, Limit: 30, Ceiling: 5000, Refused: 4, Degraded: "send-late"}
		}
	})
	var st struct {
		Calls    int      `json:"calls"`
		Capacity Capacity `json:"capacity"`
	}
	f.getJSON(t, "/api/stats", &st)
	if st.Capacity != (Capacity{Calls: 12, Limit: 30, Ceiling: 5000, Refused: 4, Degraded: "send-late"}) {
		t.Fatalf("capacity = %+v", st.Capacity)
	}
	f.metrics.CallRefused("overload")
	f.metrics.SocketDrops("rtp", 3)
	_, _, body := f.do(t, "GET", "/metrics", testToken)
	for _, want := range []string{`paybridge_calls_refused_total{reason="overload"} 1`, `paybridge_calls_refused_total{reason="max-calls"} 0`,
		`paybridge_udp_socket_drops_total{socket="rtp"} 3`, `paybridge_udp_socket_drops_total{socket="sip"} 0`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
