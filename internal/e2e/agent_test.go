package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/audiofile"
	"github.com/paybridge/paybridge/internal/baresip"
	"github.com/paybridge/paybridge/internal/spandspref"
)

// Agent-assisted payments end to end: the built binary answers a caller (`paybridge call`),
// <Dial>s a baresip agent that answers by itself and records what it hears, and the test
// drives the Payments API as an agent's desktop would: open a payment, take the number, the
// expiry and the security code as the caller keys them, complete. The agent's recording is
// then decoded by three detectors — the project's own, multimon-ng and spandsp (relaxed, the
// attacker's settings) — and must hold no key of the card; a control call on which nobody
// opens a payment proves that the same recording path and detectors find every key.

// agentPlanFor dials the agent at addr and hangs up once the bridge ends.
func agentPlanFor(addr string) string {
	return fmt.Sprintf(`<CallPlan name="agent-e2e">
  <Match number="+441632960888"/>
  <Connector name="provider" type="session" baseUrl="sandbox" account="agent-e2e">
    <ClientCredentials clientId="#(env:SIPE2E_CLIENT_ID:-demo)" clientSecret="#(env:SIPE2E_CLIENT_SECRET:-sandbox-secret)"/>
  </Connector>
  <Flow>
    <Dial timeout="20s" var="Dial"><Sip agent="alice">sip:agent@%s</Sip></Dial>
    <Hangup reason="after-dial"/>
  </Flow>
</CallPlan>`, addr)
}

// The caller keys the card with pauses in which the agent asks for the next field.
const (
	agentCard   = "4242424242424242"
	agentExpiry = "1230"
	agentCVV    = "123"
	agentScript = "WWWWW" + agentCard + "WWWWW" + agentExpiry + "WWWWW" + agentCVV + "WW"
	// agentGatedScript keys each field only when the test says the agent is taking it (a
	// line on the caller's standard input): on a starved machine the agent's side (the API,
	// headless Chromium) can take longer than any fixed pause, and keys sent before the
	// capture starts are not the card.
	agentGatedScript = "|" + agentCard + "|" + agentExpiry + "|" + agentCVV + "WW"
)

// callbackSink collects the StatusCallbacks posted to it.
type callbackSink struct {
	url  string
	mu   sync.Mutex
	got  []url.Values
	body strings.Builder
}

func startCallbackSink(t *testing.T) *callbackSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &callbackSink{url: "http://" + ln.Addr().String() + "/status"}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		v, _ := url.ParseQuery(string(b))
		c.mu.Lock()
		c.got = append(c.got, v)
		c.body.Write(b)
		c.body.WriteByte('\n')
		c.mu.Unlock()
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return c
}

func (c *callbackSink) all() ([]url.Values, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]url.Values(nil), c.got...), c.body.String()
}

// agentView is the part of a Payments API answer the test reads.
type agentView struct {
	Sid                     string
	Status                  string
	PaymentCardNumber       string
	PaymentCardType         string
	SecurityCode            string
	ExpirationDate          string
	Required                string
	Result                  string
	PaymentConfirmationCode string
	Fields                  []struct {
		Name     string `json:"name"`
		Digits   int    `json:"digits"`
		Complete bool   `json:"complete"`
		Valid    bool   `json:"valid"`
	}
}

func (v agentView) field(name string) (digits int, valid bool) {
	for _, f := range v.Fields {
		if f.Name == name {
			return f.Digits, f.Valid
		}
	}
	return 0, false
}

// agentPost posts a Payments API form and returns the status and the body.
func (n *sipNode) agentPost(t *testing.T, path string, form url.Values) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", n.http+path, strings.NewReader(form.Encode()))
	req.Header.Set("Authorization", "Bearer "+sipE2EAdminToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, body
}

func (n *sipNode) agentMust(t *testing.T, path string, form url.Values, want int) agentView {
	t.Helper()
	code, body := n.agentPost(t, path, form)
	if code != want {
		t.Fatalf("POST %s %v: %d %s\n%s", path, form, code, body, tail(n.out.String(), 3000))
	}
	var v agentView
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// waitField polls the payment until field holds a valid entry.
func (n *sipNode) waitField(t *testing.T, callID, pid, field string) agentView {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var v agentView
		n.apiGet(t, "/api/calls/"+callID+"/payments/"+pid, &v)
		if _, ok := v.field(field); ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never entered: %+v\n%s", field, v, tail(n.out.String(), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// heardKeys decodes a recording with the three detectors.
func heardKeys(t *testing.T, wav string) (own, multimon, spandsp string, loud int) {
	t.Helper()
	f, err := os.Open(wav)
	if err != nil {
		t.Fatal(err)
	}
	pcm, _, err := audiofile.ReadWAV(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range pcm {
		if v > 1500 || v < -1500 {
			loud++
		}
	}
	var b strings.Builder
	for _, e := range audiofile.AudioDigits(pcm) {
		b.WriteByte(e.Digit.Char())
	}
	rx := spandspref.NewRelaxedRx()
	defer rx.Close()
	var s strings.Builder
	for i := 0; i < len(pcm); i += 160 {
		s.WriteString(rx.Process(pcm[i:min(i+160, len(pcm))]))
	}
	return b.String(), multimonKeys(t, wav), s.String(), loud
}

func TestAgentPaymentE2E(t *testing.T) {
	sipTool(t, "multimon-ng")
	for i, tc := range []struct {
		name    string
		dtmf    string
		secure  bool
		console bool // the payment is taken through the console's agent desk (Chromium)
	}{
		{"control-inband", "inband", false, false},
		{"secure-inband", "inband", true, false},
		{"secure-rfc4733", "rfc4733", true, false},
		{"console-rfc4733", "rfc4733", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agent := baresip.StartWith(t, baresip.Options{User: "agent", AutoAnswer: true, Record: true})
			cb := startCallbackSink(t)
			// The console run signs in with alice's agent token (the plan's <Sip agent="alice">),
			// not the admin's: the desk works on the agent's feed alone.
			const aliceToken = "alice-e2e-agent-token-0123456789"
			n := startSIPNodeWith(t, 43700+100*i, agentPlanFor(agent.SIPAddr), "--http-allow", "127.0.0.1",
				"--agent-tokens", "alice="+aliceToken)
			n.payTo = "+441632960888"
			var browser *consoleBrowser
			if tc.console {
				browser = startConsoleBrowser(t, 1280, 900)
				consoleSignIn(t, browser, n.http, aliceToken)
				browser.waitFor("the agent desk alone", `document.querySelector("#payments").hidden && document.querySelector("#live").hidden && `+
					`!document.querySelector("#agent").hidden && document.querySelector("#signed-in-as").textContent === "agent alice"`, 10*time.Second)
			}
			script := agentScript
			if tc.secure {
				script = agentGatedScript
			}
			caller := exec.Command(sipPaybridge(t), "call", "sip:+441632960888@"+n.sip, "--from", "+447700900123",
				"--dtmf", tc.dtmf, "--digits", script, "--timeout", "120s")
			var callerOut, callerJSON strings.Builder
			caller.Stdout, caller.Stderr = &callerJSON, &callerOut
			goOn, err := caller.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			keyNext := func() { // the agent takes the next field: the caller keys it
				if _, err := io.WriteString(goOn, "\n"); err != nil {
					t.Fatalf("the caller: %v", err)
				}
			}
			if err := caller.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("paybridge:\n%s\ncaller:\n%s%s", tail(n.out.String(), 4000), callerJSON.String(), callerOut.String())
				}
			})
			callerDone := make(chan struct{})
			go func() { caller.Wait(); close(callerDone) }()
			t.Cleanup(func() { caller.Process.Kill(); <-callerDone })
			agent.WaitEvent(t, "CALL_ESTABLISHED", 20*time.Second)
			call := n.waitCall(t, "answered", 10*time.Second)
			base := "/api/calls/" + call.ID + "/payments"

			switch {
			case tc.console:
				takeOnConsole(t, browser, call.ID, keyNext)
			case tc.secure:
				var v agentView
				deadline := time.Now().Add(10 * time.Second)
				for {
					code, body := n.agentPost(t, base, url.Values{"IdempotencyKey": {"open-1"}, "ChargeAmount": {"9.99"},
						"Currency": {"GBP"}, "StatusCallback": {cb.url}, "Description": {"agent e2e"}})
					if code == http.StatusCreated {
						json.Unmarshal(body, &v)
						break
					}
					if code != http.StatusConflict || time.Now().After(deadline) {
						t.Fatalf("open: %d %s\n%s", code, body, tail(n.out.String(), 3000))
					}
					time.Sleep(50 * time.Millisecond) // 409 until the <Dial> has bridged
				}
				if v.Status != "open" || v.Required != "payment-card-number,expiration-date,security-code" {
					t.Fatalf("opened %+v", v)
				}
				pay := base + "/" + v.Sid
				n.agentMust(t, pay, url.Values{"IdempotencyKey": {"c1"}, "Capture": {"payment-card-number"}}, 200)
				keyNext()
				v = n.waitField(t, call.ID, v.Sid, "payment-card-number")
				if v.PaymentCardNumber != "************4242" || v.PaymentCardType != "visa" {
					t.Fatalf("after the number: %+v", v)
				}
				n.agentMust(t, pay, url.Values{"IdempotencyKey": {"c2"}, "Capture": {"expiration-date"}}, 200)
				keyNext()
				v = n.waitField(t, call.ID, v.Sid, "expiration-date")
				n.agentMust(t, pay, url.Values{"IdempotencyKey": {"c3"}, "Capture": {"security-code"}}, 200)
				keyNext()
				v = n.waitField(t, call.ID, v.Sid, "security-code")
				if v.SecurityCode != "xxx" || v.ExpirationDate != agentExpiry || v.Required != "" {
					t.Fatalf("every field entered: %+v", v)
				}
				done := n.agentMust(t, pay, url.Values{"IdempotencyKey": {"c4"}, "Status": {"complete"}}, 200)
				if done.Status != "complete" || done.Result != "success" || done.PaymentConfirmationCode == "" {
					t.Fatalf("completed %+v\n%s", done, tail(n.out.String(), 3000))
				}
				// The same request again changes nothing and answers the same.
				if again := n.agentMust(t, pay, url.Values{"IdempotencyKey": {"c4"}, "Status": {"complete"}}, 200); again.PaymentConfirmationCode != done.PaymentConfirmationCode {
					t.Fatalf("a repeated complete answered %+v", again)
				}
			default:
				// The caller's script: a second per W, 200 ms per key, after up to 5 s waiting
				// for a first prompt.
				time.Sleep(5*time.Second + time.Duration(strings.Count(agentScript, "W"))*time.Second +
					time.Duration(len(agentCard+agentExpiry+agentCVV))*200*time.Millisecond)
			}
			// The caller has keyed everything (or the test waited as long): the agent hangs up.
			time.Sleep(2 * time.Second)
			agent.Command(t, "hangup", "")
			agent.WaitEvent(t, "CALL_CLOSED", 15*time.Second)
			select {
			case <-callerDone:
			case <-time.After(20 * time.Second):
				t.Fatalf("the plan did not hang up after the bridge\n%s", tail(n.out.String(), 3000))
			}
			n.waitCall(t, "ended", 10*time.Second)

			wav := agent.RecordedFile("dec.wav")
			if wav == "" {
				t.Fatalf("the agent recorded nothing\n%s", agent.Output())
			}
			own, mm, sp, loud := heardKeys(t, wav)
			t.Logf("the agent's recording: own detector %d keys, multimon-ng %d, spandsp %d; %d loud samples", len(own), len(mm), len(sp), loud)
			if !tc.secure {
				// Every detector must find the keys the caller sent, in order. Only when the
				// test caller itself reports sending audio late enough to break a tone (its
				// send_late_max_us beyond half a key's 100 ms) may a detector miss up to two
				// keys: the rest, in order, still proves the scan sees keys.
				var res struct {
					SendLateMax int64 `json:"send_late_max_us"`
				}
				if err := json.Unmarshal([]byte(callerJSON.String()), &res); err != nil {
					t.Fatalf("the caller's summary: %v\n%s", err, callerJSON.String())
				}
				all := agentCard + agentExpiry + agentCVV
				short := 0
				if res.SendLateMax > 50_000 {
					short = 2
					t.Logf("the caller sent audio up to %d ms late: up to %d keys may be broken", res.SendLateMax/1000, short)
				}
				for name, got := range map[string]string{"own": own, "multimon-ng": mm, "spandsp": sp} {
					if len(got) < len(all)-short || !isSubsequence(got, all) {
						t.Errorf("control: %s finds %q in the agent's recording (want the %d keyed, in order): the check cannot see keys", name, got, len(all))
					}
				}
				return
			}
			if loud < 8000/10 {
				t.Errorf("the agent heard %d loud samples: no beep per key", loud)
			}
			for name, got := range map[string]string{"own": own, "multimon-ng": mm, "spandsp": sp} {
				if got != "" {
					t.Errorf("%s finds %d keys in what the agent heard during the secure capture", name, len(got))
				}
			}
			if res := n.waitPaid(t, 1); len(res) != 1 || res[0] != "success" {
				t.Fatalf("payment records %v", res)
			}
			// The timeline is written in batches, up to ~50 ms behind the call (docs/sip.md): the
			// bridge's end may reach the database just after the caller saw the call end.
			var detail string
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				n.apiGet(t, "/api/calls/"+call.ID, &detail)
				if strings.Contains(detail, "call.unbridged") || time.Now().After(deadline) {
					break
				}
			}
			if !strings.Contains(detail, "agent.payment") || !strings.Contains(detail, "call.bridged") {
				t.Fatalf("the call's timeline lacks the bridge and the agent payment:\n%s", tail(detail, 2000))
			}
			logBridgeFigures(t, detail)
			if tc.console { // the desk sets no StatusCallback
				sipAssertNoPAN(t, "the call's timeline", detail)
				sipAssertNoPAN(t, "paybridge serve output", n.out.String())
				return
			}
			cbs, cbText := cb.all()
			deadline := time.Now().Add(10 * time.Second)
			for (len(cbs) == 0 || cbs[len(cbs)-1].Get("Status") != "complete") && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				cbs, cbText = cb.all()
			}
			if len(cbs) < 5 || cbs[len(cbs)-1].Get("Result") != "success" {
				t.Fatalf("%d status callbacks: %v", len(cbs), cbs)
			}
			sawPartial := false
			for _, v := range cbs {
				if v.Get("PartialResult") == "true" && v.Get("Capture") == "payment-card-number" && strings.Trim(v.Get("PaymentCardNumber"), "*") == "" {
					sawPartial = true
				}
			}
			if !sawPartial {
				t.Fatal("no StatusCallback reported the number's progress masked")
			}
			for what, text := range map[string]string{"StatusCallbacks": cbText, "the call's timeline": detail,
				"paybridge serve output": n.out.String()} {
				sipAssertNoPAN(t, what, text)
				if strings.Contains(text, agentCard[:12]) {
					t.Errorf("%s holds the card's first digits", what)
				}
			}
		})
	}
}

// takeOnConsole takes the payment as an agent does on the console's agent desk: open it,
// take each field as the caller keys it, complete; the page shows masked progress only.
// keyNext tells the caller to key the field once the desk shows it being taken.
func takeOnConsole(t *testing.T, b *consoleBrowser, callID string, keyNext func()) {
	t.Helper()
	card := fmt.Sprintf(`document.querySelector('#agent-calls li[data-call-id=%q]')`, callID)
	b.waitFor("the bridged call on the agent desk", card+` && `+card+`.querySelector("[data-open]")`, 15*time.Second)
	b.mustEval(card+`.querySelector("[data-amount]").value = "9.99"; `+card+`.querySelector("[data-open]").click(); true`, nil)
	for _, field := range []string{"payment-card-number", "expiration-date", "security-code"} {
		take := card + `.querySelector('[data-take=` + `"` + field + `"]')`
		b.waitFor("a Take button for "+field, take, 15*time.Second)
		b.mustEval(take+`.click(); true`, nil)
		b.waitFor("the desk taking "+field, card+`.querySelector('li[data-field="`+field+`"].taking')`, 15*time.Second)
		keyNext()
		b.waitFor(field+" taken and valid", card+`.querySelector('li[data-field="`+field+`"] [data-check="ok"]')`, 25*time.Second)
	}
	var masked string
	b.mustEval(card+`.querySelector("[data-masked-card]").textContent.trim()`, &masked)
	if masked != "************4242" {
		t.Fatalf("the desk shows the card as %q", masked)
	}
	b.waitFor("Complete enabled", card+`.querySelector("[data-complete]") && !`+card+`.querySelector("[data-complete]").disabled`, 10*time.Second)
	b.mustEval(card+`.querySelector("[data-complete]").click(); true`, nil)
	b.waitFor("the payment approved on the desk", card+`.textContent.includes("success")`, 30*time.Second)
	consoleChecks(t, b)
}

// logBridgeFigures prints the caller→agent audio figures of the call's call.unbridged event.
func logBridgeFigures(t *testing.T, detail string) {
	t.Helper()
	var d struct {
		Timeline []struct {
			Type   string          `json:"type"`
			Fields json.RawMessage `json:"fields"`
		} `json:"timeline"`
	}
	if err := json.Unmarshal([]byte(detail), &d); err != nil {
		t.Fatal(err)
	}
	for _, e := range d.Timeline {
		if e.Type == "call.unbridged" {
			t.Logf("bridge figures (caller→agent): %s", e.Fields)
			return
		}
	}
	t.Error("the call's timeline has no call.unbridged")
}

// isSubsequence reports whether every key of got appears in want, in order.
func isSubsequence(got, want string) bool {
	i := 0
	for j := 0; j < len(want) && i < len(got); j++ {
		if got[i] == want[j] {
			i++
		}
	}
	return i == len(got)
}
