package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/paybridge/paybridge/sandbox"
	"github.com/paybridge/paybridge/siptest"
	"github.com/paybridge/paybridge/store"
)

// TestTwoPlansOneConnectorNameTwoProviders is issue 10's second finding, end to end: two plans
// each name their connector "provider" — plan A the embedded sandbox, plan B another sandbox.
// A caller of each abandons the keypad and is texted a link; each link is then paid. Every
// session, link, attempt and payment record names its connector by key, and each payment lands
// at its own plan's provider (by name, plan A's link was created and charged at plan B's).
func TestTwoPlansOneConnectorNameTwoProviders(t *testing.T) {
	sbB := sandbox.New(sandbox.Config{})
	provB := httptest.NewServer(http.StripPrefix("/b", sbB))
	defer provB.Close()
	dir := t.TempDir()
	plan := func(name, number, connector, amount, ref string) {
		src := fmt.Sprintf(`<CallPlan name=%q><Match number=%q/>%s
<Flow><Pay connector="provider" amount=%q currency="GBP" reference=%q/>
<If test="$(Pay.Result) != success"><SendPaymentLink connector="provider" to="$(Call.From)" session="$(Pay.SessionId)"/></If>
<Hangup/></Flow></CallPlan>`, name, number, connector, amount, ref)
		if err := os.WriteFile(filepath.Join(dir, name+".xml"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plan("plan-a", "+441632960601", `<Connector name="provider" baseUrl="sandbox"/>`, "10.00", "A-REF")
	plan("plan-b", "+441632960602", `<Connector name="provider" baseUrl="`+provB.URL+`/b" account="b-merchant">
  <ClientCredentials clientId="plan-b" clientSecret="#(env:PLAN_B_SECRET:-b-secret)"/></Connector>`, "20.00", "B-REF")
	a, logs, stop := startNode(t, "--plans", dir)
	defer stop()
	ctx := context.Background()

	link := map[string]string{}
	for _, c := range []struct{ name, number, from string }{
		{"plan-a", "+441632960601", "+447700900111"}, {"plan-b", "+441632960602", "+447700900222"},
	} {
		res, err := siptest.Dial(ctx, siptest.CallerConfig{Target: fmt.Sprintf("sip:%s@%s", c.number, a.SIPAddr()), From: c.from,
			Digits: "4242*", Timeout: 60 * time.Second})
		if err != nil || !res.Answered {
			t.Fatalf("%s: %+v %v", c.name, res, err)
		}
		for deadline := time.Now().Add(10 * time.Second); link[c.name] == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if sms, _ := a.Store().ListSMS(ctx, store.SMSFilter{To: c.from}); len(sms) == 1 {
				link[c.name] = regexp.MustCompile(`http://\S+/pay/\S+`).FindString(sms[0].Body)
			}
		}
		if link[c.name] == "" {
			t.Fatalf("%s: no link texted\n%s", c.name, logs)
		}
	}
	// Plan A's link is paid after plan B's connector opened last.
	for _, name := range []string{"plan-a", "plan-b"} {
		r, err := http.PostForm(link[name], url.Values{"cc-number": {"4242 4242 4242 4242"}, "cc-exp": {"12/30"}, "cc-csc": {"123"}})
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("%s: POST link = %v, %v\n%s", name, r, err, logs)
		}
		r.Body.Close()
	}

	chargesA, chargesB := a.sandbox.Ledger(), sbB.Ledger()
	if len(chargesA) != 1 || chargesA[0].Amount != 1000 || chargesA[0].Reference != "A-REF" {
		t.Errorf("plan A's provider: %+v", chargesA)
	}
	if len(chargesB) != 1 || chargesB[0].Amount != 2000 || chargesB[0].Reference != "B-REF" {
		t.Errorf("plan B's provider: %+v", chargesB)
	}
	var recs []store.PaymentSession
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if recs, _ = a.Store().ListPayments(ctx, store.PaymentFilter{Result: "success"}); len(recs) == 2 {
			break
		}
	}
	keys := map[string]string{} // reference → connector key
	for _, p := range recs {
		keys[p.Reference] = p.ConnectorKey
		charge := chargesA
		if p.Reference == "B-REF" {
			charge = chargesB
		}
		if len(charge) != 1 || charge[0].SessionID != p.ProviderSessionID {
			t.Errorf("record %s (session %s) is not the charge of its provider %+v", p.Reference, p.ProviderSessionID, charge)
		}
		_, atts, err := a.Store().GetPayment(ctx, p.ID)
		if err != nil || len(atts) != 1 || atts[0].ConnectorKey != p.ConnectorKey || atts[0].Channel != "link" {
			t.Errorf("%s: attempts %+v, %v", p.Reference, atts, err)
		}
		ls, _ := a.Store().ListLinks(ctx, store.LinkFilter{SessionID: p.ID})
		if len(ls) != 1 || ls[0].ConnectorKey != p.ConnectorKey {
			t.Errorf("%s: links %+v", p.Reference, ls)
		}
	}
	if len(recs) != 2 || keys["A-REF"] == "" || keys["B-REF"] == "" || keys["A-REF"] == keys["B-REF"] ||
		!regexp.MustCompile(`^plan-a/provider#`).MatchString(keys["A-REF"]) || !regexp.MustCompile(`^plan-b/provider#`).MatchString(keys["B-REF"]) {
		t.Fatalf("records %+v", recs)
	}
}
