package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
)

// linkEnv is a sandbox, connectors and a Links served on a real listener.
type linkEnv struct {
	*env
	links *Links
	pages *httptest.Server
	mu    sync.Mutex
	seen  strings.Builder // every page body served, for the PAN scan
}

func newLinkEnv(t *testing.T, cfg LinksConfig) *linkEnv {
	e := newEnv(t, sandbox.Config{})
	le := &linkEnv{env: e}
	mux := http.NewServeMux()
	le.pages = httptest.NewServer(mux)
	t.Cleanup(le.pages.Close)
	cfg.BaseURL = le.pages.URL
	cfg.Store = e.store
	if cfg.SMS == nil {
		cfg.SMS = NewOutboxSender(e.store)
	}
	cfg.Connectors = e.cs
	cfg.Events = e.events
	cfg.Logger = e.cs.cfg.Logger
	le.links = NewLinks(cfg)
	mux.Handle("/pay/", le.links)
	return le
}

var linkRE = regexp.MustCompile(`https?://[^ ]+/pay/([A-Za-z0-9_-]+)`)

func (le *linkEnv) lastToken(t *testing.T) string {
	t.Helper()
	out := le.store.Outbox()
	if len(out) == 0 {
		t.Fatal("no SMS in the outbox")
	}
	m := linkRE.FindStringSubmatch(out[len(out)-1].Body)
	if m == nil {
		t.Fatalf("no link in the SMS %q", out[len(out)-1].Body)
	}
	return m[1]
}

func (le *linkEnv) get(t *testing.T, token string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(le.pages.URL + "/pay/" + token)
	if err != nil {
		t.Fatal(err)
	}
	return le.read(t, resp)
}

func (le *linkEnv) post(t *testing.T, token, pan, exp, csc string) (*http.Response, string) {
	t.Helper()
	form := url.Values{"cc-number": {pan}, "cc-exp": {exp}, "cc-csc": {csc}, "postal-code": {"SW1A 1AA"}}
	resp, err := http.PostForm(le.pages.URL+"/pay/"+token, form)
	if err != nil {
		t.Fatal(err)
	}
	return le.read(t, resp)
}

func (le *linkEnv) read(t *testing.T, resp *http.Response) (*http.Response, string) {
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	le.mu.Lock()
	le.seen.Write(b)
	le.mu.Unlock()
	return resp, string(b)
}

func expiry() string { return fmt.Sprintf("12/%02d", (time.Now().Year()+2)%100) }

func TestPaymentLinkCompletesTheVoiceSession(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{Merchant: payment.Merchant{Name: "Acme Water"}})
	c := le.open(t, "session")
	ctx := context.Background()
	amt := payment.Amount{Minor: 1234, Currency: "GBP"}
	// The call started a voice session and the caller gave up on the keypad.
	sess, err := c.StartSession(ctx, &payment.SessionRequest{CallID: "call-1", Amount: amt, Reference: "12345678"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := le.links.SendPaymentLink(ctx, &payment.LinkRequest{CallID: "call-1", Connector: c.Name(),
		To: "+447700900123", CallerID: "+447700900123", Amount: amt, Reference: "12345678", SessionID: sess.ID, TTL: 72 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if res.SessionID != sess.ID || res.LinkID == "" || res.MessageID == "" {
		t.Fatalf("link result %+v", res)
	}
	token := le.lastToken(t)
	if len(token) != linkTokenLen {
		t.Fatalf("token length %d", len(token))
	}
	// The token is stored only hashed.
	for _, l := range le.store.Links() {
		if strings.Contains(fmt.Sprintf("%+v", l), token) {
			t.Fatal("the link store holds the token itself")
		}
	}
	// GET, twice (an SMS app's preview, then the customer): the form both times.
	for i := 0; i < 2; i++ {
		resp, body := le.get(t, token)
		if resp.StatusCode != 200 || !strings.Contains(body, `autocomplete="cc-number"`) || !strings.Contains(body, "£12.34") {
			t.Fatalf("GET %d: %d\n%s", i, resp.StatusCode, body)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(body, "<script") {
			t.Fatalf("CSP %q / script on the page", csp)
		}
		if resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("headers %v", resp.Header)
		}
		for _, want := range []string{`<label for="cc-number">`, `<label for="cc-exp">`, `<label for="cc-csc">`,
			`inputmode="numeric"`, `autocomplete="cc-exp"`, `autocomplete="cc-csc"`, `lang="en"`} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %s", want)
			}
		}
	}
	// A form error does not count and does not consume.
	resp, body := le.post(t, token, "4242 4242 4242 4241", expiry(), "123")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "not valid") {
		t.Fatalf("bad number: %d %s", resp.StatusCode, body)
	}
	// A decline shows the form again.
	resp, body = le.post(t, token, "4000 0000 0000 9995", expiry(), "123")
	if resp.StatusCode != http.StatusPaymentRequired || !strings.Contains(body, "insufficient funds") {
		t.Fatalf("decline: %d %s", resp.StatusCode, body)
	}
	// Then a good card pays, into the same session.
	resp, body = le.post(t, token, "4242-4242-4242-4242", expiry(), "123")
	if resp.StatusCode != 200 || !strings.Contains(body, "Payment received") {
		t.Fatalf("pay: %d %s", resp.StatusCode, body)
	}
	st, err := c.StartSession(ctx, &payment.SessionRequest{SessionID: sess.ID})
	if err != nil || st.State != SessionCompleted {
		t.Fatalf("session after the link: %+v %v", st, err)
	}
	// Used: GET and POST say so.
	if resp, _ := le.get(t, token); resp.StatusCode != http.StatusGone {
		t.Fatalf("GET after use: %d", resp.StatusCode)
	}
	if resp, _ := le.post(t, token, "4242424242424242", expiry(), "123"); resp.StatusCode != http.StatusGone {
		t.Fatalf("POST after use: %d", resp.StatusCode)
	}
	succeeded := 0
	for _, ch := range le.sb.Ledger() {
		if ch.Status == "succeeded" {
			succeeded++
			if ch.SessionID != sess.ID {
				t.Fatalf("charged into session %s, want %s", ch.SessionID, sess.ID)
			}
		}
	}
	if succeeded != 1 {
		t.Fatalf("%d successful charges", succeeded)
	}
	// No output anywhere holds a card number; the SMS holds no card data either.
	assertNoPAN(t, "pages", le.seen.String())
	assertNoPAN(t, "logs", le.logs.String())
	assertNoPAN(t, "outbox", fmt.Sprintf("%+v", le.store.Outbox()))
	evs, err := json.Marshal(le.events.ev) // JSON: %v would print the typed events' pointers, not their fields
	if err != nil || !strings.Contains(string(evs), `"maskedCard":"************`) {
		t.Fatalf("events %s: %v", evs, err) // the control: the scan below sees the events' card fields
	}
	assertNoPAN(t, "events", string(evs))
	assertNoPAN(t, "attempts", fmt.Sprintf("%+v", le.store.Attempts()))
}

func TestPaymentLinkBadTokensRevealNothing(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{})
	c := le.open(t, "stripe")
	ctx := context.Background()
	le.links.cfg.Now = func() time.Time { return time.Now() }
	if _, err := le.links.SendPaymentLink(ctx, &payment.LinkRequest{CallID: "c", Connector: c.Name(), To: "+447700900123",
		CallerID: "+447700900123", Amount: payment.Amount{Minor: 500, Currency: "GBP"}, Reference: "SECRETREF", TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	good := le.lastToken(t)
	tampered := []byte(good)
	if tampered[5] == 'A' {
		tampered[5] = 'B'
	} else {
		tampered[5] = 'A'
	}
	cases := map[string]string{
		"unknown":   strings.Repeat("A", linkTokenLen),
		"tampered":  string(tampered),
		"short":     good[:20],
		"long":      good + "A",
		"bad chars": strings.Repeat("!", linkTokenLen),
	}
	for name, tok := range cases {
		resp, body := le.get(t, url.PathEscape(tok))
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "not valid") || strings.Contains(body, "SECRETREF") {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
	// Expired: move the clock past the TTL.
	le.links.cfg.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	resp, body := le.get(t, good)
	if resp.StatusCode != http.StatusGone || !strings.Contains(body, "expired") || strings.Contains(body, "SECRETREF") {
		t.Fatalf("expired: %d %s", resp.StatusCode, body)
	}
	if resp, _ := le.post(t, good, "4242424242424242", expiry(), "123"); resp.StatusCode != http.StatusGone {
		t.Fatalf("POST expired: %d", resp.StatusCode)
	}
}

// Many simultaneous submissions of one link: exactly one charge.
func TestPaymentLinkConcurrentSubmitsChargeOnce(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{ClientLimit: 1000, SubmitLimit: 1000})
	c := le.open(t, "stripe")
	le.sb.SetFaults(sandbox.Faults{Latency: 30 * time.Millisecond})
	if _, err := le.links.SendPaymentLink(context.Background(), &payment.LinkRequest{CallID: "c", Connector: c.Name(),
		To: "+447700900123", CallerID: "+447700900123", Amount: payment.Amount{Minor: 500, Currency: "GBP"}, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	token := le.lastToken(t)
	var wg sync.WaitGroup
	codes := make(chan int, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := le.post(t, token, "4242424242424242", expiry(), "123")
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	ok := 0
	for code := range codes {
		switch code {
		case 200:
			ok++
		case http.StatusConflict, http.StatusGone:
		default:
			t.Errorf("unexpected status %d", code)
		}
	}
	if ok != 1 {
		t.Fatalf("%d submissions paid, want 1", ok)
	}
	if n := len(le.sb.Ledger()); n != 1 {
		t.Fatalf("%d charges in the sandbox ledger, want 1", n)
	}
}

func TestPaymentLinkTooManyDeclinesCloses(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{MaxAttempts: 2})
	c := le.open(t, "generic")
	if _, err := le.links.SendPaymentLink(context.Background(), &payment.LinkRequest{CallID: "c", Connector: c.Name(),
		To: "+447700900123", CallerID: "+447700900123", Amount: payment.Amount{Minor: 500, Currency: "GBP"}, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	token := le.lastToken(t)
	if resp, _ := le.post(t, token, "4000000000000002", expiry(), "123"); resp.StatusCode != http.StatusPaymentRequired {
		t.Fatalf("first decline: %d", resp.StatusCode)
	}
	resp, body := le.post(t, token, "4000000000000002", expiry(), "123")
	if resp.StatusCode != http.StatusPaymentRequired || !strings.Contains(body, "no longer be used") {
		t.Fatalf("second decline: %d %s", resp.StatusCode, body)
	}
	if resp, _ := le.get(t, token); resp.StatusCode != http.StatusGone {
		t.Fatalf("GET after failing: %d", resp.StatusCode)
	}
}

// The provider not answering leaves the link usable, and the retry reuses the idempotency key.
func TestPaymentLinkProviderTroubleRetriesSameKey(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{})
	c := le.open(t, "stripe")
	if _, err := le.links.SendPaymentLink(context.Background(), &payment.LinkRequest{CallID: "c", Connector: c.Name(),
		To: "+447700900123", CallerID: "+447700900123", Amount: payment.Amount{Minor: 500, Currency: "GBP"}, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	token := le.lastToken(t)
	le.sb.SetFaults(sandbox.Faults{LoseFirst: 3, Paths: []string{"/v1/charges"}})
	resp, body := le.post(t, token, "4242424242424242", expiry(), "123")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "not be charged twice") {
		t.Fatalf("trouble: %d %s", resp.StatusCode, body)
	}
	resp, _ = le.post(t, token, "4242424242424242", expiry(), "123")
	if resp.StatusCode != 200 {
		t.Fatalf("retry: %d", resp.StatusCode)
	}
	if n := len(le.sb.Ledger()); n != 1 {
		t.Fatalf("%d charges, want 1", n)
	}
}

func TestSMSGuard(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{Guard: GuardConfig{DailyCap: 2}})
	c := le.open(t, "stripe")
	send := func(trusted []string, to, caller string) error {
		_, err := le.links.SendPaymentLink(context.Background(), &payment.LinkRequest{CallID: "c", Connector: c.Name(), To: to,
			CallerID: caller, TrustedNumbers: trusted, Amount: payment.Amount{Minor: 100, Currency: "GBP"}, TTL: time.Hour})
		return err
	}
	cases := []struct {
		name       string
		trusted    []string
		to, caller string
		want       error
	}{
		{"caller's own number", nil, "+447700900123", "+447700900123", nil},
		{"caller's own number, spaced", nil, "+44 7700 900123", "+447700900123", nil},
		{"stranger", nil, "+447700900999", "+447700900123", ErrSMSRefused},
		{"stranger beside a looked-up number", []string{"+447700900998"}, "+447700900999", "+447700900123", ErrSMSRefused},
		{"looked-up number", []string{"12.34", "+44 7700 900999"}, "+447700900999", "+447700900123", nil},
		{"premium country", []string{"+8821234567890"}, "+8821234567890", "+447700900123", ErrSMSRefused},
		{"not a number", nil, "call me", "call me", ErrSMSRefused},
		{"daily cap", nil, "+447700900123", "+447700900123", ErrSMSCap},
	}
	for _, tc := range cases {
		if err := send(tc.trusted, tc.to, tc.caller); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestPaymentPageRateLimit(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{ClientLimit: 5})
	got429 := false
	for i := 0; i < 10; i++ {
		resp, _ := le.get(t, strings.Repeat("A", linkTokenLen))
		if resp.StatusCode == http.StatusTooManyRequests {
			got429 = true
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			if i < 5 {
				t.Fatalf("limited after %d requests", i)
			}
		}
	}
	if !got429 {
		t.Fatal("10 requests in a burst were never limited")
	}
}

func TestHTTPSenderAgainstSandbox(t *testing.T) {
	e := newEnv(t, sandbox.Config{Basic: map[string]string{"AC1": "tok"}})
	s := NewHTTPSender(e.srv.URL+"/sms/Messages", "AC1", "tok", "PAYBRIDGE")
	id, err := s.SendSMS(context.Background(), &SMS{To: "+447700900123", Body: "hello"})
	if err != nil || !strings.HasPrefix(id, "SM") {
		t.Fatalf("send: %q %v", id, err)
	}
	msgs := e.sb.Messages()
	if len(msgs) != 1 || msgs[0].To != "+447700900123" || msgs[0].From != "PAYBRIDGE" || msgs[0].Body != "hello" {
		t.Fatalf("sandbox got %+v", msgs)
	}
	bad := NewHTTPSender(e.srv.URL+"/sms/Messages", "AC1", "wrong", "X")
	if _, err := bad.SendSMS(context.Background(), &SMS{To: "+447700900123", Body: "x"}); !errors.Is(err, ErrSMSSend) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := s.SendSMS(context.Background(), &SMS{To: "07700", Body: "x"}); !errors.Is(err, ErrSMSSend) {
		t.Fatalf("bad number: %v", err)
	}
}

func TestPaymentLinkRefusesEndedSession(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{})
	c := le.open(t, "session")
	ctx := context.Background()
	amt := payment.Amount{Minor: 100, Currency: "GBP"}
	s, err := c.StartSession(ctx, &payment.SessionRequest{CallID: "c", Amount: amt})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pay(ctx, &payment.Request{CallID: "c", SessionID: s.ID, IdempotencyKey: "k", Amount: amt,
		Card: card(t, "4242424242424242", "123")}); err != nil {
		t.Fatal(err)
	}
	_, err = le.links.SendPaymentLink(ctx, &payment.LinkRequest{CallID: "c", Connector: c.Name(), To: "+447700900123",
		CallerID: "+447700900123", Amount: amt, SessionID: s.ID, TTL: time.Hour})
	if !errors.Is(err, ErrProviderRejected) || len(le.store.Outbox()) != 0 {
		t.Fatalf("link for a paid session: %v, outbox %d", err, len(le.store.Outbox()))
	}
}

// The caller paid by phone after the link was texted: the link page says so, without changing
// the link, and a submission cannot pay twice.
func TestPaymentLinkAfterVoicePayment(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{})
	c := le.open(t, "session")
	ctx := context.Background()
	amt := payment.Amount{Minor: 700, Currency: "GBP"}
	s, err := c.StartSession(ctx, &payment.SessionRequest{CallID: "c", Amount: amt})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := le.links.SendPaymentLink(ctx, &payment.LinkRequest{CallID: "c", Connector: c.Name(), To: "+447700900123",
		CallerID: "+447700900123", Amount: amt, SessionID: s.ID, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	token := le.lastToken(t)
	if _, err := c.Pay(ctx, &payment.Request{CallID: "c", SessionID: s.ID, IdempotencyKey: "voice", Amount: amt,
		Card: card(t, "5555555555554444", "123")}); err != nil {
		t.Fatal(err)
	}
	if resp, body := le.get(t, token); resp.StatusCode != http.StatusGone || !strings.Contains(body, "already been used") {
		t.Fatalf("GET after the voice payment: %d %s", resp.StatusCode, body)
	}
	if resp, _ := le.post(t, token, "4242424242424242", expiry(), "123"); resp.StatusCode != http.StatusGone {
		t.Fatalf("POST after the voice payment: %d", resp.StatusCode)
	}
	if n := len(le.sb.Ledger()); n != 1 {
		t.Fatalf("%d charges, want 1", n)
	}
}

func TestSMSDailyCapUnderConcurrency(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{Guard: GuardConfig{DailyCap: 3}})
	c := le.open(t, "stripe")
	var wg sync.WaitGroup
	var sent, capped atomic.Int32
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := le.links.SendPaymentLink(context.Background(), &payment.LinkRequest{CallID: "c", Connector: c.Name(),
				To: "+447700900123", CallerID: "+447700900123", Amount: payment.Amount{Minor: 100, Currency: "GBP"}, TTL: time.Hour})
			switch {
			case err == nil:
				sent.Add(1)
			case errors.Is(err, ErrSMSCap):
				capped.Add(1)
			default:
				t.Errorf("send: %v", err)
			}
		}()
	}
	wg.Wait()
	if sent.Load() != 3 || capped.Load() != 9 || len(le.store.Outbox()) != 3 {
		t.Fatalf("sent %d, capped %d, outbox %d; want 3, 9, 3", sent.Load(), capped.Load(), len(le.store.Outbox()))
	}
	if body := le.store.Outbox()[0].Body; strings.Contains(body, "for  ") || !strings.Contains(body, "£1.00 securely") {
		t.Fatalf("SMS text %q", body)
	}
}

// TestSMSDailyCapAcrossNodes: two nodes (two Links) share one store, as a cluster shares its
// PostgreSQL database, and text one number at once: together they send the cap, not the cap
// each. The store's CreateLinkCapped is the one step both go through; a lock in each process
// would let them overshoot.
func TestSMSDailyCapAcrossNodes(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{Guard: GuardConfig{DailyCap: 3}})
	c := le.open(t, "stripe")
	// A database answers a count in a while, not at once: room for the other node to count too.
	shared := slowCounts{le.store}
	le.links.cfg.Store = shared
	other := NewLinks(LinksConfig{BaseURL: le.pages.URL, Store: shared, SMS: NewOutboxSender(le.store),
		Connectors: le.cs, Guard: GuardConfig{DailyCap: 3}})
	var wg sync.WaitGroup
	var sent, capped atomic.Int32
	start := make(chan struct{})
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := []*Links{le.links, other}[i%2].SendPaymentLink(context.Background(), &payment.LinkRequest{CallID: "c",
				Connector: c.Name(), To: "+447700900123", CallerID: "+447700900123",
				Amount: payment.Amount{Minor: 100, Currency: "GBP"}, TTL: time.Hour})
			switch {
			case err == nil:
				sent.Add(1)
			case errors.Is(err, ErrSMSCap):
				capped.Add(1)
			default:
				t.Errorf("send: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if sent.Load() != 3 || capped.Load() != 13 || len(le.store.Links()) != 3 {
		t.Fatalf("sent %d, capped %d, links %d; want 3, 13, 3", sent.Load(), capped.Load(), len(le.store.Links()))
	}
}

// slowCounts is a store whose link counts take a few milliseconds to come back.
type slowCounts struct{ *MemoryStore }

func (s slowCounts) CountLinksTo(ctx context.Context, to string, since time.Time) (int, error) {
	n, err := s.MemoryStore.CountLinksTo(ctx, to, since)
	time.Sleep(20 * time.Millisecond)
	return n, err
}

func TestPaymentPathsWithoutToken(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{})
	for _, p := range []string{"/pay/", "/pay/a/b"} {
		resp, err := http.Get(le.pages.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		_, body := le.read(t, resp)
		if resp.StatusCode != 404 || !strings.Contains(body, "not valid") || resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: %d %q", p, resp.StatusCode, body)
		}
	}
}

func TestPaymentLinkRejectsOversizedAndForeignPosts(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{})
	c := le.open(t, "stripe")
	if _, err := le.links.SendPaymentLink(context.Background(), &payment.LinkRequest{CallID: "c", Connector: c.Name(),
		To: "+447700900123", CallerID: "+447700900123", Amount: payment.Amount{Minor: 100, Currency: "GBP"}, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	token := le.lastToken(t)
	big := "cc-number=4242424242424242&pad=" + strings.Repeat("x", maxFormBody)
	resp, err := http.Post(le.pages.URL+"/pay/"+token, "application/x-www-form-urlencoded", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := le.read(t, resp); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("oversized: %d", resp.StatusCode)
	}
	resp, err = http.Post(le.pages.URL+"/pay/"+token, "application/json", strings.NewReader(`{"cc-number":"4242424242424242"}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := le.read(t, resp); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("JSON post: %d", resp.StatusCode)
	}
	if resp, _ := le.get(t, token); resp.StatusCode != 200 {
		t.Fatalf("link no longer usable: %d", resp.StatusCode)
	}
	assertNoPAN(t, "pages", le.seen.String())
}

// The provider charged but its answer was lost; the customer, told "not confirmed", submits
// again — with another card. The retry finds the first charge by key and shows it paid: the
// customer is not charged twice, and the second card is never sent.
func TestPaymentLinkLostAnswerThenOtherCard(t *testing.T) {
	for _, typ := range []string{"session", "stripe"} {
		t.Run(typ, func(t *testing.T) {
			le := newLinkEnv(t, LinksConfig{})
			le.cs.cfg.Timeout = 500 * time.Millisecond
			c := le.open(t, typ)
			if _, err := le.links.SendPaymentLink(context.Background(), &payment.LinkRequest{CallID: "c", Connector: c.Name(),
				To: "+447700900123", CallerID: "+447700900123", Amount: payment.Amount{Minor: 100, Currency: "GBP"}, TTL: time.Hour}); err != nil {
				t.Fatal(err)
			}
			token := le.lastToken(t)
			le.sb.SetFaults(sandbox.Faults{LoseFirst: 3, Paths: []string{"/v1/charges", "/globalpci/v1/session/"}})
			if resp, _ := le.post(t, token, "4242424242424242", expiry(), "123"); resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("lost answer: %d", resp.StatusCode)
			}
			le.sb.SetFaults(sandbox.Faults{})
			resp, body := le.post(t, token, "5555555555554444", expiry(), "123")
			if resp.StatusCode != 200 || !strings.Contains(body, "Payment received") {
				t.Fatalf("second submission: %d %s", resp.StatusCode, body)
			}
			led := le.sb.Ledger()
			if len(led) != 1 || led[0].Last4 != "4242" {
				t.Fatalf("ledger %+v", led)
			}
		})
	}
}

// Without a lost answer, a provider refusal counts as a try and the next submission works.
func TestPaymentLinkRejectedThenRetried(t *testing.T) {
	le := newLinkEnv(t, LinksConfig{})
	c := le.open(t, "session")
	if _, err := le.links.SendPaymentLink(context.Background(), &payment.LinkRequest{CallID: "c", Connector: c.Name(),
		To: "+447700900123", CallerID: "+447700900123", Amount: payment.Amount{Minor: 100, Currency: "GBP"}, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	token := le.lastToken(t)
	le.sb.SetFaults(sandbox.Faults{FailFirst: 1, FailStatus: 400, Paths: []string{"/globalpci/v1/session/"}})
	if resp, _ := le.post(t, token, "4242424242424242", expiry(), "123"); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("rejected: %d", resp.StatusCode)
	}
	if resp, _ := le.post(t, token, "4242424242424242", expiry(), "123"); resp.StatusCode != 200 {
		t.Fatalf("retry after a rejection: %d", resp.StatusCode)
	}
}

// A link for an invoice shows the invoice on its page, and the payment carries it to the
// provider's ledger and to the payment event, through each connector type.
func TestPaymentLinkCarriesTheInvoice(t *testing.T) {
	for _, typ := range []string{"session", "generic", "stripe"} {
		t.Run(typ, func(t *testing.T) {
			le := newLinkEnv(t, LinksConfig{Merchant: payment.Merchant{Name: "Acme Water"}})
			c := le.open(t, typ)
			ctx := context.Background()
			inv := &payment.Invoice{ID: "INV-2030-0042", Description: "Water, Q3", Metadata: map[string]string{"customer": "C-981"},
				Lines: []payment.InvoiceLine{{Description: "Supply", Quantity: 1, AmountMinor: 2000}, {Description: "Meter rent", Quantity: 2, AmountMinor: 500}}}
			amt := payment.Amount{Minor: 3000, Currency: "GBP"}
			if _, err := le.links.SendPaymentLink(ctx, &payment.LinkRequest{CallID: "c", Connector: c.Name(), To: "+447700900123",
				CallerID: "+447700900123", Amount: amt, Reference: "12345678", TTL: time.Hour, Invoice: inv}); err != nil {
				t.Fatal(err)
			}
			token := le.lastToken(t)
			resp, body := le.get(t, token)
			if resp.StatusCode != 200 {
				t.Fatalf("GET: %d %s", resp.StatusCode, body)
			}
			for _, want := range []string{"Invoice INV-2030-0042", "Water, Q3", "<td>Supply</td><td>1</td><td>£20.00</td>",
				"<td>Meter rent</td><td>2</td><td>£5.00</td>"} {
				if !strings.Contains(body, want) {
					t.Errorf("the page lacks %q:\n%s", want, body)
				}
			}
			if resp, body := le.post(t, token, "4242424242424242", expiry(), "123"); resp.StatusCode != 200 {
				t.Fatalf("pay: %d %s", resp.StatusCode, body)
			}
			led := le.sb.Ledger()
			if len(led) != 1 || led[0].Invoice == nil || led[0].Invoice.ID != "INV-2030-0042" {
				t.Fatalf("provider ledger %+v", led)
			}
			if typ != "stripe" && (len(led[0].Invoice.Lines) != 2 || led[0].Invoice.Lines[1].Amount != "5.00") {
				t.Fatalf("provider invoice lines %+v", led[0].Invoice.Lines)
			}
			var got *event.Invoice
			le.events.mu.Lock()
			for _, ev := range le.events.ev {
				if p := event.PaymentOf(ev.Data); p != nil && p.Result == "success" {
					got = p.Invoice
				}
			}
			le.events.mu.Unlock()
			if got == nil || got.ID != "INV-2030-0042" || len(got.Lines) != 2 || got.Lines[1].AmountMinor != 500 || got.Metadata["customer"] != "C-981" {
				t.Fatalf("payment event invoice %+v", got)
			}
			// The stored link keeps the invoice (a restart still shows it).
			if ls := le.store.Links(); len(ls) != 1 || ls[0].Invoice == nil || ls[0].Invoice.ID != "INV-2030-0042" {
				t.Fatalf("stored link %+v", ls)
			}
		})
	}
}
