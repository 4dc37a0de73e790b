package gateway

import (
	"context"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/payment"
)

// A tiny PNG (1×1), the merchant's logo.
var testLogo, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

// The page and the text carry the merchant of the link's connector — name, logo, support
// line, the amount written for its locale, the reference — and a connector without one
// carries the configured default.
func TestPaymentLinkBranding(t *testing.T) {
	logo := filepath.Join(t.TempDir(), "acme.png")
	if err := os.WriteFile(logo, testLogo, 0o644); err != nil {
		t.Fatal(err)
	}
	le := newLinkEnv(t, LinksConfig{Merchant: payment.Merchant{Name: "Operator Ltd", Support: "0800 000 0000"}})
	spec := &payment.ConnectorSpec{Name: "acme", Type: "stripe", BaseURL: "sandbox", APIKey: "sk_test_sandbox",
		Merchant: &payment.Merchant{Name: "Acme Agua", Logo: logo, Support: "+34 900 123 456", Locale: "es-ES"}}
	acme, err := le.cs.OpenConnector(spec)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	send := func(c *Connector, amt payment.Amount, ref string) string {
		t.Helper()
		if _, err := le.links.SendPaymentLink(ctx, &payment.LinkRequest{CallID: "c-" + ref, Connector: c.Name(), ConnectorKey: c.Key(),
			To: "+447700900123", CallerID: "+447700900123", Amount: amt, Reference: ref, TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
		return le.lastToken(t)
	}

	token := send(acme, payment.Amount{Minor: 123450, Currency: "EUR"}, "FAC-77")
	text := le.store.Outbox()[len(le.store.Outbox())-1].Body
	for _, want := range []string{"Acme Agua: pay 1234,50 € for FAC-77 securely at ", "Questions: +34 900 123 456."} {
		if !strings.Contains(text, want) {
			t.Errorf("text %q lacks %q", text, want)
		}
	}
	if strings.ContainsAny(text, "\u00a0\u202f") {
		t.Errorf("text %q has no-break spaces (a Unicode SMS)", text)
	}
	resp, body := le.get(t, token)
	body = html.UnescapeString(body)
	for _, want := range []string{`<title>Pay Acme Agua – Acme Agua</title>`, `<img src="data:image/png;base64,` + base64.StdEncoding.EncodeToString(testLogo) + `" alt="Acme Agua">`,
		"1234,50\u00a0€", "FAC-77", "Contact Acme Agua: +34 900 123 456"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src data:;") || strings.Contains(csp, "img-src *") {
		t.Errorf("CSP %q", csp)
	}

	// A connector without a <Merchant>: the default.
	plain := le.open(t, "session")
	token = send(plain, payment.Amount{Minor: 1234, Currency: "GBP"}, "12345678")
	text = le.store.Outbox()[len(le.store.Outbox())-1].Body
	if !strings.HasPrefix(text, "Operator Ltd: pay £12.34 for 12345678 securely at ") || !strings.Contains(text, "Questions: 0800 000 0000.") {
		t.Errorf("default merchant's text %q", text)
	}
	_, body = le.get(t, token)
	if !strings.Contains(body, "Contact Operator Ltd: 0800 000 0000") || strings.Contains(body, "<img") {
		t.Errorf("default merchant's page:\n%s", body)
	}

	// A logo that went missing after the plan loaded: the page is shown without it, and says so once in the log.
	if err := os.Remove(logo); err != nil {
		t.Fatal(err)
	}
	token = send(acme, payment.Amount{Minor: 500, Currency: "EUR"}, "FAC-78")
	if resp, body := le.get(t, token); resp.StatusCode != 200 || strings.Contains(body, "<img") || !strings.Contains(body, "Acme Agua") {
		t.Errorf("page without its logo file: %d\n%s", resp.StatusCode, body)
	}
	le.get(t, token)
	if n := strings.Count(le.logs.String(), "the merchant's logo cannot be shown"); n != 1 {
		t.Errorf("%d warnings about the missing logo, want 1:\n%s", n, le.logs.String())
	}
}

// A submission with several fields wrong gets every error at once: in the summary, each a
// link to its field, and under each field, which is marked invalid. Nothing is charged.
func TestPaymentPageShowsEveryFieldError(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{})
	token := newLink(t, le, "stripe", "INV-9")
	form := url.Values{"cc-number": {"4242424242424241"}, "cc-exp": {"13/30"}, "cc-csc": {"12"}, "postal-code": {"SW1A 1AA"}}
	resp, err := http.PostForm(le.pages.URL+"/pay/"+token, form)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := le.read(t, resp)
	if resp.StatusCode != http.StatusUnprocessableEntity || len(le.sb.Ledger()) != 0 {
		t.Fatalf("%d, %d charges", resp.StatusCode, len(le.sb.Ledger()))
	}
	for _, want := range []string{"3 things to correct:",
		`<a href="#cc-number">Card number: this card number is not valid</a>`,
		`<a href="#cc-exp">Expiry date: enter the expiry date as MM/YY</a>`,
		`<a href="#cc-csc">Security code: enter the 3 or 4 digit security code</a>`,
		`aria-describedby="cc-number-hint cc-number-error" aria-invalid="true"`,
		`aria-describedby="cc-exp-hint cc-exp-error" aria-invalid="true"`,
		`aria-describedby="cc-csc-hint cc-csc-error" aria-invalid="true"`,
		`<span class="field-error" id="cc-exp-error">enter the expiry date as MM/YY</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, `id="postal-code-error"`) {
		t.Error("the postcode, which was right, is marked in error")
	}
	assertNoPAN(t, "page", body)
	// The link still works: the right card pays.
	if resp, body := le.post(t, token, "4242424242424242", expiry(), "123"); resp.StatusCode != 200 || !strings.Contains(body, "Payment received") {
		t.Fatalf("paying after the errors: %d\n%s", resp.StatusCode, body)
	}
}
