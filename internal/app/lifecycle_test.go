package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/sandbox"
	"github.com/paybridge/paybridge/siptest"
	"github.com/paybridge/paybridge/store"
)

// lifecyclePlans are the plans of the lifecycle test: an authorisation with an invoice (captured
// and refunded later from the admin API), an authorisation the plan captures and partly
// refunds before hanging up, a bank debit keyed twice by phone, and a payment routed to a
// backup connector when the first one is down.
const lifecyclePlans = `<CallPlan name="lifecycle">
  <Match number="+441632960700"/>
  <Match number="+441632960701"/>
  <Match number="+441632960702"/>
  <Match number="+441632960703"/>
  <Connector name="provider" type="session" baseUrl="sandbox" account="demo-account">
    <ClientCredentials clientId="demo" clientSecret="#(env:LIFECYCLE_SECRET:-sandbox-secret)"/>
  </Connector>
  <Connector name="down" type="generic" baseUrl="DOWN_URL" account="acct-down" timeout="2s">
    <ClientCredentials clientId="demo" clientSecret="#(env:LIFECYCLE_SECRET:-sandbox-secret)"/>
  </Connector>
  <Flow>
    <Switch value="$(Call.To)">
      <Case is="+441632960700">
        <Pay connector="provider" method="authorize" amount="50.00" currency="GBP" reference="HOLD-1" var="Pay">
          <Invoice id="INV-77" description="Water, Q3">
            <Line description="Supply" quantity="2" amount="20.00"/>
            <Line description="Meter rent" amount="10.00"/>
            <Metadata name="customer" value="C-981"/>
          </Invoice>
        </Pay>
      </Case>
      <Case is="+441632960701">
        <Pay connector="provider" method="authorize" amount="30.00" currency="GBP" reference="HOLD-2" var="Pay"/>
        <If test="$(Pay.Result) == success">
          <Capture payment="$(Pay.SessionId)" var="Cap"/>
          <Refund payment="$(Pay.SessionId)" amount="5.00" reason="goodwill" var="Ref"/>
        </If>
      </Case>
      <Case is="+441632960702">
        <Pay connector="provider" paymentMethod="ach-debit" bankAccountType="consumer-savings" amount="12.00" currency="USD" reference="ACH-1" var="Pay">
          <Prompt for="bank-account-number" requireMatchingInputs="true" prompt="pay-bank-account-number-confirm"/>
        </Pay>
      </Case>
      <Case is="+441632960703">
        <Pay connector="down provider" amount="7.00" currency="GBP" reference="ROUTE-1" var="Pay"/>
      </Case>
    </Switch>
    <Hangup/>
  </Flow>
</CallPlan>`

// adminPost posts body to an admin API path with an idempotency key and returns the status and
// the decoded answer.
func adminPost(t *testing.T, a *App, path, key, body string) (int, console.OpAnswer) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+a.HTTPAddr()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out console.OpAnswer
	if resp.StatusCode < 300 && json.Unmarshal(b, &out) != nil {
		t.Fatalf("POST %s = %d %s", path, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// waitPayment waits for the record of the payment a call to `to` made, once pred holds.
func waitPayment(t *testing.T, a *App, ref string, pred func(store.PaymentSession) bool) store.PaymentSession {
	t.Helper()
	var last []store.PaymentSession
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		last, _ = a.Store().ListPayments(context.Background(), store.PaymentFilter{})
		for _, p := range last {
			if p.Reference == ref && pred(p) {
				return p
			}
		}
	}
	t.Fatalf("no payment %s as wanted: %+v", ref, last)
	return store.PaymentSession{}
}

// chargeOf returns the sandbox ledger's charge for a provider session.
func chargeOf(t *testing.T, a *App, session string) sandbox.Charge {
	t.Helper()
	var found []sandbox.Charge
	for _, c := range a.sandbox.Ledger() {
		if c.SessionID == session {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d charges in the sandbox ledger for session %s", len(found), session)
	}
	return found[0]
}

// agree checks that a stored record's money is the sandbox ledger's.
func agree(t *testing.T, name string, p store.PaymentSession, c sandbox.Charge) {
	t.Helper()
	if p.AuthorizedMinor != c.Authorized || p.CapturedMinor != c.Captured || p.RefundedMinor != c.Refunded || p.Currency != c.Currency {
		t.Errorf("%s: record authorised %d captured %d refunded %d %s; ledger %d %d %d %s", name,
			p.AuthorizedMinor, p.CapturedMinor, p.RefundedMinor, p.Currency, c.Authorized, c.Captured, c.Refunded, c.Currency)
	}
}

// TestLifecycleOnANode is issue 15 end to end on a running node, over real SIP calls and the
// admin API: authorize by phone (with an invoice), capture in two parts, a void refused after
// capture, concurrent refunds that never exceed the capture, the history as JSON and CSV;
// a plan that captures and refunds before hanging up; a bank debit keyed twice; a payment
// routed to the backup connector. Each record, its webhooks and its history agree with the
// sandbox provider's ledger.
func TestLifecycleOnANode(t *testing.T) {
	sink := &webhookSink{t: t, secret: "lifecycle-webhook-secret"}
	recv := httptest.NewServer(sink)
	defer recv.Close()
	// The "down" connector's provider: a port nothing listens on (connection refused).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close()
	dir := t.TempDir()
	writePlan(t, dir, "lifecycle.xml", strings.Replace(lifecyclePlans, "DOWN_URL", down, 1))
	a, logs, stopNode := startNode(t, "--plans", dir, "--webhook-url", recv.URL, "--webhook-secret", sink.secret)
	stop := sync.OnceFunc(stopNode)
	defer stop()

	calls := []struct{ to, keys string }{
		{"+441632960700", "4242424242424242# W 1230 W 123"},
		{"+441632960701", "5555555555554444# W 1230 W 123"},
		// The account number is keyed, then mistyped on confirmation, then keyed and confirmed.
		{"+441632960702", "110000000 W 000123456789# W 000123456780# W 000123456789# W 000123456789#"},
		{"+441632960703", "4242424242424242# W 1230 W 123"},
	}
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Go(func() {
			res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
				Target: fmt.Sprintf("sip:%s@%s", c.to, a.SIPAddr()), From: "+447700900123", Digits: c.keys, Timeout: 90 * time.Second,
			})
			if err != nil || !res.Answered {
				t.Errorf("%s: Dial = %+v, %v", c.to, res, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	ctx := context.Background()

	// 1. The authorisation: held, with its expiry and invoice, nothing captured.
	held := waitPayment(t, a, "HOLD-1", func(p store.PaymentSession) bool { return p.Lifecycle != "" })
	if held.Result != "success" || held.Method != "authorize" || held.Lifecycle != "authorized" || held.AuthorizedMinor != 5000 ||
		held.CapturedMinor != 0 || !held.AuthorizedUntil.After(time.Now()) || held.Invoice == nil || held.Invoice.ID != "INV-77" ||
		len(held.Invoice.Lines) != 2 || held.Invoice.Metadata["customer"] != "C-981" {
		t.Fatalf("authorised record %+v", held)
	}
	id := held.ID
	c := chargeOf(t, a, id)
	if c.Method != "authorize" || c.Invoice == nil || c.Invoice.ID != "INV-77" || !c.AuthorizedUntil.Equal(held.AuthorizedUntil.UTC()) &&
		c.AuthorizedUntil.Sub(held.AuthorizedUntil).Abs() > time.Second {
		t.Errorf("ledger charge %+v vs record until %v", c, held.AuthorizedUntil)
	}
	agree(t, "authorised", held, c)

	// 2. Capture 30.00, replay it, try 30.00 more (only 20.00 is left), then capture the rest.
	base := "/api/payments/" + id
	code, ans := adminPost(t, a, base+"/capture", "cap-1", `{"amount":"30.00"}`)
	if code != 200 || ans.Operation.State != "succeeded" || ans.Payment.CapturedMinor != 3000 || ans.Payment.Lifecycle != "partially_captured" {
		t.Fatalf("capture 30.00 = %d %+v / %+v", code, ans.Operation, ans.Payment)
	}
	if code, again := adminPost(t, a, base+"/capture", "cap-1", `{"amount":"30.00"}`); code != 200 || !again.Operation.Replayed ||
		again.Operation.OpID != ans.Operation.OpID {
		t.Fatalf("replayed capture = %d %+v", code, again.Operation)
	}
	if code, _ := adminPost(t, a, base+"/capture", "cap-2", `{"amount":"30.00"}`); code != http.StatusUnprocessableEntity {
		t.Fatalf("capture over the hold = %d, want 422", code)
	}
	if code, ans = adminPost(t, a, base+"/capture", "cap-3", ``); code != 200 || ans.Payment.CapturedMinor != 5000 || ans.Payment.Lifecycle != "captured" {
		t.Fatalf("capture the rest = %d %+v", code, ans.Payment)
	}
	if code, _ := adminPost(t, a, base+"/void", "void-1", ``); code != http.StatusConflict {
		t.Fatalf("void after capture = %d, want 409", code)
	}
	agree(t, "captured", *ans.Payment, chargeOf(t, a, id))

	// 3. Eight concurrent refunds of 10.00 against 50.00 captured: five succeed, three are refused.
	var ok, refused, other int
	var mu sync.Mutex
	for i := range 8 {
		wg.Go(func() {
			code, _ := adminPost(t, a, base+"/refunds", fmt.Sprintf("ref-%d", i), `{"amount":"10.00","reason":"requested_by_customer"}`)
			mu.Lock()
			defer mu.Unlock()
			switch code {
			case 200:
				ok++
			case http.StatusUnprocessableEntity, http.StatusConflict:
				refused++
			default:
				other++
			}
		})
	}
	wg.Wait()
	if ok != 5 || refused != 3 || other != 0 {
		t.Fatalf("concurrent refunds: %d ok, %d refused, %d other; want 5, 3, 0", ok, refused, other)
	}
	final, _, err := a.Store().GetPayment(ctx, id)
	if err != nil || final.RefundedMinor != 5000 || final.Lifecycle != "refunded" {
		t.Fatalf("after the refunds: %+v, %v", final, err)
	}
	c = chargeOf(t, a, id)
	agree(t, "refunded", *final, c)
	if len(c.Operations) != 2+5 {
		t.Errorf("the provider saw %d operations, want 7 (two captures, five refunds): %+v", len(c.Operations), c.Operations)
	}

	// 4. The history: the authorisation, two captures, five refunds, each by the admin token,
	// amounts adding up to the ledger's; the CSV export says the same.
	var hist struct{ Items []store.HistoryEntry }
	adminGet(t, a, base+"/history", &hist)
	var captured, refunded int64
	actions := map[string]int{}
	var ours []store.HistoryEntry // the lines of paybridge's own actions (the provider may add capture.settled)
	for i, h := range hist.Items {
		if h.Seq != i+1 || h.PaymentID != id {
			t.Errorf("history line %d: %+v", i, h)
		}
		if h.Actor.Kind == "provider" {
			if h.Action != "capture.settled" || h.Actor.ID != "sandbox" {
				t.Errorf("provider history line %+v", h)
			}
			continue
		}
		ours = append(ours, h)
		actions[h.Action]++
		switch h.Action {
		case "captured":
			captured += h.AmountMinor
		case "refunded":
			refunded += h.AmountMinor
		}
		if len(ours) > 1 && (h.Actor.Kind != "admin" || !strings.HasPrefix(h.Actor.ID, "admin-token@127.0.0.1")) {
			t.Errorf("history line %d actor %+v", i, h.Actor)
		}
	}
	if len(ours) != 1+4+10 || hist.Items[0].Action != "authorized" || hist.Items[0].AmountMinor != 5000 || captured != c.Captured ||
		refunded != c.Refunded || actions["capture.requested"] != 2 || actions["captured"] != 2 || actions["refund.requested"] != 5 || actions["refunded"] != 5 {
		t.Errorf("history %v (captured %d, refunded %d) vs ledger %d, %d:\n%+v", actions, captured, refunded, c.Captured, c.Refunded, hist.Items)
	}
	if last := hist.Items[len(hist.Items)-1]; last.State != "refunded" {
		t.Errorf("the last history line says the payment is %q", last.State)
	}
	code, body := getWithToken(t, "http://"+a.HTTPAddr()+base+"/history.csv", testAdminToken)
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if code != 200 || err != nil || len(rows) != len(hist.Items)+1 || strings.Join(rows[0], ",") != strings.Join(console.HistoryCSVHeader, ",") {
		t.Fatalf("history.csv = %d %v\n%s", code, err, body)
	}
	for i, row := range rows[1:] {
		h := hist.Items[i]
		if row[1] != id || row[5] != h.Action || row[7] != h.Currency || row[9] != h.State {
			t.Errorf("CSV row %d %v vs %+v", i, row, h)
		}
	}

	// 5. The plan that captured and refunded before hanging up.
	planned := waitPayment(t, a, "HOLD-2", func(p store.PaymentSession) bool { return p.RefundedMinor > 0 })
	if planned.Lifecycle != "partially_refunded" || planned.CapturedMinor != 3000 || planned.RefundedMinor != 500 {
		t.Errorf("plan-captured record %+v", planned)
	}
	agree(t, "plan", planned, chargeOf(t, a, planned.ID))
	var ph struct{ Items []store.HistoryEntry }
	adminGet(t, a, "/api/payments/"+planned.ID+"/history", &ph)
	var planLines []string
	for _, h := range ph.Items {
		if h.Actor.Kind == "provider" {
			continue
		}
		planLines = append(planLines, h.Action)
		if h.Actor.Kind != "plan" || !strings.Contains(h.Actor.ID, planned.CallID) {
			t.Errorf("plan history line %+v", h)
		}
	}
	if strings.Join(planLines, " ") != "authorized capture.requested captured refund.requested refunded" {
		t.Errorf("plan history %+v", ph.Items)
	}

	// 6. The bank debit: masked, the ledger's, the mismatch asked again.
	ach := waitPayment(t, a, "ACH-1", func(p store.PaymentSession) bool { return p.Result != "" })
	if ach.Result != "success" || ach.PaymentMethod != "ach-debit" || ach.BankAccountType != "consumer-savings" ||
		ach.MaskedAccount != "********6789" || ach.MaskedCard != "" || ach.CapturedMinor != 1200 || ach.Currency != "USD" {
		t.Errorf("bank record %+v", ach)
	}
	if bc := chargeOf(t, a, ach.ID); bc.PaymentMethod != "ach-debit" || bc.AccountType != "consumer-savings" || bc.Last4 != "6789" {
		t.Errorf("bank charge %+v", bc)
	}
	if tl := timeline(t, a, ach.CallID); !strings.Contains(tl, "input-matching-failed") {
		t.Errorf("the timeline does not show the mismatch:\n%s", tl)
	}

	// 7. Routed: the first connector down, the backup took the payment, once.
	routed := waitPayment(t, a, "ROUTE-1", func(p store.PaymentSession) bool { return p.Result != "" })
	if routed.Result != "success" || routed.Connector != "provider" || routed.Routes == nil || len(*routed.Routes) != 2 ||
		(*routed.Routes)[0].Connector != "down" || (*routed.Routes)[1].Connector != "provider" {
		t.Errorf("routed record %+v routes %+v", routed, routed.Routes)
	}
	chargeOf(t, a, routed.ID)

	// 8. Webhooks: one per operation; the last about each payment carries its stored record.
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if countType(sink, "refund.succeeded") >= 6 && countType(sink, "payment.captured") >= 3 {
			break
		}
	}
	if n := countType(sink, "payment.captured"); n != 3 {
		t.Errorf("%d payment.captured webhooks, want 3", n)
	}
	if n := countType(sink, "refund.succeeded"); n != 6 {
		t.Errorf("%d refund.succeeded webhooks, want 6", n)
	}
	stored, _, _ := a.Store().GetPayment(ctx, id)
	if hook, n := sink.last(id); n == 0 || hook.RefundedMinor != stored.RefundedMinor || hook.CapturedMinor != stored.CapturedMinor || hook.Lifecycle != stored.Lifecycle {
		t.Errorf("last of %d webhooks about %s: %+v; stored %+v", n, id, hook, stored)
	}
	// The payment's own list of deliveries (console, GET /api/payments/{id}) holds its
	// lifecycle webhooks too, not only the one of the call's Pay step.
	about, err := a.Store().WebhooksAbout(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]int{}
	for _, h := range about {
		listed[h.Event]++
	}
	if listed["payment.captured"] == 0 || listed["refund.succeeded"] == 0 {
		t.Errorf("the deliveries listed with %s: %v — its capture and refunds are missing", id, listed)
	}
	stop()

	// No bank account or card digits anywhere: logs, database.
	outputs := map[string][]byte{"logs": []byte(logs.String())}
	for _, f := range []string{"paybridge.db", "paybridge.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(a.cfg.DataDir, f))
		outputs[f] = b
	}
	if db := append(outputs["paybridge.db"], outputs["paybridge.db-wal"]...); !bytes.Contains(db, []byte("********6789")) ||
		!bytes.Contains(db, []byte("************4444")) {
		t.Error("the control: the database does not even hold the masks, so the scan below could not see the numbers")
	}
	for name, b := range outputs {
		for _, secret := range []string{"000123456789", "000123456780", "4242424242424242", "5555555555554444"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds %s", name, secret)
			}
		}
	}
}

// countType counts the webhooks of a type, each event once (delivery is at least once: a
// receiver dedupes on the event id).
func countType(s *webhookSink, typ string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, ev := range s.events {
		if ev.Type == typ {
			seen[ev.ID] = true
		}
	}
	return len(seen)
}

// timeline returns a call's recorded events, one per line.
func timeline(t *testing.T, a *App, callID string) string {
	t.Helper()
	_, evs, err := a.Store().GetCall(context.Background(), callID)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%s %s\n", e.Type, e.Fields)
	}
	return b.String()
}
