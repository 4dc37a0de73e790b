package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/internal/testlog"
	"github.com/paybridge/paybridge/store"
)

var consoleTestPANs = []string{"4242424242424242", "5555555555554444", "378282246310005"}

const consoleTestToken = "pb_e2e-console-token-0123456789"

// consoleSignIn opens the console, checks the login prompt, signs in and waits for the live feed.
func consoleSignIn(t *testing.T, b *consoleBrowser, baseURL, token string) {
	t.Helper()
	b.navigate(baseURL + "/")
	b.waitFor("login prompt", `document.querySelector("#login").open`, 10*time.Second)
	// A wrong token is refused with a message, and the prompt stays.
	b.mustEval(`document.querySelector("#token").value = "wrong-token-0123456789"; document.querySelector("#login-form").requestSubmit(); true`, nil)
	b.waitFor("wrong-token message", `document.querySelector("#login-error").textContent.includes("not accepted")`, 10*time.Second)
	b.mustEval(fmt.Sprintf(`document.querySelector("#token").value = %q; document.querySelector("#login-form").requestSubmit(); true`, token), nil)
	b.waitFor("signed in", `!document.querySelector("#login").open`, 10*time.Second)
	b.waitFor("live feed connected", `document.querySelector("#feed-status").textContent === "live"`, 10*time.Second)
}

// liveRow is a JS expression for a call's row in the live table.
func liveRow(callID string) string {
	return fmt.Sprintf(`document.querySelector('#live-calls tbody tr[data-call-id=%q]')`, callID)
}

// consoleChecks are the checks every run ends with: no page errors (exceptions, CSP
// violations), no test PAN anywhere in the DOM, and a mobile-width layout without horizontal
// scrolling.
func consoleChecks(t *testing.T, b *consoleBrowser) {
	t.Helper()
	var html string
	b.mustEval(`document.documentElement.outerHTML`, &html)
	for _, pan := range consoleTestPANs {
		if strings.Contains(html, pan) {
			t.Errorf("the console page shows test PAN %s…", pan[:6])
		}
	}
	// Basic accessibility: a language, landmarks, named controls, labelled inputs, captioned
	// tables with scoped headers, keyboard-reachable clickable rows.
	var problems []string
	b.mustEval(`(() => {
		const p = [];
		if (!document.documentElement.lang) p.push("no lang on <html>");
		for (const sel of ["header", "nav", "main", "footer"]) if (!document.querySelector(sel)) p.push("no <" + sel + ">");
		for (const e of document.querySelectorAll("button")) if (!(e.textContent.trim() || e.getAttribute("aria-label"))) p.push("unnamed button " + e.id);
		for (const e of document.querySelectorAll("input")) if (!(e.labels && e.labels.length) && !e.getAttribute("aria-label")) p.push("unlabelled input " + e.id);
		for (const t of document.querySelectorAll("table")) {
			if (!t.querySelector("caption")) p.push("table without caption " + t.id);
			for (const th of t.querySelectorAll("thead th")) if (th.getAttribute("scope") !== "col") p.push("th without scope in " + t.id);
		}
		for (const r of document.querySelectorAll("tr.clickable")) if (r.tabIndex < 0) p.push("clickable row not focusable");
		for (const d of document.querySelectorAll("dialog")) if (!d.getAttribute("aria-labelledby")) p.push("dialog without a title");
		return p;
	})()`, &problems)
	for _, p := range problems {
		t.Errorf("accessibility: %s", p)
	}
	b.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true}, nil)
	var overflow bool
	b.mustEval(`new Promise(r => requestAnimationFrame(() => r(document.documentElement.scrollWidth > window.innerWidth + 1)))`, &overflow)
	if overflow {
		t.Errorf("at 390px wide the page scrolls sideways (tables must scroll inside their sections)")
	}
	b.call("Emulation.clearDeviceMetricsOverride", nil, nil)
	for _, e := range b.pageErrors() {
		if strings.Contains(e, "favicon") || (strings.Contains(e, "status of 401") && strings.Contains(e, "/api/whoami")) {
			continue // the deliberate wrong-token sign-in
		}
		t.Errorf("page error: %s", e)
	}
}

// TestConsoleChromiumStandalone drives the real console page in headless Chromium against
// console.NewServer on a real listener, with a real SQLite store and hub fed synthetic events:
// sign-in (wrong then right token), a live call with Pay progress, its payment, the end of the
// call, plans with validation messages, links and the SMS outbox. Screenshot:
// out/console-standalone.png. Takes ~10 s.
func TestConsoleChromiumStandalone(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "paybridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hub := console.NewHub()
	reg := prometheus.NewRegistry()
	plans := staticPlans{{Name: "pay", File: "plans/pay.xml", Numbers: []string{"+441632960208"}, Valid: true, Hash: "sha256:9f2c4e"},
		{Name: "broken", File: "plans/broken.xml", Valid: false, Messages: []console.PlanMessage{{Severity: "error", Line: 7, Col: 5,
			Text: "plans/broken.xml:7:5: unknown element <Pya> (did you mean <Pay>?)"}}}}
	srv := httptest.NewServer(console.NewServer(console.Config{Store: st, Hub: hub, Metrics: console.NewMetrics(reg), Gatherer: reg,
		AdminToken: consoleTestToken, Plans: plans, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()

	now := time.Now().UTC()
	if _, err := st.EnqueueSMS(ctx, store.SMS{To: "+447700900123", Body: "Pay £5.00 for INV-7: http://127.0.0.1/pay/…", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateLink(ctx, store.Link{ID: "lnk_e2e", TokenHash: "h", SessionID: "sess-link", To: "+447700900123",
		AmountMinor: 500, Currency: "GBP", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	b := startConsoleBrowser(t, 1366, 900)
	consoleSignIn(t, b, srv.URL, consoleTestToken)

	// A call arrives and enters its card.
	const callID = "e2e-call-1"
	if err := st.CreateCall(ctx, store.Call{ID: callID, From: "+447700900123", To: "+441632960208", Plan: "pay"}); err != nil {
		t.Fatal(err)
	}
	hub.Publish(event.Event{CallID: callID, Data: &event.CallStarted{From: "+447700900123", To: "+441632960208", Plan: "pay"}})
	hub.Publish(event.Event{CallID: callID, Data: &event.CallAnswered{}})
	hub.Publish(event.Event{CallID: callID, Step: "Pay", Data: &event.StepEntered{}})
	b.waitFor("live call row", liveRow(callID)+` && `+liveRow(callID)+`.textContent.includes("Pay")`, 10*time.Second)
	for n := 1; n <= 12; n++ {
		hub.Publish(event.Event{CallID: callID, Step: "Pay", Data: &event.PayProgress{For: "payment-card-number", Attempt: 1, Digits: n}})
	}
	// Even a careless emitter's PAN never reaches the page: the hub masks it.
	hub.Publish(event.Event{CallID: callID, Step: "Pay", Data: &event.Unknown{Name: "pay.progress",
		Fields: json.RawMessage(`{"for": "payment-card-number", "attempt": 1, "digits": 16, "debug": "` + consoleTestPANs[0] + `"}`)}})
	b.waitFor("pay progress 16 digits", liveRow(callID)+`.querySelector("[data-pay-progress]").textContent.includes("16 digits")`, 10*time.Second)
	var progress, spoken string
	b.mustEval(liveRow(callID)+`.querySelector("[data-pay-progress]").textContent`, &progress)
	b.mustEval(liveRow(callID)+`.querySelector(".dots").getAttribute("aria-label")`, &spoken)
	if spoken != "16 digits entered" {
		t.Errorf("digit dots read to screen readers as %q", spoken)
	}
	if !strings.Contains(progress, "payment card number") || !strings.Contains(progress, "attempt 1") {
		t.Errorf("pay progress shows %q", progress)
	}
	b.screenshot(artifact(t, "console-standalone-live.png"))

	// The payment completes.
	if err := st.UpsertPaymentSession(ctx, store.PaymentSession{ID: "sess-e2e", CallID: callID, Connector: "provider", Channel: "voice",
		AmountMinor: 1234, Currency: "GBP", Reference: "INV-" + callID, State: "completed", Result: "success",
		MaskedCard: "************4242", CardType: "visa", Confirmation: "ch_e2e_1"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateAttempt(ctx, store.Attempt{IdempotencyKey: "idem-e2e-1", SessionID: "sess-e2e", CallID: callID,
		Connector: "provider", Attempt: 1, AmountMinor: 1234, Currency: "GBP"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CompleteAttempt(ctx, "idem-e2e-1", store.AttemptResult{Result: "approved", ProviderStatus: 201, Confirmation: "ch_e2e_1"}); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendEvent(ctx, callID, store.EventRecord{Type: "pay.completed", Step: "Pay", Fields: json.RawMessage(`{"result":"success"}`)}); err != nil {
		t.Fatal(err)
	}
	hub.Publish(event.Event{CallID: callID, Step: "Pay", Data: &event.PayCompleted{Payment: event.Payment{
		Result: "success", MaskedCard: "************4242", CardType: "visa"}}})
	b.waitFor("payment row", `document.querySelector('#payments-table tr[data-payment-id="sess-e2e"] [data-masked-card]')`, 10*time.Second)
	var payRow string
	b.mustEval(`document.querySelector('#payments-table tr[data-payment-id="sess-e2e"]').textContent`, &payRow)
	for _, want := range []string{"£12.34", "success", "************4242", "visa", "ch_e2e_1"} {
		if !strings.Contains(payRow, want) {
			t.Errorf("payment row %q lacks %q", payRow, want)
		}
	}
	// Selecting the payment shows its provider attempts.
	b.mustEval(`document.querySelector('#payments-table tr[data-payment-id="sess-e2e"]').click(); true`, nil)
	b.waitFor("payment detail", `!document.querySelector("#payment-detail").hidden && document.querySelector("#payment-detail").textContent.includes("idem-e2e-1") && document.querySelector("#payment-detail").textContent.includes("HTTP 201")`, 10*time.Second)
	b.waitFor("headline figures", `document.querySelector("#stat-collected").textContent.includes("£12.34") && document.querySelector("#stat-approved").textContent === "1 / 1"`, 10*time.Second)
	b.waitFor("live call shows the result", liveRow(callID)+`.textContent.includes("************4242")`, 10*time.Second)

	// The call ends: it leaves the live table and shows in recent calls.
	if err := st.EndCall(ctx, callID, "plan-hangup", time.Time{}); err != nil {
		t.Fatal(err)
	}
	hub.Publish(event.Event{CallID: callID, Data: &event.CallEnded{Result: "hangup"}})
	b.waitFor("call left the live table", `!`+liveRow(callID), 10*time.Second)
	// A payment link paid after the call has ended does not bring it back as a live call, on
	// the page or in /api/live.
	hub.Publish(event.Event{CallID: callID, Data: &event.LinkOpened{LinkID: "lnk_e2e"}})
	hub.Publish(event.Event{CallID: callID, Data: &event.LinkPaid{LinkID: "lnk_e2e", Payment: event.Payment{
		SessionID: "sess-e2e", Channel: event.ChannelLink, Result: event.ResultSuccess}}})
	hub.Publish(event.Event{CallID: "e2e-marker", Data: &event.CallStarted{Plan: "pay"}}) // processed after the link events
	b.waitFor("marker call live", liveRow("e2e-marker"), 10*time.Second)
	var resurrected bool
	b.mustEval(`!!`+liveRow(callID), &resurrected)
	if resurrected {
		t.Error("the ended call came back to the live table after its link was paid")
	}
	if l := hub.Live(); len(l) != 1 || l[0].CallID != "e2e-marker" {
		t.Errorf("hub live after the link was paid: %+v", l)
	}
	hub.Publish(event.Event{CallID: "e2e-marker", Data: &event.CallEnded{}})
	b.waitFor("call in recent calls", `document.querySelector('#calls-table tr[data-call-id="e2e-call-1"]') && document.querySelector('#calls-table tr[data-call-id="e2e-call-1"]').textContent.includes("plan-hangup")`, 10*time.Second)

	// Selecting the call (by keyboard) shows its masked timeline.
	b.mustEval(`(() => { const r = document.querySelector('#calls-table tr[data-call-id="e2e-call-1"]'); r.focus(); r.dispatchEvent(new KeyboardEvent("keydown", {key: "Enter", bubbles: true})); return true; })()`, nil)
	b.waitFor("call timeline", `!document.querySelector("#call-detail").hidden && document.querySelector("#call-detail").textContent.includes("pay.completed")`, 10*time.Second)

	// Plans with their validation messages, links and the outbox.
	b.waitFor("plans", `document.querySelector('#plans-list li[data-plan="broken"]') && document.querySelector('#plans-list li[data-plan="broken"]').textContent.includes("did you mean <Pay>")`, 10*time.Second)
	b.waitFor("links", `document.querySelector('#links-table tr[data-link-id="lnk_e2e"]')`, 10*time.Second)
	b.waitFor("sms", `document.querySelector('#sms-table tbody tr') && document.querySelector('#sms-table tbody').textContent.includes("+447700900123")`, 10*time.Second)

	// A second call left in progress, so the screenshot shows the live view.
	hub.Publish(event.Event{CallID: "e2e-call-2", Data: &event.CallStarted{From: "+447700900456", To: "+441632960208", Plan: "pay"}})
	hub.Publish(event.Event{CallID: "e2e-call-2", Step: "Pay", Data: &event.PayProgress{For: "expiration-date", Attempt: 2,
		ErrorType: "invalid-date", Digits: 2}})
	b.waitFor("second live call", liveRow("e2e-call-2")+` && `+liveRow("e2e-call-2")+`.textContent.includes("invalid-date")`, 10*time.Second)
	path := artifact(t, "console-standalone.png")
	size := b.screenshot(path)
	t.Logf("screenshot: %s (%d bytes)", path, size)
	fmt.Printf("console screenshot: %s\n", path)
	consoleChecks(t, b)

	// Paging: with more calls than a page, "Load older calls" appends the next page.
	b.waitFor("no pager for one page", `document.querySelector("#calls-more").hidden`, 5*time.Second)
	for i := 0; i < 55; i++ {
		if err := st.CreateCall(ctx, store.Call{ID: fmt.Sprintf("old-%02d", i), From: "+447700900999", To: "+441632960208", Plan: "pay",
			StartedAt: now.Add(-24*time.Hour + time.Duration(i)*time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	hub.Publish(event.Event{CallID: "e2e-call-3", Data: &event.CallStarted{}}) // makes the page refresh its list
	b.waitFor("pager shown", `!document.querySelector("#calls-more").hidden && document.querySelectorAll("#calls-table tbody tr").length === 50`, 10*time.Second)
	b.mustEval(`document.querySelector("#calls-more").click(); true`, nil)
	b.waitFor("older calls appended", `document.querySelectorAll("#calls-table tbody tr").length === 56 && document.querySelector("#calls-more").hidden`, 10*time.Second)
}

type staticPlans []console.PlanInfo

func (p staticPlans) Plans() []console.PlanInfo { return p }
func (p staticPlans) Reload() error             { return nil }
func (p staticPlans) PlanText(name, hash string) (console.PlanText, bool) {
	for _, pi := range p {
		if pi.Name == name && planSources[name] != "" {
			return console.PlanText{Name: pi.Name, File: pi.File, Hash: pi.Hash, Current: true, Source: planSources[name]}, true
		}
	}
	return console.PlanText{}, false
}

// planSources are the plan texts the standalone console shows in its plan view.
var planSources = map[string]string{}

// TestConsoleServeEndToEnd runs the real binary: `paybridge serve` on ephemeral ports with a
// temporary data directory, the console in headless Chromium, and a call placed with
// `paybridge call … --digits …`; the call and its payment must appear live, and afterwards
// no output and no file of the data directory may hold a test PAN. Screenshots: out/console.png
// and out/console-live.png (mid-call). Takes ~45 s. PAYBRIDGE_BIN selects a prebuilt binary
// (default: build bin/paybridge); PAYBRIDGE_E2E_NUMBER and PAYBRIDGE_E2E_DIGITS override the
// dialled number and keypresses for the bundled pay plan.
func TestConsoleServeEndToEnd(t *testing.T) {
	bin := paybridgeBinary(t)
	if out, _ := exec.Command(bin, "serve", "-h").CombinedOutput(); strings.Contains(string(out), "unknown command") {
		t.Fatalf("`paybridge serve` is not in this build yet (integration pending): %s", firstLine(string(out)))
	}
	data := t.TempDir()
	httpAddr, sipAddr := freeTCPAddr(t), freeUDPAddr(t)
	rtpLow := 40000 + (os.Getpid()%500)*20
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serve := exec.CommandContext(ctx, bin, "serve", "--http-addr", httpAddr, "--sip-addr", sipAddr, "--data", data,
		"--rtp-ports", fmt.Sprintf("%d-%d", rtpLow, rtpLow+19), "--log-format", "json")
	serve.Env = append(os.Environ(), "PAYBRIDGE_ADMIN_TOKEN=")
	out := &testlog.Buffer{}
	serve.Stdout, serve.Stderr = out, out
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = serve.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = serve.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cancel()
			<-done
		}
		for _, pan := range consoleTestPANs {
			if strings.Contains(out.String(), pan) {
				t.Errorf("serve output holds test PAN %s…", pan[:6])
			}
		}
		// The ledger the call wrote (database, WAL, everything in the data directory) holds
		// the mask, never the number.
		masks := 0
		_ = filepath.WalkDir(data, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			masks += strings.Count(string(b), "************4242")
			for _, pan := range consoleTestPANs {
				if strings.Contains(string(b), pan) {
					t.Errorf("%s holds test PAN %s…", path, pan[:6])
				}
			}
			return nil
		})
		if masks == 0 && !t.Failed() {
			t.Errorf("the data directory holds no masked card: the payment was not recorded")
		}
		if t.Failed() {
			t.Logf("serve output:\n%s", out.String())
		}
	}()
	base := "http://" + httpAddr
	waitHTTP(t, base+"/healthz", 30*time.Second)
	// serve prints where everything is: console URL, SIP address, data directory, token file.
	for _, want := range []string{base, sipAddr, data, filepath.Join(data, console.TokenFile)} {
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), want) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("serve's start-up output does not mention %s", want)
		}
	}
	token, _, err := console.AdminToken(data, "")
	if err != nil {
		t.Fatalf("admin token in the data directory: %v", err)
	}

	b := startConsoleBrowser(t, 1366, 900)
	consoleSignIn(t, b, base, token)

	number := envOr("PAYBRIDGE_E2E_NUMBER", "+441632960208")
	digits := envOr("PAYBRIDGE_E2E_DIGITS", "4242424242424242#w1230#w123#w12345#")
	call := exec.CommandContext(ctx, bin, "call", "sip:"+number+"@"+sipAddr, "--from", "+447700900123", "--digits", digits, "--timeout", "90s")
	callOut := &testlog.Buffer{}
	call.Stdout, call.Stderr = callOut, callOut
	if err := call.Start(); err != nil {
		t.Fatal(err)
	}
	callDone := make(chan error, 1)
	go func() { callDone <- call.Wait() }()

	b.waitFor("the call appears live", `document.querySelector('#live-calls tbody tr[data-call-id]')`, 30*time.Second)
	b.waitFor("pay progress counts digits", `[...document.querySelectorAll('#live-calls [data-pay-progress]')].some(e => / [1-9][0-9]* digits/.test(e.textContent) || e.textContent.includes("success"))`, 60*time.Second)
	// While the call streams events, the lists and headline figures still refresh.
	b.waitFor("the live call is in recent calls", `document.querySelector('#calls-table tbody tr[data-call-id]') && document.querySelector("#stat-active").textContent === "1"`, 20*time.Second)
	b.screenshot(artifact(t, "console-live.png"))
	b.waitFor("the payment appears", `[...document.querySelectorAll('#payments-table tbody tr')].some(r => r.textContent.includes("************4242"))`, 90*time.Second)
	select {
	case err := <-callDone:
		if err != nil {
			t.Errorf("paybridge call: %v\n%s", err, callOut.String())
		}
	case <-time.After(90 * time.Second):
		t.Errorf("paybridge call did not finish:\n%s", callOut.String())
	}
	b.waitFor("the call is in recent calls, ended", `[...document.querySelectorAll('#calls-table tbody tr[data-call-id]')].some(r => r.textContent.includes("ended"))`, 30*time.Second)
	// The call came over UDP with plain RTP: the console says it was not encrypted.
	b.waitFor("the call's protection", `[...document.querySelectorAll('#calls-table tbody tr[data-call-id]')].some(r => r.querySelector('[data-encrypted="false"]') && r.textContent.includes("UDP + plain RTP"))`, 10*time.Second)
	var row string
	b.mustEval(`[...document.querySelectorAll('#payments-table tbody tr')].find(r => r.textContent.includes("************4242")).textContent`, &row)
	if !strings.Contains(row, "success") {
		t.Errorf("payment row %q: want success", row)
	}
	checkServeMetrics(t, base, token)
	path := artifact(t, "console.png")
	size := b.screenshot(path)
	t.Logf("screenshot: %s (%d bytes)", path, size)
	fmt.Printf("console screenshot: %s\n", path)
	consoleChecks(t, b)
	for _, pan := range consoleTestPANs {
		if strings.Contains(callOut.String(), pan) {
			t.Errorf("paybridge call output holds test PAN %s…", pan[:6])
		}
	}
}

// checkServeMetrics reads /metrics after the call: the payment, the call, its keypresses, its
// RTP and its SIP answer are all counted, no call is left active, and no PAN is in a label.
func checkServeMetrics(t *testing.T, base, token string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	text := string(body)
	for _, re := range []string{
		`(?m)^paybridge_payments_total\{connector="[^"]+",result="success"\} 1$`,
		`(?m)^paybridge_calls_total\{outcome="[^"]+"\} [1-9]`,
		`(?m)^paybridge_dtmf_digits_total\{source="(rfc4733|inband|info)"\} [1-9]`,
		`(?m)^paybridge_rtp_packets_received_total [1-9]`,
		`(?m)^paybridge_sip_responses_total\{code="200"\} [1-9]`,
		`(?m)^paybridge_active_calls 0$`,
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("/metrics after the call does not match %s", re)
		}
	}
	for _, pan := range consoleTestPANs {
		if strings.Contains(text, pan) {
			t.Errorf("/metrics holds test PAN %s…", pan[:6])
		}
	}
}

// artifact is where a test writes a file for people to look at (screenshots): the test's
// artifact directory — kept under -outputdir with go test -artifacts (make test keeps them in
// out/artifacts), a temporary directory otherwise; never the repository.
func artifact(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(t.ArtifactDir(), name)
}

// paybridgeBinary returns $PAYBRIDGE_BIN or builds bin/paybridge.
func paybridgeBinary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("PAYBRIDGE_BIN"); b != "" {
		return b
	}
	root := repoRoot(t)
	bin := filepath.Join(root, "bin", "paybridge")
	build := exec.Command("go", "build", "-o", bin, "./cmd/paybridge")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/paybridge: %v\n%s", err, out)
	}
	return bin
}

func freeTCPAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// freeUDPAddr finds a port free for both UDP and TCP (SIP listens on both).
func freeUDPAddr(t *testing.T) string {
	t.Helper()
	for i := 0; i < 20; i++ {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := c.LocalAddr().String()
		c.Close()
		if l, err := net.Listen("tcp", addr); err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatal("no port free for both UDP and TCP")
	return ""
}

func waitHTTP(t *testing.T, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not up after %v", url, timeout)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func firstLine(s string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	if sc.Scan() {
		return sc.Text()
	}
	return ""
}
