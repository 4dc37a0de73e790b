package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/sandbox"
	"github.com/paybridge/paybridge/siptest"
	"github.com/paybridge/paybridge/store"
)

// linkLifecyclePlans: three Pay steps the caller abandons with '*', each falling back to a
// texted link that completes its session on the step's terms — an authorisation with an
// invoice, a bank debit, and a payment routed past a connector that is down.
const linkLifecyclePlans = `<CallPlan name="link-lifecycle">
  <Match number="+441632960710"/>
  <Match number="+441632960711"/>
  <Match number="+441632960712"/>
  <Connector name="provider" type="session" baseUrl="sandbox" account="demo-account">
    <ClientCredentials clientId="demo" clientSecret="#(env:LIFECYCLE_SECRET:-sandbox-secret)"/>
  </Connector>
  <Connector name="down" type="generic" baseUrl="DOWN_URL" account="acct-down" timeout="2s">
    <ClientCredentials clientId="demo" clientSecret="#(env:LIFECYCLE_SECRET:-sandbox-secret)"/>
  </Connector>
  <Flow>
    <Switch value="$(Call.To)">
      <Case is="+441632960710">
        <Pay connector="provider" method="authorize" amount="40.00" currency="GBP" reference="LHOLD-1" var="Pay">
          <Invoice id="INV-L1" description="Boiler service">
            <Line description="Service visit" amount="30.00"/>
            <Line description="Filter" amount="10.00"/>
          </Invoice>
        </Pay>
        <If test="$(Pay.Result) != success">
          <SendPaymentLink connector="provider" to="$(Call.From)" session="$(Pay.SessionId)"/>
        </If>
      </Case>
      <Case is="+441632960711">
        <Pay connector="provider" paymentMethod="ach-debit" bankAccountType="consumer-savings" amount="15.00" currency="USD" reference="LACH-1" var="Pay"/>
        <If test="$(Pay.Result) != success">
          <SendPaymentLink connector="provider" to="$(Call.From)" session="$(Pay.SessionId)"/>
        </If>
      </Case>
      <Case is="+441632960712">
        <Pay connector="down provider" amount="8.00" currency="GBP" reference="LROUTE-1" var="Pay"/>
        <If test="$(Pay.Result) != success">
          <SendPaymentLink connector="down" to="$(Call.From)" session="$(Pay.SessionId)"/>
        </If>
      </Case>
    </Switch>
    <Hangup/>
  </Flow>
</CallPlan>`

// postLink submits a payment page form and returns the status and page.
func postLink(t *testing.T, link string, form url.Values) (int, string) {
	t.Helper()
	r, err := http.PostForm(link, form)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, string(b)
}

// TestLinkLifecycleOnANode is issue 15's link channel end to end on a running node: three real
// SIP calls abandon their Pay step with '*' and are texted a link that completes the same
// session on the step's terms. The authorisation's page places a hold (recorded authorized
// with its expiry, the invoice on the page), captured and refunded through the admin API; the
// bank debit's page takes a routing number (ABA-checked) and an account number typed twice;
// the routed link's page goes past the connector that is down to the backup, once. Records,
// their history and webhooks agree with the sandbox's ledger field by field, and no digit of
// the card or the account is in the logs, the database or the pages.
func TestLinkLifecycleOnANode(t *testing.T) {
	sink := &webhookSink{t: t, secret: "link-lifecycle-webhook-secret"}
	recv := httptest.NewServer(sink)
	defer recv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String() // connection refused: nothing listens there
	l.Close()
	dir := t.TempDir()
	writePlan(t, dir, "link-lifecycle.xml", strings.Replace(linkLifecyclePlans, "DOWN_URL", down, 1))
	a, logs, stopNode := startNode(t, "--plans", dir, "--webhook-url", recv.URL, "--webhook-secret", sink.secret)
	stop := sync.OnceFunc(stopNode)
	defer stop()

	var wg sync.WaitGroup
	for _, to := range []string{"+441632960710", "+441632960711", "+441632960712"} {
		wg.Go(func() {
			res, err := siptest.Dial(context.Background(), siptest.CallerConfig{Target: fmt.Sprintf("sip:%s@%s", to, a.SIPAddr()),
				From: "+447700900123", Digits: "W *", Timeout: 60 * time.Second})
			if err != nil || !res.Answered {
				t.Errorf("%s: Dial = %+v, %v", to, res, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	ctx := context.Background()
	links := map[string]string{} // reference → link
	var texts []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && len(links) < 3; time.Sleep(50 * time.Millisecond) {
		sms, _ := a.Store().ListSMS(ctx, store.SMSFilter{})
		texts = texts[:0]
		for _, m := range sms {
			texts = append(texts, m.Body)
			if ref := regexp.MustCompile(`for (L\w+-1) `).FindStringSubmatch(m.Body); ref != nil {
				links[ref[1]] = regexp.MustCompile(`http://\S+/pay/\S+`).FindString(m.Body)
			}
		}
	}
	if len(links) != 3 {
		t.Fatalf("links texted: %v\n%s", texts, logs)
	}
	var pages []string // every page served, scanned for digits at the end
	get := func(link string) string {
		code, body := getWithToken(t, link, "")
		if code != 200 {
			t.Fatalf("GET %s = %d\n%s", link, code, body)
		}
		pages = append(pages, body)
		return body
	}
	post := func(link string, form url.Values) (int, string) {
		code, body := postLink(t, link, form)
		pages = append(pages, body)
		return code, body
	}
	card := url.Values{"cc-number": {"4242 4242 4242 4242"}, "cc-exp": {"12/30"}, "cc-csc": {"123"}}

	// 1. The authorisation: the page says so and shows the invoice; a hold is placed.
	hold := links["LHOLD-1"]
	if page := get(hold); !strings.Contains(page, "Authorise <span class=\"amount\">£40.00</span>") || !strings.Contains(page, `id="hold-note"`) ||
		!strings.Contains(page, "Invoice INV-L1") || !strings.Contains(page, "Service visit") || !strings.Contains(page, "cc-number") {
		t.Fatalf("authorisation page:\n%s", page)
	}
	if code, page := post(hold, card); code != 200 || !strings.Contains(page, "Payment authorised") || !strings.Contains(page, "The hold is released on") {
		t.Fatalf("POST authorisation = %d\n%s", code, page)
	}
	held := waitPayment(t, a, "LHOLD-1", func(p store.PaymentSession) bool { return p.Lifecycle != "" })
	if held.Channel != "link" || held.Result != "success" || held.Method != "authorize" || held.Lifecycle != "authorized" ||
		held.AuthorizedMinor != 4000 || held.CapturedMinor != 0 || !held.AuthorizedUntil.After(time.Now()) ||
		held.MaskedCard != "************4242" || held.Invoice == nil || held.Invoice.ID != "INV-L1" || held.Connector != "provider" {
		t.Fatalf("authorised link record %+v", held)
	}
	c := chargeOf(t, a, held.ID)
	if c.Method != "authorize" || c.Status != "authorized" || c.Amount != 4000 || c.Last4 != "4242" || c.Invoice == nil || c.Invoice.ID != "INV-L1" ||
		c.AuthorizedUntil.Sub(held.AuthorizedUntil).Abs() > time.Second {
		t.Errorf("ledger charge %+v vs record %+v", c, held)
	}
	agree(t, "link authorised", held, c)

	// Captured through the admin API, then part refunded.
	base := "/api/payments/" + held.ID
	code, ans := adminPost(t, a, base+"/capture", "lcap-1", ``)
	if code != 200 || ans.Operation.State != "succeeded" || ans.Payment.CapturedMinor != 4000 || ans.Payment.Lifecycle != "captured" {
		t.Fatalf("capture = %d %+v / %+v", code, ans.Operation, ans.Payment)
	}
	agree(t, "link captured", *ans.Payment, chargeOf(t, a, held.ID))
	code, ans = adminPost(t, a, base+"/refunds", "lref-1", `{"amount":"15.00","reason":"requested_by_customer"}`)
	if code != 200 || ans.Operation.State != "succeeded" || ans.Payment.RefundedMinor != 1500 || ans.Payment.Lifecycle != "partially_refunded" {
		t.Fatalf("refund = %d %+v / %+v", code, ans.Operation, ans.Payment)
	}
	c = chargeOf(t, a, held.ID)
	agree(t, "link refunded", *ans.Payment, c)
	var hist struct{ Items []store.HistoryEntry }
	adminGet(t, a, base+"/history", &hist)
	var lines []string
	var captured, refunded int64
	for _, h := range hist.Items {
		if h.Actor.Kind == "provider" {
			continue
		}
		lines = append(lines, h.Actor.Kind+":"+h.Action)
		switch h.Action {
		case "authorized":
			if h.AmountMinor != c.Authorized {
				t.Errorf("history authorised %d, ledger %d", h.AmountMinor, c.Authorized)
			}
		case "captured":
			captured += h.AmountMinor
		case "refunded":
			refunded += h.AmountMinor
		}
	}
	if strings.Join(lines, " ") != "customer:authorized admin:capture.requested admin:captured admin:refund.requested admin:refunded" ||
		captured != c.Captured || refunded != c.Refunded {
		t.Errorf("history %v (captured %d, refunded %d; ledger %d, %d)", lines, captured, refunded, c.Captured, c.Refunded)
	}

	// 2. The bank debit: the page asks for a bank account; a mistyped confirmation and a routing
	// number failing the ABA check are refused on the page (nothing sent); then it pays.
	ach := links["LACH-1"]
	if page := get(ach); !strings.Contains(page, `name="bank-routing-number"`) || !strings.Contains(page, `name="bank-account-number-confirm"`) ||
		strings.Contains(page, `name="cc-number"`) || !strings.Contains(page, `<option value="consumer-savings" selected>`) {
		t.Fatalf("bank page:\n%s", page)
	}
	bank := url.Values{"bank-routing-number": {"110000000"}, "bank-account-number": {"000123456789"},
		"bank-account-number-confirm": {"000123456780"}, "bank-account-type": {"consumer-savings"}}
	if code, page := post(ach, bank); code != http.StatusUnprocessableEntity || !strings.Contains(page, "the two account numbers differ") {
		t.Fatalf("mistyped confirmation = %d\n%s", code, page)
	}
	bank.Set("bank-account-number-confirm", "000123456789")
	bank.Set("bank-routing-number", "110000001")
	if code, page := post(ach, bank); code != http.StatusUnprocessableEntity || !strings.Contains(page, "this routing number is not valid") {
		t.Fatalf("bad routing number = %d\n%s", code, page)
	}
	for _, ch := range a.sandbox.Ledger() {
		if ch.Reference == "LACH-1" {
			t.Fatalf("a refused form reached the provider: %+v", ch)
		}
	}
	bank.Set("bank-routing-number", "110000000")
	if code, page := post(ach, bank); code != 200 || !strings.Contains(page, "Payment submitted") || !strings.Contains(page, "********6789") {
		t.Fatalf("POST bank = %d\n%s", code, page)
	}
	debit := waitPayment(t, a, "LACH-1", func(p store.PaymentSession) bool { return p.Result == "success" })
	bc := chargeOf(t, a, debit.ID)
	if debit.Channel != "link" || debit.PaymentMethod != "ach-debit" || debit.BankAccountType != "consumer-savings" ||
		debit.MaskedAccount != "********6789" || debit.MaskedCard != "" || debit.CardType != "" {
		t.Errorf("bank link record %+v", debit)
	}
	// Field by field against the sandbox's ledger.
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"payment method", debit.PaymentMethod, bc.PaymentMethod},
		{"account type", debit.BankAccountType, bc.AccountType},
		{"last four", debit.MaskedAccount[len(debit.MaskedAccount)-4:], bc.Last4},
		{"amount", debit.AmountMinor, bc.Amount},
		{"currency", debit.Currency, bc.Currency},
		{"captured", debit.CapturedMinor, bc.Captured},
		{"authorised", debit.AuthorizedMinor, bc.Authorized},
		{"reference", debit.Reference, bc.Reference},
		{"confirmation", debit.Confirmation, bc.ID},
		{"status", debit.Result, map[string]string{"succeeded": "success"}[bc.Status]},
	} {
		if fmt.Sprint(f.got) != fmt.Sprint(f.want) {
			t.Errorf("bank link %s: record %v, ledger %v", f.name, f.got, f.want)
		}
	}

	// 3. Routed: the link's own connector is down; the backup takes the payment, once.
	routed := links["LROUTE-1"]
	get(routed)
	if code, page := post(routed, card); code != 200 || !strings.Contains(page, "Payment received") {
		t.Fatalf("POST routed = %d\n%s", code, page)
	}
	rp := waitPayment(t, a, "LROUTE-1", func(p store.PaymentSession) bool { return p.Result == "success" })
	if rp.Channel != "link" || rp.Connector != "provider" || rp.Routes == nil || len(*rp.Routes) != 2 ||
		(*rp.Routes)[0].Connector != "down" || (*rp.Routes)[0].Outcome != "unavailable" || (*rp.Routes)[1].Connector != "provider" ||
		(*rp.Routes)[1].Outcome != "approved" || rp.CapturedMinor != 800 {
		t.Errorf("routed link record %+v routes %+v", rp, rp.Routes)
	}
	var onProvider []sandbox.Charge
	for _, ch := range a.sandbox.Ledger() {
		if ch.Reference == "LROUTE-1" {
			onProvider = append(onProvider, ch)
		}
	}
	if len(onProvider) != 1 || onProvider[0].Status != "succeeded" || onProvider[0].Amount != 800 || onProvider[0].SessionID != rp.ID {
		t.Errorf("the backup's ledger for the routed link: %+v (record %s)", onProvider, rp.ID)
	}
	agree(t, "routed link", rp, onProvider[0])
	if tl := timeline(t, a, rp.CallID); !strings.Contains(tl, "pay.routed") {
		t.Errorf("the call's timeline has no pay.routed:\n%s", tl)
	}

	// 4. Webhooks: the last about each payment carries its stored record.
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if countType(sink, "link.paid") >= 3 && countType(sink, "refund.succeeded") >= 1 && countType(sink, "payment.captured") >= 1 {
			break
		}
	}
	if n := countType(sink, "link.paid"); n != 3 {
		t.Errorf("%d link.paid webhooks, want 3", n)
	}
	if countType(sink, "payment.captured") != 1 || countType(sink, "refund.succeeded") != 1 {
		t.Errorf("webhooks: %d payment.captured, %d refund.succeeded; want 1 each", countType(sink, "payment.captured"), countType(sink, "refund.succeeded"))
	}
	for _, id := range []string{held.ID, debit.ID, rp.ID} {
		stored, _, err := a.Store().GetPayment(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		hook, n := sink.last(id)
		if n == 0 || hook.Lifecycle != stored.Lifecycle || hook.AuthorizedMinor != stored.AuthorizedMinor || hook.CapturedMinor != stored.CapturedMinor ||
			hook.RefundedMinor != stored.RefundedMinor || hook.Method != stored.Method || hook.PaymentMethod != stored.PaymentMethod ||
			hook.MaskedAccount != stored.MaskedAccount || hook.Connector != stored.Connector || hook.Channel != "link" {
			t.Errorf("last of %d webhooks about %s: %+v; stored %+v", n, id, hook, stored)
		}
	}
	stop()

	// No digit of the card or the account anywhere; the control proves the scan sees the masks.
	outputs := map[string][]byte{"logs": []byte(logs.String()), "pages": []byte(strings.Join(pages, "\n"))}
	for _, f := range []string{"paybridge.db", "paybridge.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(a.cfg.DataDir, f))
		outputs[f] = b
	}
	if db := append(outputs["paybridge.db"], outputs["paybridge.db-wal"]...); !bytes.Contains(db, []byte("********6789")) ||
		!bytes.Contains(db, []byte("************4242")) {
		t.Error("the control: the database does not even hold the masks, so the scan below could not see the numbers")
	}
	if !strings.Contains(string(outputs["pages"]), "********6789") {
		t.Error("the control: the pages do not show the account's mask")
	}
	for name, b := range outputs {
		for _, secret := range []string{"000123456789", "000123456780", "4242424242424242", "4242 4242 4242 4242"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds %s", name, secret)
			}
		}
	}
}
