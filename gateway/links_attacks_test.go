package gateway

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/payment"
)

// The payment-link attacks of the outside review, one regression test each. Those that held
// before are kept here or in links_test.go:
//
//	guessed, tampered, short, long, malformed tokens → 404, nothing revealed   TestPaymentLinkBadTokensRevealNothing
//	an expired link                                   → 410                     TestPaymentLinkBadTokensRevealNothing
//	replaying a paid link                             → 410, one charge         TestPaymentLinkCompletesTheVoiceSession
//	twenty simultaneous submissions                   → one charge             TestPaymentLinkConcurrentSubmitsChargeOnce
//	card testing through one link                     → closed after MaxAttempts, 429 after SubmitLimit a minute
//	                                                    TestPaymentLinkTooManyDeclinesCloses, TestPaymentLinkAttacks/submit-flood
//	an oversized body, a JSON body                    → 400, 415               TestPaymentLinkRejectsOversizedAndForeignPosts
//	paths without a token                             → 404                     TestPaymentPathsWithoutToken
//	markup in the reference, card data in the query, other methods, framing
//	                                                  → escaped, ignored, 405, refused   TestPaymentLinkAttacks
//
// Those that broke, fixed with this file: bad tokens from a shared address made a valid link
// answer 429 (TestPaymentLinkNotLockedOutByOthers), and a cross-site POST was processed
// (TestPaymentLinkRefusesCrossSitePosts).

// newLink texts one link for a 5.00 GBP payment through a fresh connector and returns its
// token.
func newLink(t *testing.T, le *linkEnv, typ, reference string) string {
	t.Helper()
	c := le.open(t, typ)
	if _, err := le.links.SendPaymentLink(context.Background(), &payment.LinkRequest{CallID: "c", Connector: c.Name(),
		To: "+447700900123", CallerID: "+447700900123", Amount: payment.Amount{Minor: 500, Currency: "GBP"},
		Reference: reference, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	return le.lastToken(t)
}

// 40 requests for tokens that do not exist, from the address a customer shares with the
// attacker (a proxy, a carrier NAT): the attacker gets 429, the customer's valid link still
// opens and pays.
func TestPaymentLinkNotLockedOutByOthers(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{})
	token := newLink(t, le, "stripe", "INV-1")
	limited := false
	for i := 0; i < 40; i++ {
		if resp, _ := le.get(t, strings.Repeat("A", linkTokenLen-1)+string(rune('A'+i%26))); resp.StatusCode == http.StatusTooManyRequests {
			limited = true
		}
		if resp, _ := le.post(t, "not-a-token", "4242424242424242", expiry(), "123"); resp.StatusCode == http.StatusTooManyRequests {
			limited = true
		}
	}
	if !limited {
		t.Fatal("80 bad tokens from one client were never limited")
	}
	if resp, body := le.get(t, token); resp.StatusCode != http.StatusOK || !strings.Contains(body, "£5.00") {
		t.Fatalf("the valid link after others' failures: %d %s", resp.StatusCode, body)
	}
	if resp, body := le.post(t, token, "4242424242424242", expiry(), "123"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Payment received") {
		t.Fatalf("paying the valid link after others' failures: %d %s", resp.StatusCode, body)
	}
}

// A page on another site that posts the form (the attacker holds the token) is refused before
// the link is touched; the customer's own submission goes through.
func TestPaymentLinkRefusesCrossSitePosts(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{})
	token := newLink(t, le, "stripe", "INV-2")
	post := func(h map[string]string) (*http.Response, string) {
		form := url.Values{"cc-number": {"4242424242424242"}, "cc-exp": {expiry()}, "cc-csc": {"123"}, "postal-code": {"SW1A 1AA"}}
		req, _ := http.NewRequest("POST", le.pages.URL+"/pay/"+token, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return le.read(t, resp)
	}
	for name, h := range map[string]map[string]string{
		"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		"Sec-Fetch-Site same-site":  {"Sec-Fetch-Site": "same-site"},
		"Origin only":               {"Origin": "https://evil.example"},
		"Origin null":               {"Origin": "null"},
	} {
		resp, body := post(h)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "its own page") {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
	if n := len(le.sb.Ledger()); n != 0 {
		t.Fatalf("a cross-site submission reached the provider: %d charges", n)
	}
	// The customer's browser, on the page itself.
	resp, body := post(map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": le.pages.URL})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Payment received") || len(le.sb.Ledger()) != 1 {
		t.Fatalf("same-origin submission: %d %s", resp.StatusCode, body)
	}
	assertNoPAN(t, "logs", le.logs.String())
}

func TestPaymentLinkAttacks(t *testing.T) {
	t.Run("markup in the reference", func(t *testing.T) {
		le := newLinkEnv(t, LinksConfig{Merchant: payment.Merchant{Name: `Acme <b>"Water"</b>`}})
		token := newLink(t, le, "stripe", `<script>alert(1)</script><img src=x onerror=alert(2)>`)
		resp, body := le.get(t, token)
		if resp.StatusCode != 200 || strings.Contains(body, "<script") || strings.Contains(body, "<img") || strings.Contains(body, "<b>") ||
			!strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Fatalf("reference or merchant not escaped: %d\n%s", resp.StatusCode, body)
		}
	})
	t.Run("card data in the query string", func(t *testing.T) {
		le := newLinkEnv(t, LinksConfig{})
		token := newLink(t, le, "stripe", "INV-3")
		resp, err := http.Get(le.pages.URL + "/pay/" + token + "?cc-number=4242424242424242&cc-exp=12/30&cc-csc=123")
		if err != nil {
			t.Fatal(err)
		}
		resp, body := le.read(t, resp)
		if resp.StatusCode != 200 || !strings.Contains(body, `autocomplete="cc-number"`) || len(le.sb.Ledger()) != 0 {
			t.Fatalf("GET with card fields: %d, %d charges", resp.StatusCode, len(le.sb.Ledger()))
		}
		// POST with the card in the query and an empty body: nothing is charged.
		resp, err = http.Post(le.pages.URL+"/pay/"+token+"?cc-number=4242424242424242&cc-exp=12/30&cc-csc=123",
			"application/x-www-form-urlencoded", strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		if resp, _ := le.read(t, resp); resp.StatusCode == 200 || len(le.sb.Ledger()) != 0 {
			t.Fatalf("POST with the card in the query: %d, %d charges", resp.StatusCode, len(le.sb.Ledger()))
		}
		assertNoPAN(t, "pages", le.seen.String())
		assertNoPAN(t, "logs", le.logs.String())
	})
	t.Run("other methods", func(t *testing.T) {
		le := newLinkEnv(t, LinksConfig{})
		token := newLink(t, le, "stripe", "INV-4")
		for _, m := range []string{"PUT", "DELETE", "PATCH"} {
			req, _ := http.NewRequest(m, le.pages.URL+"/pay/"+token, strings.NewReader("cc-number=4242424242424242"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp, _ := le.read(t, resp); resp.StatusCode == 200 {
				t.Errorf("%s: 200", m)
			}
		}
		if resp, _ := le.get(t, token); resp.StatusCode != 200 || len(le.sb.Ledger()) != 0 {
			t.Fatalf("link after other methods: %d, %d charges", resp.StatusCode, len(le.sb.Ledger()))
		}
	})
	t.Run("framing and referrer", func(t *testing.T) {
		le := newLinkEnv(t, LinksConfig{})
		token := newLink(t, le, "stripe", "INV-5")
		for _, tok := range []string{token, strings.Repeat("A", linkTokenLen)} {
			resp, _ := le.get(t, tok)
			csp := resp.Header.Get("Content-Security-Policy")
			if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(csp, "frame-ancestors 'none'") ||
				!strings.Contains(csp, "form-action 'self'") || resp.Header.Get("Referrer-Policy") != "no-referrer" ||
				resp.Header.Get("X-Robots-Tag") == "" {
				t.Errorf("%d page headers %v", resp.StatusCode, resp.Header)
			}
		}
	})
	t.Run("submit-flood", func(t *testing.T) {
		// Card testing through a link someone holds: SubmitLimit a minute, then 429 for
		// that link only.
		le := newLinkEnv(t, LinksConfig{SubmitLimit: 3, MaxAttempts: 100})
		token := newLink(t, le, "generic", "INV-6")
		other := newLink(t, le, "stripe", "INV-7")
		codes := []int{}
		for i := 0; i < 5; i++ {
			resp, _ := le.post(t, token, "4000000000000002", expiry(), "123")
			codes = append(codes, resp.StatusCode)
		}
		if codes[2] != http.StatusPaymentRequired || codes[3] != http.StatusTooManyRequests || codes[4] != http.StatusTooManyRequests {
			t.Fatalf("submission codes %v: want 3 declines then 429", codes)
		}
		if resp, _ := le.post(t, other, "4242424242424242", expiry(), "123"); resp.StatusCode != 200 {
			t.Fatalf("another link from the same client: %d", resp.StatusCode)
		}
	})
	t.Run("view-flood", func(t *testing.T) {
		le := newLinkEnv(t, LinksConfig{ViewLimit: 3})
		token := newLink(t, le, "stripe", "INV-8")
		other := newLink(t, le, "stripe", "INV-9")
		for i := 0; i < 3; i++ {
			if resp, _ := le.get(t, token); resp.StatusCode != 200 {
				t.Fatalf("view %d: %d", i, resp.StatusCode)
			}
		}
		if resp, _ := le.get(t, token); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("view 4: %d", resp.StatusCode)
		}
		if resp, _ := le.get(t, other); resp.StatusCode != 200 {
			t.Fatalf("another link: %d", resp.StatusCode)
		}
	})
}
