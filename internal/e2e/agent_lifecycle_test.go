package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/internal/baresip"
	"github.com/paybridge/paybridge/sandbox"
	"github.com/paybridge/paybridge/store"
)

// The agent channel of issue 15 end to end: the built binary answers a caller (`paybridge
// call`, RFC 4733), <Dial>s a baresip agent, and the test drives the Payments API with its
// lifecycle options — an authorisation (Method=authorize), captured afterwards through the
// admin API, and a bank debit (PaymentMethod=ach-debit, Capture=bank-routing-number then
// bank-account-number). The record, its history and the StatusCallbacks agree with the
// embedded sandbox's ledger, and no digit of the card or the account is in any output; the
// control shows the outputs hold the masks the scan would sit beside.

// sandboxLedgerOf reads the embedded sandbox's ledger with the admin token.
func (n *sipNode) sandboxLedgerOf(t *testing.T) []sandbox.Charge {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, n.http+"/sandbox/ledger", nil)
	req.Header.Set("Authorization", "Bearer "+sipE2EAdminToken)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var l []sandbox.Charge
	if err := json.Unmarshal(body, &l); err != nil {
		var wrapped struct {
			Charges []sandbox.Charge `json:"charges"`
		}
		if err2 := json.Unmarshal(body, &wrapped); err2 != nil {
			t.Fatalf("sandbox ledger (HTTP %d): %v: %.200s", resp.StatusCode, err, body)
		}
		l = wrapped.Charges
	}
	return l
}

// hookSink collects the node's signed result webhooks.
type hookSink struct {
	secret string
	mu     sync.Mutex
	events []gateway.WebhookEvent
	raw    strings.Builder
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if gateway.VerifySignature(r.Header.Get(gateway.SignatureHeader), body, h.secret, 5*time.Minute) != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var ev gateway.WebhookEvent
	if json.Unmarshal(body, &ev) != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.raw.Write(body)
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// last is the data of the last webhook about payment id.
func (h *hookSink) last(t *testing.T, id string) store.PaymentSession {
	h.mu.Lock()
	defer h.mu.Unlock()
	var p store.PaymentSession
	for _, ev := range h.events {
		var d store.PaymentSession
		if json.Unmarshal(ev.Data, &d) == nil && d.ID == id {
			p = d
		}
	}
	return p
}

func (h *hookSink) text() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.raw.String()
}

func TestAgentAuthorizeAndBankE2E(t *testing.T) {
	const (
		routing = "110000000"
		account = "000123456789"
	)
	for i, tc := range []struct {
		name   string
		open   url.Values
		fields []string
		script string
	}{
		{"authorize", url.Values{"ChargeAmount": {"30.00"}, "Currency": {"GBP"}, "Method": {"authorize"}},
			[]string{"payment-card-number", "expiration-date", "security-code"}, "|" + agentCard + "|" + agentExpiry + "|" + agentCVV + "WW"},
		{"ach-debit", url.Values{"ChargeAmount": {"12.00"}, "Currency": {"USD"}, "PaymentMethod": {"ach-debit"}, "BankAccountType": {"consumer-savings"}},
			[]string{"bank-routing-number", "bank-account-number"}, "|" + routing + "|" + account + "#WW"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agent := baresip.StartWith(t, baresip.Options{User: "agent", AutoAnswer: true})
			cb := startCallbackSink(t)
			hooks := &hookSink{secret: "agent-lifecycle-webhook-secret"}
			hookSrv := httptest.NewServer(hooks)
			defer hookSrv.Close()
			n := startSIPNodeWith(t, 44400+100*i, agentPlanFor(agent.SIPAddr), "--http-allow", "127.0.0.1",
				"--webhook-url", hookSrv.URL, "--webhook-secret", hooks.secret)
			n.payTo = "+441632960888"
			caller := exec.Command(sipPaybridge(t), "call", "sip:+441632960888@"+n.sip, "--from", "+447700900123",
				"--dtmf", "rfc4733", "--digits", tc.script, "--timeout", "120s")
			var callerOut strings.Builder
			caller.Stdout, caller.Stderr = &callerOut, &callerOut
			goOn, err := caller.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := caller.Start(); err != nil {
				t.Fatal(err)
			}
			callerDone := make(chan struct{})
			go func() { caller.Wait(); close(callerDone) }()
			t.Cleanup(func() { caller.Process.Kill(); <-callerDone })
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("paybridge:\n%s\ncaller:\n%s", tail(n.out.String(), 4000), callerOut.String())
				}
			})
			agent.WaitEvent(t, "CALL_ESTABLISHED", 20*time.Second)
			call := n.waitCall(t, "answered", 10*time.Second)
			base := "/api/calls/" + call.ID + "/payments"
			open := url.Values{"IdempotencyKey": {"open-1"}, "StatusCallback": {cb.url}}
			for k, v := range tc.open {
				open[k] = v
			}
			var v agentView
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				code, body := n.agentPost(t, base, open)
				if code == http.StatusCreated {
					json.Unmarshal(body, &v)
					break
				}
				if code != http.StatusConflict || time.Now().After(deadline) {
					t.Fatalf("open: %d %s", code, body)
				}
			}
			if v.Required != strings.Join(tc.fields, ",") {
				t.Fatalf("opened %+v", v)
			}
			pay := base + "/" + v.Sid
			for j, f := range tc.fields {
				n.agentMust(t, pay, url.Values{"IdempotencyKey": {fmt.Sprint("c", j)}, "Capture": {f}}, 200)
				if _, err := io.WriteString(goOn, "\n"); err != nil { // the caller keys the field now
					t.Fatal(err)
				}
				v = n.waitField(t, call.ID, v.Sid, f)
			}
			done := n.agentMust(t, pay, url.Values{"IdempotencyKey": {"done"}, "Status": {"complete"}}, 200)
			if done.Status != "complete" || done.Result != "success" || done.PaymentConfirmationCode == "" {
				t.Fatalf("completed %+v", done)
			}
			var full map[string]any
			_, body := n.agentPost(t, pay, url.Values{"IdempotencyKey": {"done"}, "Status": {"complete"}})
			json.Unmarshal(body, &full)

			// The record, found by its call, against the sandbox's ledger.
			var list struct{ Items []store.PaymentSession }
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				n.apiGet(t, "/api/payments?call_id="+call.ID+"&result=success", &list)
				if len(list.Items) == 1 {
					break
				}
			}
			if len(list.Items) != 1 {
				t.Fatalf("payment records of the call: %+v", list.Items)
			}
			rec := list.Items[0]
			var charge *sandbox.Charge
			for _, c := range n.sandboxLedgerOf(t) {
				if c.SessionID == rec.ID {
					charge = &c
				}
			}
			if charge == nil || charge.ID != done.PaymentConfirmationCode || rec.Confirmation != charge.ID || rec.Channel != "agent" ||
				rec.AuthorizedMinor != charge.Authorized || rec.CapturedMinor != charge.Captured || rec.Currency != charge.Currency {
				t.Fatalf("record %+v\nledger %+v", rec, charge)
			}
			switch tc.name {
			case "authorize":
				if rec.Method != "authorize" || rec.Lifecycle != "authorized" || charge.Method != "authorize" || charge.Status != "authorized" ||
					charge.Authorized != 3000 || rec.MaskedCard != "************4242" || full["AuthorizedUntil"] == nil ||
					rec.AuthorizedUntil.Sub(charge.AuthorizedUntil).Abs() > time.Second {
					t.Fatalf("authorised record %+v\nledger %+v\nanswer %v", rec, charge, full)
				}
				// Captured through the admin API: the ledger and the record agree after it.
				req, _ := http.NewRequest("POST", n.http+"/api/payments/"+rec.ID+"/capture", strings.NewReader(`{"amount":"30.00"}`))
				req.Header.Set("Authorization", "Bearer "+sipE2EAdminToken)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", "agent-cap-1")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("capture: %d", resp.StatusCode)
				}
				var detail struct {
					Payment store.PaymentSession
					History []store.HistoryEntry
				}
				n.apiGet(t, "/api/payments/"+rec.ID, &detail)
				for _, c := range n.sandboxLedgerOf(t) {
					if c.SessionID == rec.ID {
						charge = &c
					}
				}
				var lines []string
				for _, h := range detail.History {
					if h.Actor.Kind != "provider" {
						lines = append(lines, h.Actor.Kind+":"+h.Action)
					}
				}
				if detail.Payment.CapturedMinor != charge.Captured || charge.Captured != 3000 || detail.Payment.Lifecycle != "captured" ||
					strings.Join(lines, " ") != "agent:authorized admin:capture.requested admin:captured" {
					t.Fatalf("after the capture: record %+v history %v; ledger %+v", detail.Payment, lines, charge)
				}
			case "ach-debit":
				if rec.PaymentMethod != "ach-debit" || rec.BankAccountType != "consumer-savings" || rec.MaskedAccount != "********6789" ||
					rec.MaskedCard != "" || charge.PaymentMethod != "ach-debit" || charge.AccountType != rec.BankAccountType ||
					charge.Last4 != "6789" || charge.Amount != 1200 || full["BankAccountNumber"] != "********6789" {
					t.Fatalf("bank record %+v\nledger %+v\nanswer %v", rec, charge, full)
				}
			}
			agent.Command(t, "hangup", "")
			agent.WaitEvent(t, "CALL_CLOSED", 15*time.Second)
			select {
			case <-callerDone:
			case <-time.After(20 * time.Second):
				t.Fatal("the plan did not hang up after the bridge")
			}
			n.waitCall(t, "ended", 10*time.Second)

			// Webhooks: the last about the payment carries its record as stored, which agrees
			// with the ledger (checked above and after the capture).
			var stored struct{ Payment store.PaymentSession }
			n.apiGet(t, "/api/payments/"+rec.ID, &stored)
			var hook store.PaymentSession
			for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				if hook = hooks.last(t, rec.ID); hook.Lifecycle == stored.Payment.Lifecycle && hook.CapturedMinor == stored.Payment.CapturedMinor {
					break
				}
			}
			if hook.ID != rec.ID || hook.Channel != "agent" || hook.Lifecycle != stored.Payment.Lifecycle || hook.AuthorizedMinor != stored.Payment.AuthorizedMinor ||
				hook.CapturedMinor != stored.Payment.CapturedMinor || hook.Method != stored.Payment.Method || hook.PaymentMethod != stored.Payment.PaymentMethod ||
				hook.MaskedAccount != stored.Payment.MaskedAccount || hook.MaskedCard != stored.Payment.MaskedCard || hook.Confirmation != charge.ID {
				t.Errorf("last webhook about %s: %+v\nstored %+v", rec.ID, hook, stored.Payment)
			}

			// StatusCallbacks: the last says complete, with the masks.
			cbs, cbText := cb.all()
			for deadline := time.Now().Add(10 * time.Second); (len(cbs) == 0 || cbs[len(cbs)-1].Get("Status") != "complete") && time.Now().Before(deadline); {
				time.Sleep(100 * time.Millisecond)
				cbs, cbText = cb.all()
			}
			if len(cbs) == 0 || cbs[len(cbs)-1].Get("Result") != "success" || cbs[len(cbs)-1].Get("PaymentConfirmationCode") != charge.ID {
				t.Fatalf("status callbacks %v", cbs)
			}
			// No digit anywhere: serve's output, the timeline, the callbacks, the database.
			var timeline string
			n.apiGet(t, "/api/calls/"+call.ID, &timeline)
			db, _ := os.ReadFile(filepath.Join(n.data, "paybridge.db"))
			wal, _ := os.ReadFile(filepath.Join(n.data, "paybridge.db-wal"))
			outputs := map[string]string{"serve output": n.out.String(), "timeline": timeline, "callbacks": cbText,
				"database": string(db) + string(wal), "webhooks": hooks.text()}
			mask := map[string]string{"authorize": "************4242", "ach-debit": "********6789"}[tc.name]
			if !strings.Contains(outputs["database"], mask) || !strings.Contains(cbText, url.QueryEscape(mask)) && !strings.Contains(cbText, mask) {
				t.Errorf("the control: the database or the callbacks do not hold the mask %s", mask)
			}
			for what, text := range outputs {
				sipAssertNoPAN(t, what, text)
				for _, secret := range []string{account, agentCard[:12]} {
					if strings.Contains(text, secret) {
						t.Errorf("%s holds %s", what, secret)
					}
				}
			}
		})
	}
}
