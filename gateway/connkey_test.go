package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
)

func TestConnectorKey(t *testing.T) {
	base := payment.ConnectorSpec{Plan: "pay-bill", Name: "provider", Type: "session", BaseURL: "https://pay.example.com",
		Account: "m-1", ClientCredentials: &payment.ClientCredentials{TokenURL: "https://pay.example.com/t", ClientID: "c", ClientSecret: "s1"}}
	k := ConnectorKey(base)
	if !strings.HasPrefix(k, "pay-bill/provider#") || len(k) != len("pay-bill/provider#")+16 {
		t.Fatalf("key %q", k)
	}
	with := func(f func(*payment.ConnectorSpec)) string {
		s := base
		cc := *base.ClientCredentials
		s.ClientCredentials = &cc
		f(&s)
		return ConnectorKey(s)
	}
	// A rotated secret or a new timeout is the same provider account: the same key.
	if with(func(s *payment.ConnectorSpec) { s.ClientCredentials.ClientSecret = "s2"; s.Timeout = time.Second }) != k {
		t.Error("rotating the client secret changed the key")
	}
	// Another plan, another provider, account or client is another connector.
	for name, f := range map[string]func(*payment.ConnectorSpec){
		"plan":     func(s *payment.ConnectorSpec) { s.Plan = "pay" },
		"base URL": func(s *payment.ConnectorSpec) { s.BaseURL = "https://other.example.com" },
		"account":  func(s *payment.ConnectorSpec) { s.Account = "m-2" },
		"client":   func(s *payment.ConnectorSpec) { s.ClientCredentials.ClientID = "c2" },
		"type":     func(s *payment.ConnectorSpec) { s.Type = "generic" },
	} {
		if with(f) == k {
			t.Errorf("changing the %s kept the key", name)
		}
	}
	// A stripe key is the account itself: another key, another connector; it is never in the key.
	st := payment.ConnectorSpec{Plan: "p", Name: "cards", Type: "stripe", BaseURL: "https://api.stripe.example", APIKey: "sk_live_aaaa"}
	st2 := st
	st2.APIKey = "sk_live_bbbb"
	if ConnectorKey(st) == ConnectorKey(st2) || strings.Contains(ConnectorKey(st), "sk_live") {
		t.Errorf("stripe keys: %s %s", ConnectorKey(st), ConnectorKey(st2))
	}
}

// twoProviders is two sandboxes and one Connectors holding plan A's and plan B's connector,
// both named "provider": the bundled examples all call their connector that.
type twoProviders struct {
	a, b   *env
	sbB    *sandbox.Provider
	cs     *Connectors
	ca, cb *Connector
}

func newTwoProviders(t *testing.T) *twoProviders {
	a := newEnv(t, sandbox.Config{})
	sbB := sandbox.New(sandbox.Config{})
	srvB := httptest.NewServer(sbB)
	t.Cleanup(srvB.Close)
	tp := &twoProviders{a: a, sbB: sbB, cs: a.cs}
	var err error
	tp.ca, err = a.cs.OpenConnector(&payment.ConnectorSpec{Plan: "plan-a", Name: "provider", BaseURL: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	tp.cb, err = a.cs.OpenConnector(&payment.ConnectorSpec{Plan: "plan-b", Name: "provider", BaseURL: srvB.URL, Account: "b-merchant",
		ClientCredentials: &payment.ClientCredentials{ClientID: "b", ClientSecret: "b-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	if tp.ca.Key() == tp.cb.Key() {
		t.Fatalf("two providers, one key %s", tp.ca.Key())
	}
	return tp
}

// TestSameNameTwoProvidersResolveByKey: opening plan B's "provider" does not replace plan A's;
// each resolves by its key, and the bare name — which names both — resolves to neither.
func TestSameNameTwoProvidersResolveByKey(t *testing.T) {
	tp := newTwoProviders(t)
	for _, c := range []*Connector{tp.ca, tp.cb} {
		got, err := tp.cs.Resolve(c.Key(), "provider")
		if err != nil || got != c {
			t.Errorf("Resolve(%s) = %v, %v", c.Key(), got, err)
		}
	}
	if _, err := tp.cs.Resolve("", "provider"); err == nil || !strings.Contains(err.Error(), "names 2 connectors") {
		t.Errorf("Resolve by an ambiguous name: %v", err)
	}
	if _, err := tp.cs.Resolve("plan-a/provider#0000000000000000", "provider"); err == nil {
		t.Error("an unknown key resolved")
	}
}

// TestReconcileAsksTheProviderThatWasPaid: after a crash, an attempt made through plan A's
// "provider" is settled with plan A's provider, even when plan B's "provider" was opened
// last (by name, reconciliation asked B, found nothing, and recorded a charge A holds as
// "never received").
func TestReconcileAsksTheProviderThatWasPaid(t *testing.T) {
	tp := newTwoProviders(t)
	ctx := context.Background()
	tp.a.sb.SetFaults(sandbox.Faults{LoseFirst: 3, Paths: []string{"/globalpci/v1/session/"}})
	_, err := tp.ca.Pay(ctx, &payment.Request{CallID: "call-a", IdempotencyKey: "key-a", Channel: "voice",
		Amount: payment.Amount{Minor: 1500, Currency: "GBP"}, Card: card(t, "4242424242424242", "123")})
	if err == nil {
		t.Fatal("the answer was not lost")
	}
	tp.a.sb.SetFaults(sandbox.Faults{})
	// A restart: the plans' connectors reopened, plan B's last.
	cs2 := NewConnectors(ConnectorsConfig{SandboxURL: tp.a.srv.URL, Attempts: tp.a.store, Backoff: time.Millisecond})
	for _, c := range []*Connector{tp.ca, tp.cb} {
		spec := c.spec
		if _, err := cs2.Open(&spec); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := ReconcileWith(ctx, tp.a.store, cs2, ReconcileOptions{Grace: time.Nanosecond})
	if err != nil || rep.Approved != 1 || rep.NotSent != 0 {
		t.Fatalf("reconcile %+v, %v", rep, err)
	}
	a, _ := tp.a.store.GetAttempt(ctx, "key-a")
	if a.State != AttemptApproved || a.ConnectorKey != tp.ca.Key() || a.Channel != "voice" || a.Result.ConfirmationCode == "" {
		t.Fatalf("attempt %+v", a)
	}
	if n := len(tp.sbB.Ledger()); n != 0 {
		t.Fatalf("plan B's provider holds %d charges", n)
	}
}

// TestLinkPaysAtItsOwnProvider: a link sent through plan A's "provider" is stored with A's
// key, and its page pays at A's provider though plan B's "provider" was opened after it (by
// name, the page paid at B).
func TestLinkPaysAtItsOwnProvider(t *testing.T) {
	tp := newTwoProviders(t)
	links := NewLinks(LinksConfig{Store: tp.a.store, SMS: NewOutboxSender(tp.a.store), Connectors: tp.cs})
	pages := httptest.NewServer(links)
	defer pages.Close()
	links.cfg.BaseURL = pages.URL
	ctx := context.Background()
	res, err := links.SendPaymentLink(ctx, &payment.LinkRequest{CallID: "call-a", Connector: "provider", ConnectorKey: tp.ca.Key(),
		To: "+447700900123", CallerID: "+447700900123", Amount: payment.Amount{Minor: 1000, Currency: "GBP"}, Reference: "A-1"})
	if err != nil {
		t.Fatal(err)
	}
	// Plan B's connector opens again (a call of plan B, a reload): it must not take over.
	specB := tp.cb.spec
	if _, err := tp.cs.Open(&specB); err != nil {
		t.Fatal(err)
	}
	out := tp.a.store.Outbox()
	m := linkRE.FindStringSubmatch(out[len(out)-1].Body)
	if m == nil {
		t.Fatal("no link texted")
	}
	hash, _ := ParseLinkToken(m[1])
	if l, err := tp.a.store.LinkByHash(ctx, hash); err != nil || l.ConnectorKey != tp.ca.Key() {
		t.Fatalf("stored link %+v, %v", l, err)
	}
	resp, err := http.PostForm(pages.URL+"/pay/"+m[1], url.Values{"cc-number": {"4242 4242 4242 4242"}, "cc-exp": {"12/30"}, "cc-csc": {"123"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST link: %v %v", resp, err)
	}
	resp.Body.Close()
	charges := tp.a.sb.Ledger()
	if len(charges) != 1 || charges[0].SessionID != res.SessionID || charges[0].Status != "succeeded" || charges[0].Amount != 1000 {
		t.Fatalf("plan A's provider holds %+v (session %s)", charges, res.SessionID)
	}
	if n := len(tp.sbB.Ledger()); n != 0 {
		t.Fatalf("plan B's provider was charged %d time(s)", n)
	}
}
