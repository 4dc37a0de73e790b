package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/testlog"
	"github.com/paybridge/paybridge/siptest"
	"github.com/paybridge/paybridge/store"
)

// crashProc is a paybridge process of the crash test, with its output captured.
type crashProc struct {
	cmd *exec.Cmd
	out *testlog.Buffer
}

// crashStart runs the binary and waits until a line of its output matches ready; it returns
// the submatches of that line.
func crashStart(t *testing.T, bin string, ready *regexp.Regexp, args ...string) (*crashProc, []string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &crashProc{cmd: cmd, out: &testlog.Buffer{}}
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.out, line)
			if m := ready.FindStringSubmatch(line); m != nil {
				select {
				case found <- m:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); pw.Close() })
	select {
	case m := <-found:
		return p, m
	case <-time.After(20 * time.Second):
		t.Fatalf("%s %v did not start:\n%s", bin, args, p.out)
	}
	return nil, nil
}

type sandboxCharge struct {
	IdempotencyKey string `json:"idempotency_key"`
	Status         string `json:"status"`
	Last4          string `json:"last4"`
}

func sandboxLedger(t *testing.T, base string) []sandboxCharge {
	t.Helper()
	resp, err := http.Get(base + "/ledger")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var l []sandboxCharge
	if err := json.Unmarshal(body, &l); err != nil {
		var wrapped struct{ Charges []sandboxCharge }
		if err2 := json.Unmarshal(body, &wrapped); err2 != nil {
			t.Fatalf("sandbox ledger: %v: %s", err, body)
		}
		l = wrapped.Charges
	}
	return l
}

// sandboxCaptures is how many session capture requests the sandbox has received (counted
// before its latency, so also those it has not answered yet).
func sandboxCaptures(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/admin/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Requests map[string]int `json:"requests"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("sandbox stats: %v", err)
	}
	return st.Requests["POST /globalpci/v1/session/{id}/capture"]
}

// TestCrashMidPaymentNothingLostNothingTwice kills paybridge with SIGKILL while a batch of
// phone payments is with the provider, restarts it on the same data directory, and shows from
// the provider's ledger and the store that every charge the provider made is recorded as paid,
// that no attempt is left pending, and that no idempotency key was charged twice.
func TestCrashMidPaymentNothingLostNothingTwice(t *testing.T) {
	bin := paybridgeBinary(t)
	// The provider is its own process: it outlives the crash, like a real one.
	_, m := crashStart(t, bin, regexp.MustCompile(`listening on (http://\S+)`), "sandbox", "--addr", "127.0.0.1:0")
	sandbox := m[1]
	// Every provider request takes a while, so the kill lands with captures in flight.
	req, _ := http.NewRequest(http.MethodPut, sandbox+"/admin/faults", strings.NewReader(`{"latency":"700ms"}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("setting sandbox faults: %v %v", resp, err)
	}

	plans, data := t.TempDir(), t.TempDir()
	plan := fmt.Sprintf(`<CallPlan name="crash">
  <Match number="+441632960990"/>
  <Connector name="provider" type="session" baseUrl="%s" account="crash-account">
    <ClientCredentials clientId="#(env:CRASH_CLIENT_ID:-crash)" clientSecret="#(env:CRASH_CLIENT_SECRET:-sandbox-secret)"/>
  </Connector>
  <Flow>
    <Pay connector="provider" amount="7.50" currency="GBP" reference="crash-$(Call.Id)" securityCode="true" postalCode="false" var="Pay"/>
    <Hangup/>
  </Flow>
</CallPlan>`, sandbox)
	if err := os.WriteFile(filepath.Join(plans, "crash.xml"), []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	sipLine := regexp.MustCompile(`SIP\s+(\S+) \(UDP`)
	serveArgs := []string{"serve", "--sip-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--data", data,
		"--plans", plans, "--rtp-ports", "42000-42400", "--admin-token", "crash-admin-token-0123456789abcdef"}
	node, m := crashStart(t, bin, sipLine, serveArgs...)
	target := "sip:+441632960990@" + m[1]

	const calls = 12
	var wg sync.WaitGroup
	for i := 0; i < calls; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = siptest.Dial(context.Background(), siptest.CallerConfig{Target: target, From: "+447700900123",
				Digits: "4242424242424242#1230#123#", Timeout: 12 * time.Second})
		}()
	}
	// Kill -9 once a third of the calls have reached the provider and it holds a capture it has
	// not answered yet (in its 700 ms of latency): that payment is pending in paybridge's
	// store. (Killing at the first charge left nothing pending when a busy machine spread the
	// calls out — the charge's answer was already recorded and no other capture had been sent —
	// and missed its moment when they came all at once.)
	deadline := time.Now().Add(60 * time.Second)
	for {
		received := sandboxCaptures(t, sandbox)   // before the ledger: a capture counted here and
		charged := len(sandboxLedger(t, sandbox)) // not charged there is still being processed
		if received > charged && received >= calls/3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no moment with a capture in flight at the provider (%d captures, %d charged):\n%s", received, charged, node.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := node.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = node.cmd.Wait()
	wg.Wait()
	// The provider finishes what it received: a capture it has not charged yet is one the
	// restart's reconciliation would find "not received" and leave pending for its grace
	// minute. Wait for it rather than for a fixed time a busy machine may exceed.
	for deadline := time.Now().Add(30 * time.Second); sandboxCaptures(t, sandbox) > len(sandboxLedger(t, sandbox)); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the provider did not finish the captures it received")
		}
	}

	db := filepath.Join(data, "paybridge.db")
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	pendingAtCrash, _ := st.PendingAttempts(context.Background())
	st.Close()
	chargedAtCrash := len(sandboxLedger(t, sandbox))
	if len(pendingAtCrash) == 0 {
		t.Fatalf("the crash left no payment pending (charged %d): the test did not exercise recovery", chargedAtCrash)
	}

	// Restart on the same data: the node listens at once and reconciles in the background,
	// settling the pending attempts with the provider and completing their records.
	node2, _ := crashStart(t, bin, sipLine, serveArgs...)
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(node2.out.String(), "reconciled pending payments"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("restart did not reconcile:\n%s", node2.out)
		}
	}
	apiBase := regexp.MustCompile(`console\s+(http://\S+)/`).FindStringSubmatch(node2.out.String())
	if apiBase == nil {
		t.Fatalf("no console line:\n%s", node2.out)
	}
	api := func(path string, out any) {
		t.Helper()
		req, _ := http.NewRequest("GET", apiBase[1]+path, nil)
		req.Header.Set("Authorization", "Bearer crash-admin-token-0123456789abcdef")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(out) != nil {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
	}
	// Every charge the provider holds is a complete payment record, found where the console
	// looks; every call the crash cut off is ended; the collected total is the provider's.
	var captured int64
	var paid []store.PaymentSession
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var list struct{ Items []store.PaymentSession }
		api("/api/payments?result=success&limit=200", &list)
		paid, captured = list.Items, 0
		for _, c := range sandboxLedger(t, sandbox) {
			if c.Status == "succeeded" {
				captured += 750
			}
		}
		if int64(len(paid))*750 == captured || time.Now().After(deadline) {
			break
		}
	}
	if int64(len(paid))*750 != captured {
		t.Errorf("%d payment records of success for %d minor units captured", len(paid), captured)
	}
	for _, p := range paid {
		var detail struct{ Payment store.PaymentSession }
		api("/api/payments/"+p.ID, &detail)
		var call struct {
			Call     store.Call
			Payments []store.PaymentSession
		}
		api("/api/calls/"+p.CallID, &call)
		if p.AmountMinor != 750 || p.Currency != "GBP" || p.MaskedCard != "************4242" || p.Confirmation == "" ||
			detail.Payment.ID != p.ID || len(call.Payments) == 0 || call.Call.State != store.CallEnded {
			t.Errorf("payment %+v; its call %+v with %d payments", p, call.Call, len(call.Payments))
		}
	}
	var active struct{ Items []store.Call }
	api("/api/calls?state=active", &active)
	var stats store.Stats
	api("/api/stats", &stats)
	if len(active.Items) != 0 || stats.Collected["GBP"] != captured {
		t.Errorf("after restart: %d calls still active, collected %v for %d captured", len(active.Items), stats.Collected, captured)
	}
	_ = node2.cmd.Process.Signal(syscall.SIGTERM)
	_ = node2.cmd.Wait()

	st, err = store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	attempts, err := st.ListAttempts(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]store.Attempt{}
	for _, a := range attempts {
		byKey[a.IdempotencyKey] = a
	}
	ledger := sandboxLedger(t, sandbox)
	// Nothing the provider received is left pending. An attempt it never received (the kill
	// came while its request was being sent) is left for reconciliation's grace minute — its
	// request could still be on its way — and then settled as not charged (gateway
	// TestReconcile*); it holds no charge, so nothing is lost.
	left, _ := st.PendingAttempts(ctx)
	for _, a := range left {
		if slices.ContainsFunc(ledger, func(c sandboxCharge) bool { return c.IdempotencyKey == a.IdempotencyKey }) {
			t.Errorf("attempt %s: the provider received it, yet it is still pending after reconciliation", a.IdempotencyKey)
		}
	}
	charged := map[string]int{}
	for _, c := range ledger {
		if c.Status != "succeeded" {
			continue
		}
		charged[c.IdempotencyKey]++
		if charged[c.IdempotencyKey] > 1 {
			t.Errorf("idempotency key %s charged twice", c.IdempotencyKey)
		}
		a, ok := byKey[c.IdempotencyKey]
		switch {
		case !ok:
			t.Errorf("the provider charged %s but the store has no attempt: a payment was lost", c.IdempotencyKey)
		case a.Result != "approved":
			t.Errorf("the provider charged %s but the store says %q", c.IdempotencyKey, a.Result)
		}
	}
	approved := 0
	for key, a := range byKey {
		if a.Result == "approved" {
			approved++
			if charged[key] != 1 {
				t.Errorf("the store says %s was paid but the provider has no charge", key)
			}
		}
	}
	t.Logf("calls=%d charged=%d attempts=%d pending_at_crash=%d approved_after_restart=%d never_received_left_for_grace=%d",
		calls, len(charged), len(attempts), len(pendingAtCrash), approved, len(left))
	for _, f := range []string{db, db + "-wal"} {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), "4242424242424242") {
			t.Errorf("%s holds a card number", f)
		}
	}
}
