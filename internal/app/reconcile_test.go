package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
	"github.com/paybridge/paybridge/store"
)

// TestRestartCompletesWhatACrashLeft is issue 10's third finding. A previous run of the node
// (here: its store, written through the same adapter serve uses) charged a card while the answer was lost
// and was killed mid-call: the attempt is pending, the call "answered", no payment record. On
// restart, the node listens first and reconciles in the background; the charge the provider
// holds becomes a complete payment record (in /api/payments, on the call, in the collected
// total), and the interrupted call is ended. A second pending attempt, on the embedded sandbox
// — reachable only through the node's own listener — is settled in the same pass instead of
// timing out.
func TestRestartCompletesWhatACrashLeft(t *testing.T) {
	prov := sandbox.New(sandbox.Config{})
	provSrv := httptest.NewServer(prov)
	defer provSrv.Close()
	plans, data := t.TempDir(), t.TempDir()
	src := fmt.Sprintf(`<CallPlan name="restart"><Match number="+441632960701"/>
<Connector name="provider" baseUrl=%q account="r-merchant"><ClientCredentials clientId="r" clientSecret="#(env:R_SECRET:-r-secret)"/></Connector>
<Connector name="local" baseUrl="sandbox"/>
<Flow><Pay connector="provider" amount="5.00" currency="GBP"/><Pay connector="local" amount="6.00" currency="GBP"/><Hangup/></Flow></CallPlan>`, provSrv.URL)
	planFile := filepath.Join(plans, "restart.xml")
	if err := os.WriteFile(planFile, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, ds := callplan.ParseFile(planFile, func(string) string { return "" })
	if ds.HasErrors() {
		t.Fatal(ds)
	}

	// The previous run: a call in progress, a charge whose answer was lost.
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(data, "paybridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	const callID = "crashed-call-1"
	started := time.Now().Add(-3 * time.Minute)
	must(t, st.CreateCall(ctx, store.Call{ID: callID, From: "+447700900123", To: "+441632960701", Plan: "restart", StartedAt: started}))
	must(t, st.MarkAnswered(ctx, callID, started))
	cs := gateway.NewConnectors(gateway.ConnectorsConfig{Attempts: gatewayStore{s: st, allNodes: true}, Backoff: time.Millisecond,
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
	_, err = c.Pay(ctx, &payment.Request{CallID: callID, Channel: "voice", IdempotencyKey: "crash-key-1",
		Amount: payment.Amount{Minor: 500, Currency: "GBP"}, Reference: "R-1",
		Card: payment.Card{Number: &num, ExpMonth: 12, ExpYear: time.Now().Year() + 2, Brand: "visa"}})
	if err == nil {
		t.Fatal("the provider's answer was not lost")
	}
	prov.SetFaults(sandbox.Faults{})
	// And an attempt on the embedded sandbox, which restarts empty: nothing there to find.
	local := plan.Connector("local").Spec
	local, _ = payment.CheckConnector(local)
	must(t, st.CreateAttempt(ctx, store.Attempt{IdempotencyKey: "crash-key-2", SessionID: "ss-gone", CallID: callID,
		Connector: "local", ConnectorKey: gateway.ConnectorKey(local), Channel: "voice", AmountMinor: 600, Currency: "GBP",
		CreatedAt: time.Now().Add(-2 * time.Minute)}))
	// And one the provider answered (approved) just before the kill, before the recorder wrote
	// its payment: the attempt is complete, the record missing.
	must(t, st.CreateAttempt(ctx, store.Attempt{IdempotencyKey: "crash-key-3", SessionID: "ss-answered", CallID: callID,
		Connector: "provider", ConnectorKey: c.Key(), Channel: "voice", AmountMinor: 700, Currency: "GBP", Reference: "R-3",
		MaskedCard: "************4444", CardBrand: "mastercard", Method: "charge", CreatedAt: time.Now().Add(-2 * time.Minute)}))
	must(t, st.CompleteAttempt(ctx, "crash-key-3", store.AttemptResult{Result: "approved", Confirmation: "ch_answered", SessionID: "ss-answered"}))
	st.Close()

	a, logs, stop := startNode(t, "--plans", plans, "--data", data)
	defer stop()
	for deadline := time.Now().Add(20 * time.Second); !a.reconciled.Load(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("reconciliation did not finish\n%s", logs)
		}
	}
	var rec, answered *store.PaymentSession
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && (rec == nil || answered == nil); time.Sleep(50 * time.Millisecond) {
		rs, _ := a.Store().ListPayments(ctx, store.PaymentFilter{CallID: callID, Result: "success"})
		for i := range rs {
			switch rs[i].ID {
			case "ss-answered":
				answered = &rs[i]
			default:
				rec = &rs[i]
			}
		}
	}
	if answered == nil || answered.AmountMinor != 700 || answered.Reference != "R-3" || answered.Confirmation != "ch_answered" ||
		answered.MaskedCard != "************4444" || answered.State != store.PaymentCompleted {
		t.Fatalf("the answered attempt's record: %+v\n%s", answered, logs)
	}
	charges := prov.Ledger()
	if rec == nil || len(charges) != 1 {
		t.Fatalf("record %+v, provider charges %+v\n%s", rec, charges, logs)
	}
	ch := charges[0]
	if rec.ID != ch.SessionID || rec.ProviderSessionID != ch.SessionID || rec.AmountMinor != ch.Amount || rec.Currency != ch.Currency ||
		rec.Confirmation != ch.ID || rec.MaskedCard != "************"+ch.Last4 || rec.CardType != ch.Brand ||
		rec.State != store.PaymentCompleted || rec.Channel != "voice" || rec.Connector != "provider" || rec.ConnectorKey != c.Key() {
		t.Fatalf("record %+v\ncharge %+v", *rec, ch)
	}
	// It is where the console looks: the payment, the call's payments, the collected total.
	var detail struct {
		Payment store.PaymentSession
	}
	adminGet(t, a, "/api/payments/"+rec.ID, &detail)
	var call struct {
		Call     store.Call
		Payments []store.PaymentSession
	}
	adminGet(t, a, "/api/calls/"+callID, &call)
	var stats store.Stats
	adminGet(t, a, "/api/stats", &stats)
	if detail.Payment.ID != rec.ID || len(call.Payments) < 2 || stats.Collected["GBP"] != 500+700 {
		t.Fatalf("payment %+v, call payments %+v, collected %v", detail.Payment, call.Payments, stats.Collected)
	}
	// The interrupted call is over.
	if call.Call.State != store.CallEnded || call.Call.HangupCause != interruptedCause {
		t.Fatalf("call %+v", call.Call)
	}
	// The embedded sandbox's attempt was looked up through the node's own listener: settled
	// (the sandbox, restarted, no longer knows its session: "unknown", for a human), not left
	// pending after a timeout.
	at, err := a.Store().GetAttempt(ctx, "crash-key-2")
	if err != nil || at.Status != store.AttemptComplete || at.Result != "unknown" {
		t.Fatalf("embedded-sandbox attempt %+v, %v\n%s", at, err, logs)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
