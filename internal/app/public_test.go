package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/internal/testlog"
	"github.com/paybridge/paybridge/siptest"
	"github.com/paybridge/paybridge/store"
)

const testAdminToken = "test-admin-token-0123456789abcdef"

// getWithToken GETs url with the bearer token ("" = none) and extra headers (name, value, …).
func getWithToken(t *testing.T, url, token string, headers ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// apiStatus waits for the recorded "api" event of the named ApiInteraction of a call and
// returns its HTTP status ("" when none came) and error text.
func apiStatus(t *testing.T, a *App, callID, name string) string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, evs, err := a.Store().GetCall(context.Background(), callID)
		if err != nil {
			continue
		}
		for _, e := range evs {
			var api event.APICalled
			if e.Type != "api" || json.Unmarshal(e.Fields, &api) != nil || api.Name != name {
				continue
			}
			st := ""
			if api.Status != 0 {
				st = fmt.Sprint(api.Status)
			}
			if api.Error != "" {
				return st + " " + api.Error
			}
			return st
		}
	}
	t.Fatalf("no api event for %s in call %s", name, callID)
	return ""
}

// waitFor polls out until it contains want.
func waitFor(t *testing.T, out *testlog.Buffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(out.String(), want) {
			return
		}
	}
	t.Fatalf("output never said %q:\n%s", want, out)
}

func writePlan(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The sandbox is on the public listener only while a loaded plan uses it, or when asked; the
// banner says which; its ledger needs the admin token.
func TestSandboxMountedOnlyWhenUsed(t *testing.T) {
	dir := t.TempDir()
	writePlan(t, dir, "plain.xml", `<CallPlan name="plain"><Match number="+441632960560"/><Flow><Play prompt="welcome"/><Hangup/></Flow></CallPlan>`)
	a, out, stop := startNode(t, "--plans", dir)
	base := "http://" + a.HTTPAddr()
	waitFor(t, out, "sandbox      off (no loaded plan uses it")
	for _, path := range []string{"/sandbox/", "/sandbox/ledger", "/sandbox/billing/accounts/12345678/balance"} {
		if code, _ := getWithToken(t, base+path, testAdminToken); code != http.StatusNotFound {
			t.Errorf("GET %s with no plan using the sandbox = %d, want 404", path, code)
		}
	}
	// A reload that brings a plan using it mounts it, behind the admin token.
	writePlan(t, dir, "ledger.xml", `<CallPlan name="ledger"><Match number="+441632960561"/><Flow>
	  <ApiInteraction name="Ledger"><Request><Url>$(Sandbox.Url)/ledger</Url></Request></ApiInteraction><Hangup/></Flow></CallPlan>`)
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	if code, _ := getWithToken(t, base+"/sandbox/ledger", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /sandbox/ledger after the reload without a token = %d, want 401", code)
	}
	if code, _ := getWithToken(t, base+"/sandbox/billing/accounts/12345678/balance", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /sandbox/billing without a token = %d, want 401", code)
	}
	if code, body := getWithToken(t, base+"/sandbox/ledger", testAdminToken); code != 200 || !strings.Contains(body, "charges") {
		t.Errorf("GET /sandbox/ledger with the admin token = %d %s", code, body)
	}
	stop()

	// --sandbox on mounts it whatever the plans; the banner says so.
	dir2 := t.TempDir()
	writePlan(t, dir2, "plain.xml", `<CallPlan name="plain"><Match number="+441632960560"/><Flow><Hangup/></Flow></CallPlan>`)
	a, out, stop2 := startNode(t, "--plans", dir2, "--sandbox", "on")
	defer stop2()
	waitFor(t, out, "/sandbox/ (on: --sandbox on; ledger, billing and admin routes need the admin token)")
	if code, _ := getWithToken(t, "http://"+a.HTTPAddr()+"/sandbox/ledger", ""); code != http.StatusUnauthorized {
		t.Errorf("--sandbox on: GET /sandbox/ledger without a token = %d, want 401", code)
	}
}

// The bundled plans use the sandbox: the banner names them.
func TestBannerNamesSandboxUsers(t *testing.T) {
	_, out, stop := startNode(t)
	defer stop()
	waitFor(t, out, "/sandbox/ (on: used by ")
	waitFor(t, out, "pay-bill")
}

// --trusted-proxies: behind the proxy each client has its own lockout; without it the header
// is ignored (a client cannot step out of its lockout by inventing addresses).
func TestTrustedProxies(t *testing.T) {
	bad := func(base, client string) int {
		code, _ := getWithToken(t, base+"/api/calls", "wrong-token-0123456789", "X-Forwarded-For", client)
		return code
	}
	lockOut := func(base, client string) {
		for i := 0; i < 30; i++ {
			bad(base, client)
		}
		if code := bad(base, client); code != http.StatusTooManyRequests {
			t.Fatalf("client %s after 30 bad tokens: %d", client, code)
		}
	}

	a, logs, stop := startNode(t, "--trusted-proxies", "127.0.0.1/32 ::1")
	base := "http://" + a.HTTPAddr()
	waitFor(t, logs, "proxies      127.0.0.1/32 ::1")
	lockOut(base, "198.51.100.1")
	if code := bad(base, "198.51.100.2"); code != http.StatusUnauthorized {
		t.Errorf("behind a trusted proxy, another client got %d, want 401", code)
	}
	// A client cannot name itself: the proxy appends what it saw, and that is read from the right.
	if code := bad(base, "198.51.100.2, 198.51.100.1"); code != http.StatusTooManyRequests {
		t.Errorf("a forged left-hand address escaped the lockout: %d", code)
	}
	// The payment pages count failures per client the same way.
	for i := 0; i < 40; i++ {
		getWithToken(t, base+"/pay/"+strings.Repeat("A", 43), "", "X-Forwarded-For", "198.51.100.1")
	}
	if code, _ := getWithToken(t, base+"/pay/"+strings.Repeat("A", 43), "", "X-Forwarded-For", "198.51.100.1"); code != http.StatusTooManyRequests {
		t.Errorf("the guessing client on /pay: %d, want 429", code)
	}
	if code, _ := getWithToken(t, base+"/pay/"+strings.Repeat("A", 43), "", "X-Forwarded-For", "198.51.100.3"); code != http.StatusNotFound {
		t.Errorf("another client on /pay: %d, want 404", code)
	}
	if !strings.Contains(logs.String(), "198.51.100.2") {
		t.Errorf("the log does not name the client behind the proxy")
	}
	stop()

	a, _, stop = startNode(t)
	defer stop()
	base = "http://" + a.HTTPAddr()
	lockOut(base, "198.51.100.1")
	if code := bad(base, "198.51.100.2"); code != http.StatusTooManyRequests {
		t.Errorf("without --trusted-proxies, X-Forwarded-For moved the client out of its lockout: %d", code)
	}
	// … and the admin is never locked out.
	if code, _ := getWithToken(t, base+"/api/calls", testAdminToken); code != 200 {
		t.Errorf("the valid token from the locked-out address: %d", code)
	}
}

// serve's plan HTTP steps connect only where --http-allow says: a loopback service that is not
// the node is refused by default and reached once listed.
func TestServePlanHTTPDestinations(t *testing.T) {
	var hits atomic.Int32
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, `{"ok":"yes"}`)
	}))
	defer svc.Close()
	dir := t.TempDir()
	writePlan(t, dir, "probe.xml", `<CallPlan name="probe"><Match number="+441632960562"/><Flow>
	  <ApiInteraction name="Probe"><Request><Url>`+svc.URL+`/internal</Url></Request></ApiInteraction><Hangup/></Flow></CallPlan>`)
	call := func(a *App) string {
		res, err := siptest.Dial(context.Background(), siptest.CallerConfig{Target: fmt.Sprintf("sip:+441632960562@%s", a.SIPAddr()), Timeout: 20 * time.Second})
		if err != nil || !res.Answered {
			t.Fatalf("call: %+v, %v", res, err)
		}
		calls, err := a.Store().ListCalls(context.Background(), store.CallFilter{})
		if err != nil || len(calls) == 0 {
			t.Fatalf("calls: %v %v", calls, err)
		}
		return apiStatus(t, a, calls[0].ID, "Probe")
	}

	a, _, stop := startNode(t, "--plans", dir)
	st := call(a)
	stop()
	if hits.Load() != 0 || !strings.Contains(st, "loopback") {
		t.Fatalf("default --http-allow: the loopback service was reached %d times (%q)", hits.Load(), st)
	}
	a, _, stop = startNode(t, "--plans", dir, "--http-allow", "public 127.0.0.1/32")
	defer stop()
	if st := call(a); st != "200" || hits.Load() != 1 {
		t.Fatalf("--http-allow 127.0.0.1/32: %q, %d hits", st, hits.Load())
	}
}

// Path traversal against the whole public listener, with raw request lines no client library
// would normalise: nothing outside the embedded assets is served, and no spelling of a path
// reaches the admin API (or the sandbox's ledger) without the token.
func TestPathTraversal(t *testing.T) {
	a, _, stop := startNode(t)
	defer stop()
	secrets := []string{testAdminToken, "root:x:0:0", "SQLite format 3", a.sandboxKey}
	paths := []string{
		"/assets/../../../../etc/passwd", "/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/assets/..%2f..%2f..%2fetc%2fpasswd",
		"/assets/%2e%2e%2fpaybridge.db", "/assets/..\\..\\paybridge.db", "/assets/index.html/../../paybridge.db",
		"/assets//etc/passwd", "//etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/paybridge.db", "/admin.token",
		"/pay/..%2f..%2fapi%2fcalls", "/pay/../api/calls", "/pay/%2e%2e/api/calls",
		"/sandbox/..%2fapi%2fcalls", "/sandbox/../api/calls", "/sandbox/%2e%2e/ledger", "/sandbox//ledger", "/sandbox/./ledger",
		"/api/calls/..%2f..%2fadmin.token", "/api/../api/calls", "/API/calls", "/api/calls%00", "/api/calls/%2e%2e",
		"/metrics/..", "/healthz/../api/calls", "/./api/calls",
	}
	for _, p := range paths {
		status, body := rawGet(t, a.HTTPAddr(), p)
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("GET %s (%d) leaked %.12q…", p, status, s)
			}
		}
		if status == 200 && (strings.Contains(body, `"items"`) || strings.Contains(body, `"charges"`)) {
			t.Errorf("GET %s reached data without the token: %d %.200s", p, status, body)
		}
		if status >= 500 {
			t.Errorf("GET %s: %d", p, status)
		}
	}
	// Control: the same reader sees the data when the token is given.
	if status, body := rawGet(t, a.HTTPAddr(), "/api/calls", "Authorization: Bearer "+testAdminToken); status != 200 || !strings.Contains(body, `"items"`) {
		t.Fatalf("control: %d %s", status, body)
	}
}

// rawGet sends one request line as written and returns the status and body.
func rawGet(t *testing.T, addr, path string, headers ...string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n"
	for _, h := range headers {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
