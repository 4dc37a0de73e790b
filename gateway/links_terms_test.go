package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
)

// sendLink texts a link on terms through connector c and returns its token.
func (le *linkEnv) sendLink(t *testing.T, c *Connector, ref string, minor int64, currency string, terms *payment.LinkTerms) string {
	t.Helper()
	if _, err := le.links.SendPaymentLink(context.Background(), &payment.LinkRequest{CallID: "call-" + ref, Connector: c.Name(), ConnectorKey: c.Key(),
		To: "+447700900123", CallerID: "+447700900123", Amount: payment.Amount{Minor: minor, Currency: currency},
		Reference: ref, TTL: time.Hour, Terms: terms}); err != nil {
		t.Fatal(err)
	}
	return le.lastToken(t)
}

func (le *linkEnv) postForm(t *testing.T, token string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := http.PostForm(le.pages.URL+"/pay/"+token, form)
	if err != nil {
		t.Fatal(err)
	}
	return le.read(t, resp)
}

// payments returns the payment events (link.paid, link.declined) emitted so far.
func (le *linkEnv) payments() []*event.Payment {
	le.events.mu.Lock()
	defer le.events.mu.Unlock()
	var out []*event.Payment
	for _, ev := range le.events.ev {
		if p := event.PaymentOf(ev.Data); p != nil {
			out = append(out, p)
		}
	}
	return out
}

// A link on authorize terms places a hold through every connector type: the page says
// "Authorise", the provider's ledger holds the amount with its expiry, and the payment event
// says authorize with the ledger's expiry.
func TestPaymentLinkAuthorizes(t *testing.T) {
	for _, typ := range []string{"session", "generic", "stripe"} {
		t.Run(typ, func(t *testing.T) {
			le := newLinkEnv(t, LinksConfig{Merchant: payment.Merchant{Name: "Acme Water"}})
			c := le.open(t, typ)
			token := le.sendLink(t, c, "HOLD-"+typ, 2500, "GBP", &payment.LinkTerms{Method: payment.MethodAuthorize})
			if text := le.store.Outbox()[0].Body; !strings.HasPrefix(text, "Acme Water: authorise £25.00") {
				t.Errorf("the text %q", text)
			}
			if _, body := le.get(t, token); !strings.Contains(body, "<button type=\"submit\">Authorise £25.00</button>") {
				t.Fatalf("page:\n%s", body)
			}
			resp, body := le.post(t, token, "4242424242424242", expiry(), "123")
			if resp.StatusCode != 200 || !strings.Contains(body, "Payment authorised") || !strings.Contains(body, "The hold is released on") {
				t.Fatalf("POST = %d\n%s", resp.StatusCode, body)
			}
			led := le.sb.Ledger()
			if len(led) != 1 || led[0].Method != "authorize" || led[0].Authorized != 2500 || led[0].Captured != 0 || led[0].AuthorizedUntil.IsZero() {
				t.Fatalf("provider ledger %+v", led)
			}
			ps := le.payments()
			if len(ps) != 1 || ps[0].Method != payment.MethodAuthorize || ps[0].Result != event.ResultSuccess ||
				ps[0].AuthorizedUntil.Sub(led[0].AuthorizedUntil).Abs() > time.Second || ps[0].MaskedCard != "************4242" {
				t.Fatalf("payment events %+v vs ledger until %v", ps, led[0].AuthorizedUntil)
			}
			assertNoPAN(t, "pages", le.seen.String())
			assertNoPAN(t, "logs", le.logs.String())
		})
	}
}

// A link on ach-debit terms takes a bank account through the session and generic connectors;
// a stripe connector (no bank accounts) refuses the link before texting anything.
func TestPaymentLinkBankAccount(t *testing.T) {
	for _, typ := range []string{"session", "generic"} {
		t.Run(typ, func(t *testing.T) {
			le := newLinkEnv(t, LinksConfig{})
			c := le.open(t, typ)
			token := le.sendLink(t, c, "ACH-"+typ, 1200, "USD", &payment.LinkTerms{PaymentMethod: payment.PaymentMethodACH,
				BankAccountType: payment.BankCommercialChecking})
			if _, body := le.get(t, token); !strings.Contains(body, `<option value="commercial-checking" selected>`) || strings.Contains(body, "cc-number") {
				t.Fatalf("page:\n%s", body)
			}
			form := url.Values{"bank-routing-number": {"110000000"}, "bank-account-number": {"000222222227"},
				"bank-account-number-confirm": {"000222222227"}, "bank-account-type": {"consumer-checking"}}
			resp, body := le.postForm(t, token, form)
			if resp.StatusCode != http.StatusPaymentRequired || !strings.Contains(body, "insufficient funds") || !strings.Contains(body, "another account") {
				t.Fatalf("declined account: %d\n%s", resp.StatusCode, body)
			}
			form.Set("bank-account-number", "000123456789")
			form.Set("bank-account-number-confirm", "000123456789")
			resp, body = le.postForm(t, token, form)
			if resp.StatusCode != 200 || !strings.Contains(body, "Payment submitted") || !strings.Contains(body, "From account <strong>********6789</strong>") {
				t.Fatalf("POST = %d\n%s", resp.StatusCode, body)
			}
			led := le.sb.Ledger()
			if len(led) != 2 || led[1].PaymentMethod != "ach-debit" || led[1].AccountType != "consumer-checking" || led[1].Last4 != "6789" ||
				led[1].Status != "succeeded" || led[0].DeclineCode != "insufficient_funds" {
				t.Fatalf("provider ledger %+v", led)
			}
			ps := le.payments()
			if len(ps) != 2 || ps[1].PaymentMethod != payment.PaymentMethodACH || ps[1].MaskedAccount != "********6789" || ps[1].MaskedCard != "" ||
				ps[1].BankAccountType != "consumer-checking" || ps[1].Confirmation != led[1].ID || ps[0].ErrorCode != "insufficient_funds" {
				t.Fatalf("payment events %+v", ps)
			}
			for _, out := range []string{le.seen.String(), le.logs.String()} {
				for _, digits := range []string{"000123456789", "000222222227"} {
					if strings.Contains(out, digits) {
						t.Fatalf("an output holds the account number %s", digits)
					}
				}
			}
		})
	}
	t.Run("stripe", func(t *testing.T) {
		le := newLinkEnv(t, LinksConfig{})
		c := le.open(t, "stripe")
		_, err := le.links.SendPaymentLink(context.Background(), &payment.LinkRequest{CallID: "c", Connector: c.Name(), ConnectorKey: c.Key(),
			To: "+447700900123", CallerID: "+447700900123", Amount: payment.Amount{Minor: 100, Currency: "USD"}, TTL: time.Hour,
			Terms: &payment.LinkTerms{PaymentMethod: payment.PaymentMethodACH}})
		if err == nil || !strings.Contains(err.Error(), "bank accounts") || len(le.store.Outbox()) != 0 || len(le.store.Links()) != 0 {
			t.Fatalf("SendPaymentLink = %v; outbox %d, links %d", err, len(le.store.Outbox()), len(le.store.Links()))
		}
	})
}

// A routed link's payment lands exactly once, on the right provider, for each way the first
// provider (stripe, on a sandbox of its own) fails — checked against both providers' ledgers.
// The backup is the env's session connector.
func TestPaymentLinkRoutes(t *testing.T) {
	cases := []struct {
		name      string
		faults    sandbox.Faults
		status    int
		connector string // the connector the record names
		onPrimary string // the primary ledger's charge status ("" = none)
		onBackup  bool
		outcomes  string
	}{
		{"token 503s: never reached", sandbox.Faults{FailFirst: 100, Paths: []string{"/v1/tokens"}}, 200, "session-conn", "", true, "unavailable approved"},
		{"soft decline", sandbox.Faults{DeclineFirst: 1, Paths: []string{"/v1/charges$"}}, 200, "session-conn", "declined", true, "soft-decline approved"},
		{"hard decline", sandbox.Faults{DeclineFirst: 1, DeclineCode: "card_declined", Paths: []string{"/v1/charges$"}},
			http.StatusPaymentRequired, "primary", "declined", false, "declined"},
		{"answer lost: charged on the primary", sandbox.Faults{LoseFirst: 100, Paths: []string{"/v1/charges$"}}, 200, "primary", "succeeded", false, "approved"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			le := newLinkEnv(t, LinksConfig{})
			backup := le.open(t, "session")
			psb := sandbox.New(sandbox.Config{Faults: tc.faults})
			psrv := httptest.NewServer(psb)
			defer psrv.Close()
			primary, err := le.cs.OpenConnector(&payment.ConnectorSpec{Name: "primary", Type: "stripe", BaseURL: psrv.URL, APIKey: "sk_test_routing"})
			if err != nil {
				t.Fatal(err)
			}
			token := le.sendLink(t, primary, "ROUTE-L", 900, "GBP", &payment.LinkTerms{
				Route: []payment.LinkHop{{Connector: backup.Name(), ConnectorKey: backup.Key()}}})
			resp, body := le.post(t, token, "4242424242424242", expiry(), "123")
			if resp.StatusCode != tc.status {
				t.Fatalf("POST = %d, want %d\n%s", resp.StatusCode, tc.status, body)
			}
			var onPrimary []string
			for _, ch := range psb.Ledger() {
				onPrimary = append(onPrimary, ch.Status)
			}
			if want := tc.onPrimary; want == "" && len(onPrimary) != 0 || want != "" && (len(onPrimary) != 1 || onPrimary[0] != want) {
				t.Errorf("primary ledger %v, want %q", onPrimary, want)
			}
			onBackup := 0
			for _, ch := range le.sb.Ledger() {
				if ch.Status == "succeeded" {
					onBackup++
				}
			}
			if onBackup != map[bool]int{true: 1}[tc.onBackup] {
				t.Errorf("%d charges on the backup", onBackup)
			}
			ps := le.payments()
			if len(ps) != 1 || ps[0].Connector != tc.connector {
				t.Fatalf("payment events %+v", ps)
			}
			var outcomes []string
			for _, r := range ps[0].Routes {
				outcomes = append(outcomes, r.Outcome)
			}
			if tc.onBackup && strings.Join(outcomes, " ") != tc.outcomes || !tc.onBackup && len(ps[0].Routes) != 0 {
				t.Errorf("routes %+v, want %s", ps[0].Routes, tc.outcomes)
			}
			if tc.onBackup && (ps[0].ConnectorKey != backup.Key() || ps[0].Routes[0].AttemptKey == ps[0].Routes[1].AttemptKey) {
				t.Errorf("the backup's record %+v", ps[0])
			}
			routed := 0
			le.events.mu.Lock()
			for _, ev := range le.events.ev {
				if _, ok := ev.Data.(*event.PayRouted); ok {
					routed++
				}
			}
			le.events.mu.Unlock()
			if routed != map[bool]int{true: 1}[tc.onBackup] {
				t.Errorf("%d pay.routed events", routed)
			}
		})
	}
}

// A routed link whose backup's answer was lost is retried by its payer: the next submission
// goes past the primary that was never reached (its attempt under the same key ended without
// charging) to the backup under the backup's same key, which finds the first charge — the
// payer is charged once, however often they press Pay. (Before, the primary's ended attempt
// stopped the route as a refusal, the next submission took fresh keys and the backup charged
// again.)
func TestPaymentLinkRouteRetryChargesOnce(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{})
	backup := le.open(t, "generic")
	psb := sandbox.New(sandbox.Config{Faults: sandbox.Faults{FailFirst: 1000, Paths: []string{"/v1/tokens"}}})
	psrv := httptest.NewServer(psb)
	defer psrv.Close()
	primary, err := le.cs.OpenConnector(&payment.ConnectorSpec{Name: "primary", Type: "stripe", BaseURL: psrv.URL, APIKey: "sk_test_routing"})
	if err != nil {
		t.Fatal(err)
	}
	token := le.sendLink(t, primary, "ROUTE-RETRY", 700, "GBP", &payment.LinkTerms{
		Route: []payment.LinkHop{{Connector: backup.Name(), ConnectorKey: backup.Key()}}})
	le.sb.SetFaults(sandbox.Faults{LoseFirst: 10}) // the backup charges, but every answer of the first submission is lost
	if resp, body := le.post(t, token, "4242424242424242", expiry(), "123"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("first POST = %d, want 503 (not confirmed)\n%s", resp.StatusCode, body)
	}
	le.sb.SetFaults(sandbox.Faults{})
	paid := false
	for i := 0; i < 3 && !paid; i++ {
		resp, body := le.post(t, token, "4242424242424242", expiry(), "123")
		paid = resp.StatusCode == 200 && strings.Contains(body, "Payment received")
	}
	charges := 0
	for _, ch := range le.sb.Ledger() {
		if ch.Status == "succeeded" {
			charges++
		}
	}
	if !paid || charges != 1 || len(psb.Ledger()) != 0 {
		t.Fatalf("paid %v; %d charges on the backup, %d on the primary", paid, charges, len(psb.Ledger()))
	}
}

// A bank link closed by its declines says the account was declined, never a card; a card
// link still says the card.
func TestPaymentLinkClosedNamesWhatWasDeclined(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{MaxAttempts: 1})
	c := le.open(t, "generic")
	token := le.sendLink(t, c, "ACH-CLOSE", 1200, "USD", &payment.LinkTerms{PaymentMethod: payment.PaymentMethodACH})
	form := url.Values{"bank-routing-number": {"110000000"}, "bank-account-number": {"000222222227"},
		"bank-account-number-confirm": {"000222222227"}, "bank-account-type": {"consumer-checking"}}
	resp, body := le.postForm(t, token, form)
	if resp.StatusCode != http.StatusPaymentRequired || !strings.Contains(body, "bank account was declined too many times") || strings.Contains(body, "card") {
		t.Fatalf("closing decline: %d\n%s", resp.StatusCode, body)
	}
	if resp, body := le.get(t, token); resp.StatusCode != http.StatusGone || !strings.Contains(body, "bank account was declined") || strings.Contains(body, "card") {
		t.Fatalf("GET after closing: %d\n%s", resp.StatusCode, body)
	}
	card := le.sendLink(t, c, "CARD-CLOSE", 1200, "USD", nil)
	if resp, body := le.post(t, card, "4000000000000002", expiry(), "123"); resp.StatusCode != http.StatusPaymentRequired || !strings.Contains(body, "card was declined too many times") {
		t.Fatalf("card link closing decline: %d\n%s", resp.StatusCode, body)
	}
}
