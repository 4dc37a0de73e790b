package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/payment"
)

// chromiumDump loads url in headless Chromium and returns the rendered DOM and the browser's
// log, in which Content-Security-Policy violations appear as console messages.
func chromiumDump(t *testing.T, url string) (dom, log string) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not installed: run make deps")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--enable-logging=stderr", "--v=0", "--user-data-dir="+t.TempDir(), "--dump-dom", url)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, errb.String())
	}
	return out.String(), errb.String()
}

var cspViolation = regexp.MustCompile(`(?i)content security policy`)

// The payment page renders in a real browser with its strict CSP and nothing refused — the
// merchant's logo included; the same page with a wrong nonce shows the check would catch a
// violation.
func TestPaymentPageInChromium(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{Merchant: payment.Merchant{Name: "Acme Water"}})
	logo := filepath.Join(t.TempDir(), "logo.svg")
	svg := `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" rx="6" fill="#0a7d5a"/>` +
		`<text x="60" y="27" font-size="18" font-family="sans-serif" font-weight="700" text-anchor="middle" fill="#fff">ACME</text></svg>`
	if err := os.WriteFile(logo, []byte(svg), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := le.cs.OpenConnector(&payment.ConnectorSpec{Name: "acme", Type: "stripe", BaseURL: "sandbox", APIKey: "sk_test_sandbox",
		Merchant: &payment.Merchant{Name: "Acme Water", Logo: logo, Support: "0800 123 4567"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := le.links.SendPaymentLink(context.Background(), &payment.LinkRequest{CallID: "c", Connector: c.Name(), ConnectorKey: c.Key(),
		To: "+447700900123", CallerID: "+447700900123", Amount: payment.Amount{Minor: 1234, Currency: "GBP"},
		Reference: "12345678", TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	token := le.lastToken(t)

	dom, log := chromiumDump(t, le.pages.URL+"/pay/"+token)
	if cspViolation.MatchString(log) {
		t.Fatalf("the page violates its own CSP:\n%s", log)
	}
	for _, want := range []string{`autocomplete="cc-number"`, `<label for="cc-exp">`, `£12.34`, `<form method="post"`,
		`<img src="data:image/svg+xml;base64,`, `Contact Acme Water: 0800 123 4567`} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %s", want)
		}
	}
	if strings.Contains(dom, "<script") {
		t.Error("script on the payment page")
	}
	// What the customer sees, for people to look at (make test keeps it in out/artifacts).
	shot := filepath.Join(t.ArtifactDir(), "payment-page.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
		"--user-data-dir="+t.TempDir(), "--window-size=480,1100", "--screenshot="+shot, le.pages.URL+"/pay/"+token).CombinedOutput(); err != nil {
		t.Fatalf("chromium screenshot: %v\n%s", err, out)
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 1000 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}

	// The form sent back with every field wrong, as the browser shows it: a real submission's
	// answer (headers and body), served again at a URL the browser can load.
	wrong := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.PostForm(le.pages.URL+"/pay/"+token, url.Values{"cc-number": {"4242424242424241"}, "cc-exp": {"13/30"}, "cc-csc": {"12"}})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	defer wrong.Close()
	dom, log = chromiumDump(t, wrong.URL+"/")
	if cspViolation.MatchString(log) || !strings.Contains(dom, "3 things to correct:") || strings.Count(dom, `class="field-error"`) != 3 {
		t.Errorf("the form with three errors, rendered:\n%s\n%s", dom, log)
	}
	if out, err := exec.CommandContext(ctx, "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
		"--user-data-dir="+t.TempDir(), "--window-size=480,1300", "--screenshot="+filepath.Join(t.ArtifactDir(), "payment-page-errors.png"), wrong.URL+"/").CombinedOutput(); err != nil {
		t.Fatalf("chromium screenshot: %v\n%s", err, out)
	}

	// Control: the same page under a CSP with another nonce must be reported.
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		r.URL.Path = "/pay/" + token
		le.links.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-0000'")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	defer broken.Close()
	_, log = chromiumDump(t, broken.URL+"/")
	if !cspViolation.MatchString(log) {
		t.Fatalf("a wrong nonce went unnoticed: the CSP check cannot fail\n%s", log)
	}
	// GET never consumed the link.
	if resp, _ := le.get(t, token); resp.StatusCode != 200 {
		t.Fatalf("link consumed by the browser's GETs: %d", resp.StatusCode)
	}
}
