package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/internal/pgtemp"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
	"github.com/paybridge/paybridge/siptest"
	"github.com/paybridge/paybridge/store"
)

// Nodes sharing a PostgreSQL database, in-process: the cluster of throwaway PostgreSQL is started
// on first use and removed when the package's tests end.

var (
	pgOnce    sync.Once
	pgCluster *pgtemp.Cluster
	pgErr     error
	pgSeq     atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pgCluster != nil {
		pgCluster.Stop()
	}
	os.Exit(code)
}

func testDatabase(t *testing.T) string {
	t.Helper()
	pgOnce.Do(func() { pgCluster, pgErr = pgtemp.Start(context.Background(), pgtemp.Options{}) })
	if pgErr != nil {
		t.Fatalf("PostgreSQL test cluster: %v", pgErr)
	}
	u, err := pgCluster.CreateDB(context.Background(), fmt.Sprintf("app%d_%s", pgSeq.Add(1), pgtemp.Ident(t.Name())))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// clusterPlan pays on one number and texts a payment link on another, through a provider the
// nodes share.
func clusterPlan(t *testing.T, provider string) string {
	t.Helper()
	dir := t.TempDir()
	src := fmt.Sprintf(`<CallPlan name="cluster"><Match number="+441632960801"/><Match number="+441632960802"/>
<Connector name="provider" baseUrl=%q account="cluster-merchant"><ClientCredentials clientId="c" clientSecret="#(env:C_SECRET:-c-secret)"/></Connector>
<Flow><If test="$(Call.To) == +441632960802"><SendPaymentLink connector="provider" to="$(Call.From)" amount="4.00" currency="GBP" reference="LINK-1" var="Link"/><Hangup/></If>
<Pay connector="provider" amount="3.00" currency="GBP" reference="CL-$(Call.Id)" securityCode="true" postalCode="false"/><Hangup/></Flow></CallPlan>`, provider)
	if err := os.WriteFile(filepath.Join(dir, "cluster.xml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func dialPay(t *testing.T, a *App, number string) {
	t.Helper()
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{Target: fmt.Sprintf("sip:%s@%s", number, a.SIPAddr()),
		From: "+447700900123", Digits: "4242424242424242#W1230#W123#", Timeout: 60 * time.Second})
	if err != nil || !res.Answered {
		t.Fatalf("Dial %s = %+v, %v", number, res, err)
	}
}

// TestClusterTwoNodes: two nodes on one PostgreSQL database. A third process with a live node's
// id is refused. A call paid on n1 shows live on n2's console, labelled n1, and n2's API lists
// n1's call and payment. A link texted by n1 is paid through n2's payment page; paying it
// again on n1 is refused.
func TestClusterTwoNodes(t *testing.T) {
	prov := sandbox.New(sandbox.Config{})
	provSrv := httptest.NewServer(prov)
	defer provSrv.Close()
	db, plans := testDatabase(t), clusterPlan(t, provSrv.URL)
	n1, logs1, stop1 := startNode(t, "--db", db, "--node-id", "n1", "--plans", plans, "--rtp-ports", "41300-41400")
	defer stop1()
	n2, logs2, stop2 := startNode(t, "--db", db, "--node-id", "n2", "--plans", plans, "--rtp-ports", "41400-41500")
	defer stop2()

	old := registerWait
	registerWait = time.Second
	cfg, _ := ParseConfig([]string{"--sip-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--data", t.TempDir(),
		"--db", db, "--node-id", "n1", "--plans", plans}, func(string) string { return "" }, io.Discard)
	if _, err := New(context.Background(), cfg, func(string) string { return "" }, io.Discard); err == nil ||
		!strings.Contains(err.Error(), `node id "n1" is in use by a live node`) {
		t.Fatalf("a second live n1 = %v", err)
	}
	registerWait = old

	sub, _ := n2.hub.Subscribe()
	defer sub.Close()
	dialPay(t, n1, "+441632960801")
	var callID string
	seen := map[string]bool{}
	for deadline := time.After(20 * time.Second); !seen["pay.completed"]; {
		select {
		case msg := <-sub.C():
			var e event.Event
			if err := json.Unmarshal(msg, &e); err != nil {
				t.Fatal(err)
			}
			if e.Node != "n1" {
				t.Fatalf("n2's feed shows an event of node %q: %s", e.Node, msg)
			}
			seen[e.Type()] = true
			callID = e.CallID
			if strings.Contains(string(msg), "4242424242424242") {
				t.Fatalf("feed carries a card number: %s", msg)
			}
		case <-deadline:
			t.Fatalf("n2's live feed did not show n1's payment (saw %v)\n%s", seen, logs1)
		}
	}
	if !seen["call.answered"] {
		t.Errorf("n2's feed missed n1's call.answered: %v", seen)
	}
	var calls struct{ Items []store.Call }
	adminGet(t, n2, "/api/calls?node=n1", &calls)
	if len(calls.Items) != 1 || calls.Items[0].ID != callID || calls.Items[0].Node != "n1" {
		t.Fatalf("n2's /api/calls?node=n1 = %+v", calls.Items)
	}
	var pays struct{ Items []store.PaymentSession }
	for deadline := time.Now().Add(10 * time.Second); len(pays.Items) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		adminGet(t, n2, "/api/payments?node=n1", &pays)
	}
	if len(pays.Items) != 1 || pays.Items[0].Result != "success" || pays.Items[0].CallID != callID {
		t.Fatalf("n2's /api/payments?node=n1 = %+v", pays.Items)
	}
	var nodes struct {
		Items []struct {
			store.Node
			Alive bool
		}
	}
	adminGet(t, n2, "/api/nodes", &nodes)
	if len(nodes.Items) != 2 || !nodes.Items[0].Alive || !nodes.Items[1].Alive {
		t.Fatalf("nodes = %+v", nodes.Items)
	}

	// The link: texted by n1, paid on n2, refused on n1.
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{Target: fmt.Sprintf("sip:+441632960802@%s", n1.SIPAddr()),
		From: "+447700900123", Timeout: 30 * time.Second})
	if err != nil || !res.Answered {
		t.Fatalf("link call = %+v, %v", res, err)
	}
	var sms struct{ Items []store.SMS }
	for deadline := time.Now().Add(10 * time.Second); len(sms.Items) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		adminGet(t, n2, "/api/sms", &sms)
	}
	m := regexp.MustCompile(`/pay/([A-Za-z0-9_-]+)`).FindStringSubmatch(fmt.Sprint(sms.Items))
	if m == nil {
		t.Fatalf("no link in n2's view of the outbox: %+v\n%s", sms.Items, logs1)
	}
	pay := func(a *App) (int, string) {
		form := url.Values{"cc-number": {"4242424242424242"}, "cc-exp": {fmt.Sprintf("12/%02d", (time.Now().Year()+2)%100)},
			"cc-csc": {"123"}, "postal-code": {"SW1A 1AA"}}
		resp, err := http.PostForm("http://"+a.HTTPAddr()+"/pay/"+m[1], form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := pay(n2); code != 200 || !strings.Contains(body, "Payment received") {
		t.Fatalf("paying n1's link on n2 = %d\n%s\n%s", code, body, logs2)
	}
	if code, body := pay(n1); code != http.StatusGone || !strings.Contains(body, "already been used") {
		t.Fatalf("paying it again on n1 = %d\n%s", code, body)
	}
	var charges []sandbox.Charge
	for _, c := range prov.Ledger() {
		if c.Status == "succeeded" {
			charges = append(charges, c)
		}
	}
	if len(charges) != 2 {
		t.Fatalf("provider charges %+v, want the call's and the link's", charges)
	}
	for _, l := range []*testingLog{{"n1", logs1.String()}, {"n2", logs2.String()}} {
		if strings.Contains(l.out, "4242424242424242") {
			t.Errorf("%s's log holds a card number", l.node)
		}
	}
}

type testingLog struct{ node, out string }

// TestClusterTakesOverADeadNode: a node died (here: its rows, written as it would have) with a
// call in progress, a charge whose answer it never got and a charge answered but not yet in a
// payment record. A surviving node sees it is dead (never seen alive, its lease free), ends
// the call, completes the answered payment's record, asks the provider about the pending one,
// and records what the provider holds; nothing is charged again.
func TestClusterTakesOverADeadNode(t *testing.T) {
	prov := sandbox.New(sandbox.Config{})
	provSrv := httptest.NewServer(prov)
	defer provSrv.Close()
	db, plans := testDatabase(t), clusterPlan(t, provSrv.URL)
	ctx := context.Background()

	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	const callID = "dead-node-call"
	started := time.Now().Add(-3 * time.Minute)
	must(t, st.CreateCall(ctx, store.Call{ID: callID, From: "+447700900123", To: "+441632960801", Plan: "cluster", Node: "n9", StartedAt: started}))
	must(t, st.MarkAnswered(ctx, callID, started))
	plan, ds := callplan.ParseFile(filepath.Join(plans, "cluster.xml"), func(string) string { return "" })
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	cs := gateway.NewConnectors(gateway.ConnectorsConfig{Attempts: gatewayStore{s: st, node: "n9", owner: "n9"}, Backoff: time.Millisecond,
		Now: func() time.Time { return time.Now().Add(-2 * time.Minute) }, Logger: slog.New(slog.DiscardHandler)})
	spec := plan.Connector("provider").Spec
	c, err := cs.OpenConnector(&spec)
	if err != nil {
		t.Fatal(err)
	}
	prov.SetFaults(sandbox.Faults{LoseFirst: 3, Paths: []string{"/globalpci/v1/session/"}})
	var num pan.SecureBuffer
	for _, d := range []byte("4242424242424242") {
		_ = num.Append(d)
	}
	if _, err := c.Pay(ctx, &payment.Request{CallID: callID, Channel: "voice", IdempotencyKey: "n9-key-1",
		Amount: payment.Amount{Minor: 300, Currency: "GBP"}, Reference: "N9-1",
		Card: payment.Card{Number: &num, ExpMonth: 12, ExpYear: time.Now().Year() + 2, Brand: "visa"}}); err == nil {
		t.Fatal("the provider's answer was not lost")
	}
	prov.SetFaults(sandbox.Faults{})
	must(t, st.CreateAttempt(ctx, store.Attempt{IdempotencyKey: "n9-key-2", SessionID: "ss-n9", CallID: callID, Node: "n9",
		Connector: "provider", ConnectorKey: c.Key(), Channel: "voice", AmountMinor: 700, Currency: "GBP", Reference: "N9-2",
		MaskedCard: "************4444", CardBrand: "mastercard", Method: "charge", CreatedAt: time.Now().Add(-2 * time.Minute)}))
	must(t, st.CompleteAttempt(ctx, "n9-key-2", store.AttemptResult{Result: "approved", Confirmation: "ch_n9", SessionID: "ss-n9"}))
	if p, _ := st.NodePendingAttempts(ctx, "n9"); len(p) != 1 {
		t.Fatalf("n9 left %d pending attempts, want 1", len(p))
	}
	st.Close()

	n2, logs, stop := startNode(t, "--db", db, "--node-id", "n2", "--plans", plans)
	defer stop()
	var left []store.Attempt
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		left, err = n2.Store().NodePendingAttempts(ctx, "n9")
		if err == nil && len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) != 0 {
		t.Fatalf("n9's attempts still pending: %+v\n%s", left, logs)
	}
	var call struct {
		Call     store.Call
		Payments []store.PaymentSession
	}
	for deadline := time.Now().Add(10 * time.Second); len(call.Payments) < 2 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		adminGet(t, n2, "/api/calls/"+callID, &call)
	}
	if call.Call.State != store.CallEnded || !strings.Contains(call.Call.HangupCause, "node n9 stopped") {
		t.Fatalf("n9's call after the takeover: %+v", call.Call)
	}
	charges := prov.Ledger()
	if len(call.Payments) != 2 || len(charges) != 1 {
		t.Fatalf("payments %+v; provider charges %+v\n%s", call.Payments, charges, logs)
	}
	for _, p := range call.Payments {
		switch p.ID {
		case "ss-n9":
			if p.Result != "success" || p.Confirmation != "ch_n9" || p.AmountMinor != 700 {
				t.Errorf("the answered payment's record: %+v", p)
			}
		default:
			if p.Result != "success" || p.Confirmation != charges[0].ID || p.AmountMinor != charges[0].Amount {
				t.Errorf("the reconciled payment's record %+v, charge %+v", p, charges[0])
			}
		}
	}
	if !strings.Contains(logs.String(), "took over a dead node") {
		t.Errorf("no takeover logged:\n%s", logs)
	}
}

// TestClusterDatabaseLostDuringACall: PostgreSQL goes away while a caller's card is with the
// provider. The caller still gets the provider's answer (the money moved: it says so), the
// outcome that could not be written is settled by the node's reconciler once the database is
// back, and the provider holds exactly one charge. With the database still down when the
// next caller's card is ready, the payment is not attempted at all: a defined failure for the
// caller (payment-connector-error), nothing charged.
func TestClusterDatabaseLostDuringACall(t *testing.T) {
	ctx := context.Background()
	c, err := pgtemp.Start(ctx, pgtemp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	db, err := c.CreateDB(ctx, "loss")
	must(t, err)
	prov := sandbox.New(sandbox.Config{})
	provSrv := httptest.NewServer(prov)
	defer provSrv.Close()
	plans := clusterPlan(t, provSrv.URL)
	n1, logs, stop := startNode(t, "--db", db, "--node-id", "n1", "--plans", plans, "--reconcile-every", "1s")
	defer stop()
	sub, _ := n1.hub.Subscribe()
	defer sub.Close()
	results := make(chan string, 10)
	go func() {
		for msg := range sub.C() {
			var e event.Event
			if json.Unmarshal(msg, &e) == nil {
				if d, ok := e.Data.(*event.PayCompleted); ok {
					results <- d.Result
				}
			}
		}
	}()

	// The provider takes its time; the database dies while it does.
	prov.SetFaults(sandbox.Faults{Latency: 3 * time.Second, Paths: []string{"/globalpci/v1/session/"}})
	go func() {
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if p, _ := n1.Store().PendingAttempts(ctx); len(p) > 0 {
				c.Crash()
				return
			}
		}
	}()
	dialPay(t, n1, "+441632960801")
	select {
	case r := <-results:
		if r != "success" {
			t.Fatalf("caller's result with the database gone after the charge: %q\n%s", r, logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no Pay result\n%s", logs)
	}
	// Still down: the next payment is refused before the provider is called.
	prov.SetFaults(sandbox.Faults{})
	dialPay(t, n1, "+441632960801")
	select {
	case r := <-results:
		if r != "payment-connector-error" {
			t.Fatalf("caller's result with the database down: %q", r)
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("no Pay result with the database down\n%s", logs)
	}
	if n := len(prov.Ledger()); n != 1 {
		t.Fatalf("provider holds %d charges, want 1", n)
	}
	must(t, c.Restart(ctx))
	var left []store.Attempt
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		left, err = n1.Store().PendingAttempts(ctx)
		if err == nil && len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) != 0 {
		t.Fatalf("still pending after the database came back: %+v\n%s", left, logs)
	}
	all, err := n1.Store().ListAttempts(ctx, time.Time{})
	must(t, err)
	ch := prov.Ledger()[0]
	if len(all) != 1 || all[0].Result != "approved" || all[0].Confirmation != ch.ID || all[0].Node != "n1" {
		t.Fatalf("attempts %+v, charge %+v", all, ch)
	}
	var pays []store.PaymentSession
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if pays, _ = n1.Store().ListPayments(ctx, store.PaymentFilter{Result: "success"}); len(pays) == 1 {
			break
		}
	}
	if len(pays) != 1 || pays[0].Confirmation != ch.ID {
		t.Fatalf("payment records %+v, charge %+v\n%s", pays, ch, logs)
	}
}
