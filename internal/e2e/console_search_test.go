package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/store"
)

// replayedCall runs a plan through the built binary's replay and returns its events: a real
// engine's timeline, to store as a call's.
func replayedCall(t *testing.T, bin, plan, digits string) []struct {
	At     float64         `json:"at"`
	Type   string          `json:"type"`
	Step   string          `json:"step"`
	Fields json.RawMessage `json:"fields"`
} {
	t.Helper()
	out, err := exec.Command(bin, "replay", "--json", "--start", "2026-11-22T10:00:00Z", "--plan", plan, "--digits", digits).Output()
	if err != nil {
		t.Fatalf("replay %s: %v", plan, err)
	}
	var res struct {
		Events []struct {
			At     float64         `json:"at"`
			Type   string          `json:"type"`
			Step   string          `json:"step"`
			Fields json.RawMessage `json:"fields"`
		} `json:"events"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	return res.Events
}

// TestConsoleChromiumSearch drives the console in headless Chromium over a store holding calls,
// payments, links and texts — one call's timeline is a real replay of the pay-bill plan — and
// checks what an admin does all day: search and filter each list (number, reference, result,
// error type, card brand and last four, plan, node, time range), page, export the filtered
// list as CSV (a caller ID that is a spreadsheet formula arrives as text), read a call's
// timeline one line per step (keys folded, HTTP with method, host, status and latency, what
// each step set), open the plan at a step's line with every step the call went through
// highlighted, and a payment's page with its call, attempts, link, text, webhook and provider
// session. Screenshots go to the test's artifact directory (make test: out/artifacts).
func TestConsoleChromiumSearch(t *testing.T) {
	bin := paybridgeBinary(t)
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "paybridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	planFile := filepath.Join(repoRoot(t), "examples", "plans", "pay-bill.xml")
	src, err := os.ReadFile(planFile)
	must(err)
	sum := sha256.Sum256(src)
	hash := hex.EncodeToString(sum[:])
	planSources["pay-bill"] = string(src)
	plans := staticPlans{{Name: "pay-bill", File: planFile, Numbers: []string{"+441632960000"}, Valid: true, Hash: hash}}

	// Calls over the last hours on two nodes; c-paid's timeline is the engine's own.
	now := time.Now().UTC().Truncate(time.Second)
	t0 := now.Add(-3 * time.Hour)
	calls := []store.Call{
		{ID: "c-paid", From: "+447700900123", To: "+441632960000", Plan: "pay-bill", PlanHash: hash, Node: "node-a", StartedAt: t0},
		{ID: "c-failed", From: "+447700900456", To: "+441632960000", Plan: "pay-bill", PlanHash: hash, Node: "node-b", StartedAt: t0.Add(time.Hour)},
		{ID: "c-formula", From: `=HYPERLINK("http://evil.example/","click")`, To: "+441632960000", Plan: "pay-bill", PlanHash: hash, Node: "node-b", StartedAt: t0.Add(2 * time.Hour)},
	}
	for _, c := range calls {
		must(st.CreateCall(ctx, c))
		must(st.MarkAnswered(ctx, c.ID, c.StartedAt.Add(time.Second)))
	}
	for i, e := range replayedCall(t, bin, planFile, "12345678# W 4242424242424242# 1230 123") {
		at := t0.Add(time.Duration(e.At * float64(time.Second))).Add(time.Duration(i) * time.Microsecond)
		must(st.AppendEvent(ctx, "c-paid", store.EventRecord{Time: at, Type: e.Type, Step: e.Step, Fields: e.Fields}))
	}
	must(st.EndCall(ctx, "c-paid", "hangup: normal", t0.Add(22*time.Second)))
	must(st.EndCall(ctx, "c-failed", "caller-hung-up", t0.Add(time.Hour+time.Minute)))
	must(st.UpsertPaymentSession(ctx, store.PaymentSession{ID: "pay-1", CallID: "c-paid", Connector: "provider", Channel: "voice",
		AmountMinor: 1234, Currency: "GBP", Reference: "12345678", State: "completed", Result: "success", MaskedCard: "************4242",
		CardType: "visa", Confirmation: "ch_e2e", ProviderSessionID: "sess-e2e-1", CreatedAt: t0.Add(11 * time.Second), CompletedAt: t0.Add(11 * time.Second)}))
	must(st.UpsertPaymentSession(ctx, store.PaymentSession{ID: "pay-2", CallID: "c-failed", Connector: "provider", Channel: "voice",
		AmountMinor: 500, Currency: "GBP", Reference: "87654321", State: "failed", Result: "too-many-failed-attempts",
		ErrorType: "invalid-card-number", CreatedAt: t0.Add(time.Hour + 50*time.Second)}))
	must(st.UpsertPaymentSession(ctx, store.PaymentSession{ID: "pay-3", CallID: "c-formula", Connector: "provider", Channel: "link",
		AmountMinor: 9999, Currency: "GBP", Reference: "55556666", State: "completed", Result: "success", MaskedCard: "***********0005",
		CardType: "amex", CreatedAt: t0.Add(2*time.Hour + time.Minute)}))
	must(st.CreateAttempt(ctx, store.Attempt{IdempotencyKey: "idem-pay-1", SessionID: "pay-1", CallID: "c-paid", Connector: "provider",
		Attempt: 1, AmountMinor: 1234, Currency: "GBP", CreatedAt: t0.Add(10 * time.Second)}))
	must(st.CompleteAttempt(ctx, "idem-pay-1", store.AttemptResult{Result: "approved", ProviderStatus: 201, Confirmation: "ch_e2e",
		CompletedAt: t0.Add(10*time.Second + 180*time.Millisecond)}))
	must(st.CreateLink(ctx, store.Link{ID: "lnk-1", TokenHash: "h1", SessionID: "pay-1", CallID: "c-paid", To: "+447700900123",
		AmountMinor: 1234, Currency: "GBP", Reference: "12345678", CreatedAt: t0.Add(5 * time.Second), ExpiresAt: now.Add(20 * time.Hour)}))
	_, err = st.EnqueueSMS(ctx, store.SMS{ID: "sms-1", To: "+447700900123", Body: "Acme Water: pay £12.34 for 12345678 at http://127.0.0.1/pay/…",
		CallID: "c-paid", LinkID: "lnk-1", Status: store.SMSNotSent, Error: "no SMS provider configured", CreatedAt: t0.Add(5 * time.Second)})
	must(err)
	_, err = st.EnqueueWebhook(ctx, store.Webhook{ID: "wh-1", Event: "pay.completed", URL: "https://hooks.example/pay", Payload: []byte(`{}`),
		Subject: "pay-1", Endpoint: "default", EventID: "evt_1", CreatedAt: t0.Add(12 * time.Second)})
	must(err)
	must(st.MarkWebhookFailed(ctx, "wh-1", now.Add(time.Minute), `HTTP 503: {"error":"receiver busy"}`))
	must(st.RecordWebhookStatus(ctx, "wh-1", 503))
	for i := 0; i < 60; i++ { // enough older calls for a second page
		must(st.CreateCall(ctx, store.Call{ID: fmt.Sprintf("old-%02d", i), From: "+447700900999", To: "+441632960000", Plan: "pay-bill",
			Node: "node-a", StartedAt: t0.Add(-time.Duration(i+1) * time.Minute)}))
	}

	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(console.NewServer(console.Config{Store: st, Hub: console.NewHub(), Metrics: console.NewMetrics(reg), Gatherer: reg,
		AdminToken: consoleTestToken, Plans: plans, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()

	// /readyz answers a load balancer without the token, and says nothing else.
	if res, err := http.Get(srv.URL + "/readyz"); err != nil || res.StatusCode != 200 {
		t.Fatalf("readyz without a token: %v %v", res, err)
	} else {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.TrimSpace(string(b)) != `{"ready":true}` {
			t.Errorf("readyz without a token says %s", b)
		}
	}

	b := startConsoleBrowser(t, 1366, 900)
	downloads := t.TempDir()
	b.call("Browser.setDownloadBehavior", map[string]any{"behavior": "allow", "downloadPath": downloads}, nil)
	consoleSignIn(t, b, srv.URL, consoleTestToken)

	// The first screen: conversion by plan, where callers fail, providers.
	b.waitFor("conversion by plan", `document.querySelector('#conversion-table tr[data-plan="pay-bill"]') && document.querySelector('#conversion-table tr[data-plan="pay-bill"]').textContent.includes("63")`, 10*time.Second)
	var conv string
	b.mustEval(`document.querySelector('#conversion-table tr[data-plan="pay-bill"]').textContent`, &conv)
	if !strings.Contains(conv, "50 %") { // 2 calls reached Pay, 1 paid by voice
		t.Errorf("conversion row %q", conv)
	}
	b.waitFor("provider figures", `document.querySelector('#providers-table tr[data-connector="provider"]')`, 10*time.Second)
	b.screenshot(artifact(t, "console-first-screen.png"))

	// Payments: filter by card brand and last four, by number, by error type, by time.
	setFilter := func(list string, values map[string]string) {
		t.Helper()
		js, _ := json.Marshal(values)
		b.mustEval(fmt.Sprintf(`(() => { const f = document.querySelector("#%s-filter"); f.reset();
			for (const [k, v] of Object.entries(%s)) f.elements[k].value = v;
			f.requestSubmit(); return true; })()`, list, js), nil)
	}
	waitRows := func(what, table, attr, want string) {
		t.Helper()
		b.waitFor(what, fmt.Sprintf(`[...document.querySelectorAll("#%s tbody tr")].map(r => r.getAttribute(%q)).join(" ") === %q`, table, attr, want), 10*time.Second)
	}
	b.waitFor("payments listed", `document.querySelectorAll("#payments-table tbody tr").length === 3`, 10*time.Second)
	setFilter("payments", map[string]string{"card_type": "amex", "last4": "0005"})
	waitRows("amex ending 0005", "payments-table", "data-payment-id", "pay-3")
	setFilter("payments", map[string]string{"number": "07700 900456"})
	waitRows("payments of a caller, national form", "payments-table", "data-payment-id", "pay-2")
	setFilter("payments", map[string]string{"error_type": "invalid-card-number", "node": "node-b"})
	waitRows("error type on a node", "payments-table", "data-payment-id", "pay-2")
	setFilter("payments", map[string]string{"result": "success", "since": t0.Add(time.Hour).Local().Format("2006-01-02T15:04")})
	waitRows("successes in a time range", "payments-table", "data-payment-id", "pay-3")
	var status string
	b.mustEval(`document.querySelector("#payments-filter .filter-status").textContent`, &status)
	if status != "Filtered: 1 shown" {
		t.Errorf("filter status %q", status)
	}
	setFilter("payments", map[string]string{"reference": "5555"})
	waitRows("reference", "payments-table", "data-payment-id", "pay-3")
	b.screenshot(artifact(t, "console-search.png"))
	// A card number typed into the last-four box is refused, not searched for or echoed.
	setFilter("payments", map[string]string{"last4": "4242"})
	waitRows("last four", "payments-table", "data-payment-id", "pay-1")
	b.mustEval(`document.querySelector("#payments-filter").reset(); true`, nil)
	b.waitFor("cleared filter", `document.querySelectorAll("#payments-table tbody tr").length === 3`, 10*time.Second)

	// Calls: filter by node and plan, page through, export the filtered list.
	setFilter("calls", map[string]string{"node": "node-b", "plan": "pay-bill"})
	waitRows("calls on node-b", "calls-table", "data-call-id", "c-formula c-failed")
	b.mustEval(`document.querySelector('#calls-filter [data-export]').click(); true`, nil)
	b.waitFor("export done", `document.body.dataset.lastExport === "calls:2"`, 15*time.Second)
	var csvFile string
	deadline := time.Now().Add(15 * time.Second)
	for csvFile == "" && time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(downloads, "paybridge-calls-*.csv"))
		if len(files) == 1 {
			csvFile = files[0]
		}
		time.Sleep(100 * time.Millisecond)
	}
	if csvFile == "" {
		t.Fatal("the CSV export was not downloaded")
	}
	raw, _ := os.ReadFile(csvFile)
	recs, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("exported CSV: %v\n%s", err, raw)
	}
	if recs[1][0] != "c-formula" || recs[1][4] != `'=HYPERLINK("http://evil.example/","click")` || recs[1][7] != "node-b" || recs[2][0] != "c-failed" {
		t.Errorf("exported rows %q", recs[1:])
	}
	b.mustEval(`document.querySelector("#calls-filter").reset(); true`, nil)
	b.waitFor("first page of calls", `document.querySelectorAll("#calls-table tbody tr").length === 50 && !document.querySelector("#calls-more").hidden`, 10*time.Second)
	b.mustEval(`document.querySelector("#calls-more").click(); true`, nil)
	b.waitFor("second page of calls", `document.querySelectorAll("#calls-table tbody tr").length === 63 && document.querySelector("#calls-more").hidden`, 10*time.Second)

	// The readable timeline of the paid call: one line per step.
	setFilter("calls", map[string]string{"last4": "4242"})
	waitRows("the paid call", "calls-table", "data-call-id", "c-paid")
	b.mustEval(`document.querySelector('#calls-table tr[data-call-id="c-paid"]').click(); true`, nil)
	b.waitFor("steps", `document.querySelectorAll("#steps-table tbody tr").length > 5`, 10*time.Second)
	var steps []string
	b.mustEval(`[...document.querySelectorAll("#steps-table tbody tr")].map(r => [...r.cells].map(c => c.textContent.trim()).join(" | "))`, &steps)
	text := strings.Join(steps, "\n")
	for _, want := range []string{
		"L15 | Gather | success | 1.4 s | Account: 8 digits in 1.4 s (attempt 1, success)",
		"L17 | ApiInteraction | HTTP 200 |",
		"GET 127.0.0.1:",
		"L34 | Pay | success | 9.1 s |",
		"card number: 16 digits in 3.2 s",
		"set Pay.Result=\"success\"",
		"Pay.MaskedCard=\"************4242\"",
		"L51 | Hangup | hung up: normal",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("timeline lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "\n") + 1; n != 11 {
		t.Errorf("%d timeline lines, want 11 (9 steps, start, end):\n%s", n, text)
	}
	b.screenshot(artifact(t, "console-timeline.png"))

	// A step's line opens the plan there, with every step of the call highlighted.
	b.mustEval(`document.querySelector('#steps-table tr[data-step-line="34"] a.plan-line').click(); true`, nil)
	b.waitFor("plan view", `!document.querySelector("#plan-view").hidden && document.querySelector("#plan-L34.current")`, 10*time.Second)
	var visited []int
	b.mustEval(`[...document.querySelectorAll("#plan-source .src-line.visited")].map(e => +e.dataset.line)`, &visited)
	want := map[int]bool{14: true, 15: true, 17: true, 32: true, 34: true, 43: true, 44: true, 51: true}
	if len(visited) != len(want) {
		t.Errorf("highlighted lines %v, want %v", visited, want)
	}
	for _, l := range visited {
		if !want[l] {
			t.Errorf("line %d highlighted; the call did not run it", l)
		}
	}
	var line34 string
	b.mustEval(`document.querySelector("#plan-L34").textContent`, &line34)
	if !strings.Contains(line34, "<Pay ") {
		t.Errorf("line 34 of the plan view is %q", line34)
	}
	b.screenshotViewport(artifact(t, "console-plan.png"))

	// A payment's page: everything about it.
	b.mustEval(`document.querySelector('#payments-table tr[data-payment-id="pay-1"]').click(); true`, nil)
	b.waitFor("payment page", `document.querySelector("#payment-detail [data-webhooks]")`, 10*time.Second)
	var detail string
	b.mustEval(`document.querySelector("#payment-detail").textContent`, &detail)
	for _, want := range []string{"sess-e2e-1", "idem-pay-1", "HTTP 201", "lnk-1", "not sent (no SMS provider configured)",
		"Acme Water: pay £12.34", "pay.completed", "HTTP 503", "receiver busy", "************4242", "Call c-paid"} {
		if !strings.Contains(detail, want) {
			t.Errorf("payment page lacks %q: %s", want, detail)
		}
	}
	b.screenshot(artifact(t, "console-payment.png"))

	// The texts: not sent, and why.
	b.waitFor("sms outbox", `document.querySelector('#sms-table tr[data-sms-id="sms-1"]')`, 10*time.Second)
	var smsStatus string
	b.mustEval(`document.querySelector('#sms-table tr[data-sms-id="sms-1"] [data-status]').textContent`, &smsStatus)
	if smsStatus != "not sent (no SMS provider configured)" {
		t.Errorf("sms status %q", smsStatus)
	}
	setFilter("sms", map[string]string{"status": "not-sent", "text": "acme"})
	waitRows("not-sent texts", "sms-table", "data-sms-id", "sms-1")
	setFilter("links", map[string]string{"number": "900123", "state": "active"})
	waitRows("active links to a number", "links-table", "data-link-id", "lnk-1")

	consoleChecks(t, b)
	t.Logf("screenshots in %s", t.ArtifactDir())
}
