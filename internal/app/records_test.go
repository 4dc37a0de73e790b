package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
	"github.com/paybridge/paybridge/siptest"
	"github.com/paybridge/paybridge/store"
)

// webhookSink records the signed webhooks a node posts, after checking their signatures.
type webhookSink struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	events []gateway.WebhookEvent
}

func (s *webhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := gateway.VerifySignature(r.Header.Get(gateway.SignatureHeader), body, s.secret, 5*time.Minute); err != nil {
		s.t.Errorf("webhook signature: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var ev gateway.WebhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		s.t.Errorf("webhook body %s: %v", body, err)
	}
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// last returns the data of the last webhook about payment id, and how many there were.
func (s *webhookSink) last(id string) (store.PaymentSession, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p store.PaymentSession
	n := 0
	for _, ev := range s.events {
		var d store.PaymentSession
		if json.Unmarshal(ev.Data, &d) == nil && d.ID == id {
			p, n = d, n+1
		}
	}
	return p, n
}

func (s *webhookSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

// adminGet fetches an admin API path into out.
func adminGet(t *testing.T, a *App, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+a.HTTPAddr()+path, nil)
	req.Header.Set("Authorization", "Bearer test-admin-token-0123456789abcdef")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(b, out) != nil {
		t.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
	}
}

// sandboxSession asks the sandbox provider, as any client would, what it holds for a session.
func sandboxSession(t *testing.T, a *App, id string) gateway.SessionStatus {
	t.Helper()
	base := "http://" + a.HTTPAddr() + "/sandbox"
	resp, err := http.PostForm(base+"/auth/connect/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"records-test"}, "client_secret": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ := http.NewRequest("GET", base+"/globalpci/v1/session/"+url.PathEscape(id), nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st gateway.SessionStatus
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&st) != nil {
		t.Fatalf("sandbox session %s: HTTP %d", id, resp.StatusCode)
	}
	return st
}

// TestPaymentRecordsAgreeWithTheLedger is the records contract of issue 9, end to end on a
// running node: four calls to the pay-bill plan over real SIP and RTP — a success, a decline,
// a caller who presses '*', and a caller who presses '*' and then pays the texted link — and
// for each payment, the stored record, the /api/payments answer, the last signed webhook and
// the console's totals agree with the sandbox provider's ledger, field by field.
func TestPaymentRecordsAgreeWithTheLedger(t *testing.T) {
	sink := &webhookSink{t: t, secret: "records-webhook-secret"}
	recv := httptest.NewServer(sink)
	defer recv.Close()
	a, logs, stop := startNode(t, "--webhook-url", recv.URL, "--webhook-secret", sink.secret)
	defer stop()

	calls := []struct{ name, keys string }{
		{"success", "87654321# W 4242424242424242# 1230 123"},
		{"decline", "12345678# W 4000000000000002# 1230 123"},
		{"star", "87654321# W 4242*"},
		{"star-then-link", "12345678# W 5555*"},
	}
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Go(func() {
			res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
				Target: fmt.Sprintf("sip:+441632960000@%s", a.SIPAddr()), From: "+447700900123",
				Digits: c.keys, Timeout: 90 * time.Second,
			})
			if err != nil || !res.Answered {
				t.Errorf("%s: Dial = %+v, %v", c.name, res, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	ctx := context.Background()

	// The caller of the last call pays the link texted to the mobile of account 12345678.
	var link string
	for deadline := time.Now().Add(10 * time.Second); link == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		sms, _ := a.Store().ListSMS(ctx, store.SMSFilter{To: "+447700900123"})
		if len(sms) == 1 {
			link = regexp.MustCompile(`http://\S+/pay/\S+`).FindString(sms[0].Body)
		}
	}
	if link == "" {
		t.Fatalf("no link texted to +447700900123\n%s", logs)
	}
	r, err := http.PostForm(link, url.Values{"cc-number": {"5555 5555 5555 4444"}, "cc-exp": {"12/30"}, "cc-csc": {"123"}})
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("POST link = %v, %v", r, err)
	}
	r.Body.Close()

	// Everything is recorded and every webhook delivered (5: four Pay ends and the link).
	var recs []store.PaymentSession
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		recs, _ = a.Store().ListPayments(ctx, store.PaymentFilter{})
		if len(recs) == 4 && sink.count() >= 5 && countResult(recs, "success") == 2 {
			break
		}
	}
	if len(recs) != 4 || sink.count() != 5 {
		t.Fatalf("%d records, %d webhooks:\n%+v\n%s", len(recs), sink.count(), recs, logs)
	}
	byCase := map[string]store.PaymentSession{}
	for _, p := range recs {
		switch {
		case p.Channel == "link":
			byCase["star-then-link"] = p
		case p.Result == "success":
			byCase["success"] = p
		case p.ErrorCode != "":
			byCase["decline"] = p
		case p.Result == "caller-interrupted-with-star":
			byCase["star"] = p
		}
	}
	if len(byCase) != 4 {
		t.Fatalf("records do not cover the four cases: %+v", recs)
	}

	var api struct{ Items []store.PaymentSession }
	adminGet(t, a, "/api/payments", &api)
	fromAPI := map[string]store.PaymentSession{}
	for _, p := range api.Items {
		fromAPI[p.ID] = p
	}
	ledger := a.sandbox.Ledger()
	charges := map[string]sandbox.Charge{}
	for _, c := range ledger {
		if _, dup := charges[c.SessionID]; dup {
			t.Errorf("two charges in the ledger for session %s", c.SessionID)
		}
		charges[c.SessionID] = c
	}
	if len(ledger) != 3 {
		t.Errorf("ledger has %d charges, want 3 (success, decline, link): %+v", len(ledger), ledger)
	}

	type want struct {
		amount                    int64
		reference, state, channel string
		result, errorCode         string
		card, brand               string
		charged                   bool
	}
	wants := map[string]want{
		"success":        {25000, "87654321", "completed", "voice", "success", "", "************4242", "visa", true},
		"decline":        {1234, "12345678", "failed", "voice", "payment-connector-error", "card_declined", "************0002", "visa", true},
		"star":           {25000, "87654321", "failed", "voice", "caller-interrupted-with-star", "", "", "", false},
		"star-then-link": {1234, "12345678", "completed", "link", "success", "", "************4444", "mastercard", true},
	}
	collected := int64(0)
	for name, w := range wants {
		p := byCase[name]
		check := func(field string, got, want any) {
			t.Helper()
			if got != want {
				t.Errorf("%s: %s = %v, want %v", name, field, got, want)
			}
		}
		// The record carries every fact of the payment, whatever its outcome.
		check("amount_minor", p.AmountMinor, w.amount)
		check("currency", p.Currency, "GBP")
		check("reference", p.Reference, w.reference)
		check("connector", p.Connector, "provider")
		check("channel", p.Channel, w.channel)
		check("state", p.State, w.state)
		check("result", p.Result, w.result)
		check("error_code", p.ErrorCode, w.errorCode)
		check("masked_card", p.MaskedCard, w.card)
		check("card_type", p.CardType, w.brand)
		check("provider_session_id", p.ProviderSessionID, p.ID)
		if p.CallID == "" || p.ProviderSessionID == "" {
			t.Errorf("%s: record without call or provider session: %+v", name, p)
		}
		// /api/payments answers the record as stored; the last webhook about it carries it too.
		if got, ok := fromAPI[p.ID]; !ok || got != p {
			t.Errorf("%s: /api/payments has\n %+v\nstore has\n %+v", name, got, p)
		}
		hook, n := sink.last(p.ID)
		if n == 0 || hook != p {
			t.Errorf("%s: last of %d webhooks carries\n %+v\nstore has\n %+v", name, n, hook, p)
		}
		// The provider's ledger holds the same facts.
		c, charged := charges[p.ProviderSessionID]
		check("charged", charged, w.charged)
		if charged {
			check("ledger amount", c.Amount, p.AmountMinor)
			check("ledger currency", c.Currency, p.Currency)
			check("ledger reference", c.Reference, p.Reference)
			check("ledger last4", "************"+c.Last4, p.MaskedCard)
			check("ledger brand", c.Brand, p.CardType)
			check("ledger decline_code", c.DeclineCode, p.ErrorCode)
			check("ledger status", c.Status == "succeeded", p.State == "completed")
			if c.Status == "succeeded" {
				check("ledger charge id", c.ID, p.Confirmation)
				collected += c.Amount
			}
		} else {
			// Nothing was charged; the provider's session holds the amount and reference.
			st := sandboxSession(t, a, p.ProviderSessionID)
			check("session amount", st.Amount+" "+st.Currency, gateway.FormatAmount(payment.Amount{Minor: p.AmountMinor, Currency: p.Currency})+" "+p.Currency)
			check("session reference", st.MerchantTxnRef, p.Reference)
			check("session state", st.SessionState, gateway.SessionCreated)
		}
	}
	// The console's figures are the ledger's.
	var stats store.Stats
	adminGet(t, a, "/api/stats", &stats)
	if stats.Collected["GBP"] != collected || len(stats.Collected) != 1 || collected != 25000+1234 {
		t.Errorf("console collected %v, ledger captured %d GBP", stats.Collected, collected)
	}
	if stats.Payments["success"] != 2 || stats.Payments["payment-connector-error"] != 1 || stats.Payments["caller-interrupted-with-star"] != 1 {
		t.Errorf("console payments by result %v", stats.Payments)
	}
	t.Logf("records checked against the ledger: %d (%d charges, %d abandoned session)", len(wants), len(ledger), len(wants)-len(ledger))
	if strings.Contains(logs.String(), "5555555555554444") {
		t.Error("card digits in the logs")
	}
}

func countResult(ps []store.PaymentSession, result string) int {
	n := 0
	for _, p := range ps {
		if p.Result == result {
			n++
		}
	}
	return n
}
