package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/testlog"
	"github.com/paybridge/paybridge/siptest"
	"github.com/paybridge/paybridge/store"
)

// startNode runs a node on loopback with ephemeral ports and the bundled example plans.
func startNode(t *testing.T, extra ...string) (*App, *testlog.Buffer, func()) {
	t.Helper()
	return startNodeWith(t, nil, extra...)
}

// startNodeWith is startNode with before run on the node before it serves.
func startNodeWith(t *testing.T, before func(*App), extra ...string) (*App, *testlog.Buffer, func()) {
	t.Helper()
	data := t.TempDir()
	args := append([]string{"--sip-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--data", data,
		"--rtp-ports", "41000-41200", "--log-level", "debug", "--admin-token", "test-admin-token-0123456789abcdef"}, extra...)
	cfg, err := ParseConfig(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	out := &testlog.Buffer{}
	a, err := New(context.Background(), cfg, func(string) string { return "" }, out)
	if err != nil {
		t.Fatal(err)
	}
	if before != nil {
		before(a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !a.ready.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("node not ready:\n%s", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return a, out, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// TestServePaysACall is the whole product on loopback: a real SIP call keys a card over RFC
// 4733, the bundled "pay" plan charges it through the sandbox over HTTP, and the store, the
// admin API and every log line hold only the mask.
func TestServePaysACall(t *testing.T) {
	a, logs, stop := startNode(t)
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
		Target:  fmt.Sprintf("sip:+441632960208@%s", a.SIPAddr()),
		From:    "+447700900123",
		Digits:  "4242424242424242#W1230#W123#W12345#",
		Timeout: 60 * time.Second,
	})
	if err != nil || !res.Answered {
		t.Fatalf("Dial = %+v, %v", res, err)
	}
	// The plan hangs up after reading the confirmation: the call must end from the far side.
	if res.HangupBy != "remote" {
		t.Errorf("hangup by %q, want remote", res.HangupBy)
	}
	var pays []store.PaymentSession
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		pays, _ = a.Store().ListPayments(context.Background(), store.PaymentFilter{})
		if len(pays) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(pays) != 1 {
		t.Fatalf("payments = %+v", pays)
	}
	p := pays[0]
	if p.Result != "success" || p.MaskedCard != "************4242" || p.CardType != "visa" || p.AmountMinor != 1234 ||
		p.Currency != "GBP" || p.Confirmation == "" {
		t.Fatalf("payment = %+v", p)
	}

	// The admin API shows it (behind the token), the payment page and sandbox are public.
	base := "http://" + a.HTTPAddr()
	req, _ := http.NewRequest("GET", base+"/api/payments", nil)
	req.Header.Set("Authorization", "Bearer test-admin-token-0123456789abcdef")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var list struct{ Items []store.PaymentSession }
	if resp.StatusCode != 200 || json.Unmarshal(body, &list) != nil || len(list.Items) != 1 {
		t.Fatalf("GET /api/payments = %d %s", resp.StatusCode, body)
	}
	if r, err := http.Get(base + "/api/payments"); err != nil || r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unauthenticated /api/payments = %v, %v", r, err)
	}
	// The sandbox is mounted (the bundled plans use it); its ledger needs the admin token, but
	// the plan's own ledger lookup got in with the inspection key its HTTP client carries.
	if r, err := http.Get(base + "/sandbox/ledger"); err != nil || r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /sandbox/ledger without a token = %v, %v", r, err)
	}
	if code, _ := getWithToken(t, base+"/sandbox/ledger", "test-admin-token-0123456789abcdef"); code != 200 {
		t.Fatalf("GET /sandbox/ledger with the admin token = %d", code)
	}
	if st := apiStatus(t, a, p.CallID, "Ledger"); st != "200" {
		t.Fatalf("the plan's ledger lookup answered %q, want 200", st)
	}
	// The operator's figures: the Pay step's result per plan, the time it took to pay, the
	// provider's answers by class, the speech cache (the say example's static text was
	// rendered when it loaded).
	code, metrics := getWithToken(t, base+"/metrics", "test-admin-token-0123456789abcdef")
	for _, re := range []string{
		`(?m)^paybridge_pay_steps_total\{plan="pay",result="success"\} 1$`,
		`(?m)^paybridge_time_to_pay_seconds_count\{channel="voice"\} 1$`,
		`(?m)^paybridge_provider_requests_total\{connector="provider",outcome="2xx"\} [1-9]`,
		`(?m)^paybridge_tts_requests_total\{served="render"\} [1-9]`,
	} {
		if code != 200 || !regexp.MustCompile(re).MatchString(metrics) {
			t.Errorf("/metrics (%d) does not match %s", code, re)
		}
	}
	stop()

	// Card data appears nowhere: logs, API answer, database file and WAL.
	outputs := map[string][]byte{"logs": []byte(logs.String()), "api": body}
	for _, f := range []string{"paybridge.db", "paybridge.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(a.cfg.DataDir, f))
		outputs[f] = b
	}
	for name, b := range outputs {
		for _, pan := range []string{"4242424242424242", "424242424242"} {
			if bytes.Contains(b, []byte(pan)) {
				t.Errorf("%s holds card digits %s", name, pan)
			}
		}
	}
	if !strings.Contains(logs.String(), "call ended") {
		t.Errorf("no call-ended log line:\n%s", logs)
	}
}

// TestServeRefusesUnknownNumbers: a number no plan matches gets 404, and the node keeps going.
func TestServeRefusesUnknownNumbers(t *testing.T) {
	dir := t.TempDir()
	plan := `<CallPlan name="only"><Match number="+441632960555"/><Flow><Play prompt="welcome"/><Hangup/></Flow></CallPlan>`
	if err := os.WriteFile(filepath.Join(dir, "only.xml"), []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	a, _, stop := startNode(t, "--plans", dir)
	defer stop()
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{Target: fmt.Sprintf("sip:+449999@%s", a.SIPAddr()), Timeout: 10 * time.Second})
	if err != nil || res.Status != 404 {
		t.Fatalf("unknown number: %+v, %v", res, err)
	}
	res, err = siptest.Dial(context.Background(), siptest.CallerConfig{Target: fmt.Sprintf("sip:+441632960555@%s", a.SIPAddr()), Timeout: 20 * time.Second})
	if err != nil || !res.Answered || res.HangupBy != "remote" {
		t.Fatalf("known number: %+v, %v", res, err)
	}
}

// TestReloadKeepsValidPlanWhenEditBreaksIt: SIGHUP with a broken edit keeps the old version.
func TestReloadKeepsValidPlanWhenEditBreaksIt(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "p.xml")
	good := `<CallPlan name="p"><Match number="+441632960556"/><Flow><Hangup/></Flow></CallPlan>`
	if err := os.WriteFile(file, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	a, _, stop := startNode(t, "--plans", dir)
	defer stop()
	if err := os.WriteFile(file, []byte(`<CallPlan name="p"><Match number="+441632960556"/><Flow><Hangpu/></Flow></CallPlan>`), 0o644); err != nil {
		t.Fatal(err)
	}
	err := a.Reload()
	if err == nil || !strings.Contains(err.Error(), "keeping the previous version") {
		t.Fatalf("Reload = %v", err)
	}
	if _, ok := a.plans.Set().Match("+441632960556"); !ok {
		t.Fatal("the running plan was dropped by a broken edit")
	}
	infos := a.plans.Plans()
	if len(infos) != 1 || infos[0].Valid || len(infos[0].Messages) == 0 || !strings.Contains(infos[0].Messages[0].Text, "p.xml:1:") {
		t.Fatalf("plan info = %+v", infos)
	}
}

// TestServeLinkFallbackPaysSameSession is the digital fallback end to end: the caller abandons
// card entry with '*', the plan texts a link to the mobile its own lookup returned (not the
// caller's number: the guard trusts lookups), the SMS sits in the outbox, GET shows the page
// without consuming it, POST pays, and the link cannot pay twice.
func TestServeLinkFallbackPaysSameSession(t *testing.T) {
	a, logs, stop := startNode(t, "--merchant-name", "Acme Water", "--merchant-support", "0800 123 4567")
	defer stop()
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
		Target:  fmt.Sprintf("sip:+441632960000@%s", a.SIPAddr()),
		From:    "+15550001111",
		Digits:  "12345678# W 4242*",
		Timeout: 60 * time.Second,
	})
	if err != nil || !res.Answered {
		t.Fatalf("Dial = %+v, %v", res, err)
	}
	ctx := context.Background()
	var sms []store.SMS
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if sms, _ = a.Store().ListSMS(ctx, store.SMSFilter{}); len(sms) > 0 {
			break
		}
	}
	if len(sms) != 1 || sms[0].To != "+447700900123" {
		t.Fatalf("outbox = %+v\n%s", sms, logs)
	}
	link := regexp.MustCompile(`http://\S+/pay/\S+`).FindString(sms[0].Body)
	if link == "" {
		t.Fatalf("no link in the text %q", sms[0].Body)
	}
	// Without an SMS provider the text waits in the outbox, which says so; it names the
	// configured merchant, the amount in its locale, the reference and the support line.
	if sms[0].Status != store.SMSNotSent || sms[0].Error != "no SMS provider configured" ||
		!strings.HasPrefix(sms[0].Body, "Acme Water: pay £12.34 for 12345678 securely at ") || !strings.Contains(sms[0].Body, "Questions: 0800 123 4567.") {
		t.Errorf("outbox entry %q (%s: %s)", sms[0].Body, sms[0].Status, sms[0].Error)
	}
	for i := 0; i < 2; i++ { // SMS apps prefetch: GET never consumes
		r, err := http.Get(link)
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("GET link = %v, %v", r, err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if !strings.Contains(string(body), "<title>Pay Acme Water – Acme Water</title>") || !strings.Contains(string(body), "£12.34") ||
			!strings.Contains(string(body), "Contact Acme Water: 0800 123 4567") {
			t.Errorf("payment page:\n%s", body)
		}
	}
	form := url.Values{"cc-number": {"5555 5555 5555 4444"}, "cc-exp": {"12/30"}, "cc-csc": {"123"}}
	r, err := http.PostForm(link, form)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || !strings.Contains(string(page), "Payment received") {
		t.Fatalf("POST link = %d\n%s", r.StatusCode, page)
	}
	r, err = http.PostForm(link, form)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode == 200 && strings.Contains(string(again), "Payment received") {
		t.Fatal("the link paid twice")
	}
	var pays []store.PaymentSession
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		pays, _ = a.Store().ListPayments(ctx, store.PaymentFilter{})
		if len(pays) > 0 && pays[0].Channel == "link" {
			break
		}
	}
	found := false
	for _, p := range pays {
		if p.Channel == "link" && p.Result == "success" && p.Confirmation != "" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no paid link session in %+v", pays)
	}
	// The link completed the session the abandoned capture started: one record with its facts.
	if len(pays) != 1 || pays[0].AmountMinor != 1234 || pays[0].Currency != "GBP" || pays[0].Reference != "12345678" ||
		pays[0].MaskedCard != "************4444" || pays[0].CardType != "mastercard" || pays[0].Connector != "provider" {
		t.Errorf("link record lacks its facts: %+v", pays)
	}
	for _, out := range []string{logs.String(), string(page), string(again), sms[0].Body} {
		if strings.Contains(out, "5555555555554444") || strings.Contains(out, "5555 5555 5555 4444") {
			t.Fatal("card digits in an output")
		}
	}
}

// TestPlansWarnAboutMissingPrompts: serve reports a prompt no file provides, as validate does.
func TestPlansWarnAboutMissingPrompts(t *testing.T) {
	dir := t.TempDir()
	plan := `<CallPlan name="w"><Match number="+441632960557"/><Flow><Play prompt="no-such-prompt"/><Hangup/></Flow></CallPlan>`
	if err := os.WriteFile(filepath.Join(dir, "w.xml"), []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _ := newPlanRegistry(dir, func(string) string { return "" }, slog.New(slog.DiscardHandler), nil)
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	infos := r.Plans()
	if len(infos) != 1 || !infos[0].Valid || len(infos[0].Messages) != 1 ||
		infos[0].Messages[0].Severity != "warning" || !strings.Contains(infos[0].Messages[0].Text, "no-such-prompt") {
		t.Fatalf("plans = %+v", infos)
	}
}

// TestSecondServeOnOneDataDirectoryRefused: two nodes on one data directory (one SQLite
// ledger) are refused with a message that says so; the first keeps running, and once it has
// stopped the directory can be used again.
func TestSecondServeOnOneDataDirectoryRefused(t *testing.T) {
	a, _, stop := startNode(t)
	cfg := a.cfg
	cfg.SIPAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	_, err := New(context.Background(), cfg, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "is in use by another paybridge (pid ") ||
		!strings.Contains(err.Error(), cfg.DataDir) {
		t.Fatalf("second node on %s: %v", cfg.DataDir, err)
	}
	if !a.ready.Load() {
		t.Fatal("the first node stopped being ready")
	}
	stop()
	b, err := New(context.Background(), cfg, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("after the first node stopped: %v", err)
	}
	b.closeAll()
}
