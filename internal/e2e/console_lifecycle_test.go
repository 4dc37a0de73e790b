package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/internal/testlog"
)

// TestConsoleLifecycle: the built binary serves; a real SIP call to the bundled hold-capture
// plan authorises 30.00 by keypad, captures 25.00 (final) and refunds 2.50 from the plan. In
// headless Chromium the admin opens the payment: its money (authorised, captured, refunded),
// the refund form and the history with each actor. A refund of 5.00 through the form updates
// the view and the API; a second refund of more than is left is refused with the reason shown.
// Screenshot: console-lifecycle.png.
func TestConsoleLifecycle(t *testing.T) {
	bin := paybridgeBinary(t)
	data := t.TempDir()
	httpAddr, sipAddr := freeTCPAddr(t), freeUDPAddr(t)
	rtpLow := 43000 + (os.Getpid()%400)*20
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
		if strings.Contains(out.String(), "4242424242424242") {
			t.Error("serve output holds the test card number")
		}
		if t.Failed() {
			t.Logf("serve output:\n%s", out.String())
		}
	}()
	base := "http://" + httpAddr
	waitHTTP(t, base+"/healthz", 30*time.Second)
	var token string
	for deadline := time.Now().Add(10 * time.Second); token == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		token, _, _ = console.AdminToken(data, "")
	}

	call := exec.CommandContext(ctx, bin, "call", "sip:+441632960214@"+sipAddr, "--from", "+447700900123",
		"--digits", "4242424242424242#w1230#w123#", "--timeout", "90s")
	if b, err := call.CombinedOutput(); err != nil {
		t.Fatalf("paybridge call: %v\n%s", err, b)
	}
	// The payment as the API has it once the plan's capture and refund are recorded.
	type payment struct {
		ID        string `json:"id"`
		Lifecycle string `json:"lifecycle"`
		Captured  int64  `json:"captured_minor"`
		Refunded  int64  `json:"refunded_minor"`
	}
	get := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || json.Unmarshal(b, v) != nil {
			t.Fatalf("GET %s = %d %s", path, res.StatusCode, b)
		}
	}
	var p payment
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var list struct{ Items []payment }
		get("/api/payments", &list)
		if len(list.Items) == 1 && list.Items[0].Refunded == 250 {
			p = list.Items[0]
			break
		}
	}
	if p.ID == "" || p.Captured != 2500 || p.Lifecycle != "partially_refunded" {
		t.Fatalf("payment after the call: %+v", p)
	}

	b := startConsoleBrowser(t, 1366, 1000)
	consoleSignIn(t, b, base, token)
	b.waitFor("the payment is listed", `[...document.querySelectorAll('#payments-table tbody tr')].some(r => r.textContent.includes("************4242"))`, 20*time.Second)
	b.mustEval(`[...document.querySelectorAll('#payments-table tbody tr')].find(r => r.textContent.includes("************4242")).click(); true`, nil)
	b.waitFor("the payment's money", `document.querySelector('#payment-detail [data-captured]') !== null`, 10*time.Second)
	var money struct{ Authorized, Captured, Refunded string }
	b.mustEval(`({Authorized: document.querySelector('#payment-detail [data-authorized]').textContent,
		Captured: document.querySelector('#payment-detail [data-captured]').textContent,
		Refunded: document.querySelector('#payment-detail [data-refunded]').textContent})`, &money)
	if !strings.Contains(money.Authorized, "30.00") || !strings.Contains(money.Captured, "25.00") || !strings.Contains(money.Refunded, "2.50") {
		t.Fatalf("the console shows %+v", money)
	}
	var actions []string
	b.mustEval(`[...document.querySelectorAll('#payment-detail tr[data-history-action]')].map(r => r.dataset.historyAction)`, &actions)
	// The plan's lines, in order (the provider's capture.settled may come between them).
	var ours []string
	for _, a := range actions {
		if a != "capture.settled" {
			ours = append(ours, a)
		}
	}
	if strings.Join(ours, " ") != "authorized capture.requested captured refund.requested refunded" {
		t.Fatalf("history rows %v", actions)
	}
	// No capture or void form: nothing is held any more. A refund through the form.
	var forms []string
	b.mustEval(`[...document.querySelectorAll('#payment-detail form[data-op]')].map(f => f.dataset.op)`, &forms)
	if strings.Join(forms, " ") != "refunds" {
		t.Fatalf("operation forms %v, want only refunds", forms)
	}
	b.mustEval(`const f = document.querySelector('#payment-detail form[data-op="refunds"]');
		f.querySelector('input[name=amount]').value = "5.00"; f.querySelector('input[name=reason]').value = "damaged in transit";
		f.requestSubmit(); true`, nil)
	b.waitFor("the refund shows", `(document.querySelector('#payment-detail [data-refunded]') || {}).textContent?.includes("7.50")`, 20*time.Second)
	b.screenshot(artifact(t, "console-lifecycle.png"))
	get("/api/payments/"+p.ID, &struct{ Payment *payment }{&p})
	if p.Refunded != 750 {
		t.Fatalf("after the console's refund the API says %+v", p)
	}
	// More than is left (25.00 − 7.50 = 17.50) is refused, and the form says why.
	b.mustEval(`const g = document.querySelector('#payment-detail form[data-op="refunds"]');
		g.querySelector('input[name=amount]').value = "20.00"; g.requestSubmit(); true`, nil)
	b.waitFor("the refusal is shown", `[...document.querySelectorAll('#payment-detail .op-msg')].some(m => /less is left|exceed/i.test(m.textContent))`, 20*time.Second)
	get("/api/payments/"+p.ID, &struct{ Payment *payment }{&p})
	if p.Refunded != 750 {
		t.Fatalf("a refused refund changed the payment: %+v", p)
	}
	for _, e := range b.pageErrors() {
		if strings.Contains(e, "favicon") || strings.Contains(e, "status of 401") && strings.Contains(e, "/api/whoami") ||
			strings.Contains(e, "status of 422") && strings.Contains(e, "/refunds") {
			continue // the deliberate wrong-token sign-in and the refused refund
		}
		t.Errorf("page error: %s", e)
	}
}
