package console

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAdminTokenGeneratedOnceAndPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tok, created, err := AdminToken(dir, "")
	if err != nil || !created || len(tok) < 40 || !strings.HasPrefix(tok, "pb_") {
		t.Fatalf("first start: %q %v %v", tok, created, err)
	}
	fi, err := os.Stat(filepath.Join(dir, TokenFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi.Mode(), err)
	}
	again, created, err := AdminToken(dir, "")
	if err != nil || created || again != tok {
		t.Errorf("second start: %q %v %v, want the same token, not created", again, created, err)
	}
	other, _, _ := AdminToken(t.TempDir(), "")
	if other == tok {
		t.Error("two data directories generated the same token")
	}
}

func TestAdminTokenFlagWins(t *testing.T) {
	dir := t.TempDir()
	tok, created, err := AdminToken(dir, "flag-token-0123456789")
	if err != nil || created || tok != "flag-token-0123456789" {
		t.Fatalf("flag: %q %v %v", tok, created, err)
	}
	if _, err := os.Stat(filepath.Join(dir, TokenFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a flag token must not be written to disk: %v", err)
	}
	for _, bad := range []string{"short", "has space in the token value", "newline\ninjected-token-x"} {
		if _, _, err := AdminToken(dir, bad); err == nil {
			t.Errorf("flag token %q accepted", bad)
		}
	}
}

func TestAdminTokenFileChecks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, TokenFile)
	if err := os.WriteFile(path, []byte("file-token-0123456789\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := AdminToken(dir, ""); !errors.Is(err, ErrTokenFile) || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable token file: %v", err)
	}
	os.Chmod(path, 0o600)
	if tok, created, err := AdminToken(dir, ""); err != nil || created || tok != "file-token-0123456789" {
		t.Errorf("operator-written token file: %q %v %v", tok, created, err)
	}
	os.WriteFile(path, []byte("short"), 0o600)
	if _, _, err := AdminToken(dir, ""); !errors.Is(err, ErrTokenFile) {
		t.Errorf("short token in file: %v", err)
	}
	if _, _, err := AdminToken("", ""); err == nil {
		t.Error("no data dir and no flag accepted")
	}
}

func TestTokenMatch(t *testing.T) {
	h := sha256.Sum256([]byte(testToken))
	for tok, want := range map[string]bool{testToken: true, "": false, testToken + " ": false, strings.ToUpper(testToken): false} {
		if got := tokenMatch(h[:], tok); got != want {
			t.Errorf("tokenMatch(%q) = %v", tok, got)
		}
	}
}

func TestFailLimiter(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	l := newFailLimiter(3, time.Minute)
	l.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if b, _ := l.blocked("192.0.2.1"); b {
			t.Fatalf("blocked after %d failures", i)
		}
		l.fail("192.0.2.1")
	}
	if b, left := l.blocked("192.0.2.1"); !b || left != time.Minute {
		t.Errorf("after 3 failures: %v %v", b, left)
	}
	if b, _ := l.blocked("192.0.2.2"); b {
		t.Error("another address blocked")
	}
	now = now.Add(time.Minute)
	if b, _ := l.blocked("192.0.2.1"); b {
		t.Error("still blocked after the window")
	}
}

// 30 bad tokens from the admin's address (an attacker behind the same proxy or NAT) lock
// that address out for guessing, never for the admin: the valid token still gets in, over
// HTTP and over the WebSocket, while wrong tokens keep getting 429.
func TestAuthLockoutSparesTheValidToken(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.AuthFailures = DefaultAuthFailures })
	for i := 0; i < DefaultAuthFailures; i++ {
		if code, _, _ := f.do(t, "GET", "/api/calls", "wrong-token-0123456789"); code != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d", i, code)
		}
	}
	code, h, _ := f.do(t, "GET", "/api/calls", "wrong-token-0123456789")
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Fatalf("after %d failures a wrong token gets %d %v, want 429 with Retry-After", DefaultAuthFailures, code, h)
	}
	if code, _, _ := f.do(t, "GET", "/api/calls", ""); code != http.StatusTooManyRequests {
		t.Errorf("no token from the locked-out address: %d", code)
	}
	if code, _, b := f.do(t, "GET", "/api/calls", testToken); code != http.StatusOK {
		t.Fatalf("the valid token from the locked-out address: %d %s", code, b)
	}
	conn, res, err := dial(t, wsURL(f), nil, Subprotocol, bearerProtocolPrefix+testToken)
	if err != nil {
		t.Fatalf("the live feed with the valid token from the locked-out address: %v %v", res, err)
	}
	conn.Close()
	if code, _, _ := f.do(t, "GET", "/healthz", ""); code != 200 {
		t.Errorf("healthz limited: %d", code)
	}
}

// Behind a trusted proxy every client shares its address; the console's ClientIP hook (serve
// wires it to --trusted-proxies) keeps one client's failures its own.
func TestAuthLockoutPerClientBehindAProxy(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.AuthFailures = 3
		c.ClientIP = func(r *http.Request) string { return r.Header.Get("X-Test-Client") }
	})
	as := func(client, token string) int {
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/calls", nil)
		req.Header.Set("X-Test-Client", client)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for i := 0; i < 3; i++ {
		as("198.51.100.1", "wrong-token-0123456789")
	}
	if code := as("198.51.100.1", "wrong-token-0123456789"); code != http.StatusTooManyRequests {
		t.Fatalf("the guessing client: %d", code)
	}
	if code := as("198.51.100.2", "wrong-token-0123456789"); code != http.StatusUnauthorized {
		t.Fatalf("another client behind the same proxy: %d, want 401", code)
	}
	if !strings.Contains(f.logs.String(), `"remote":"198.51.100.2"`) {
		t.Errorf("the log does not name the client: %s", f.logs.String())
	}
}
