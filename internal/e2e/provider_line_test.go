package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/store"
)

// vccLinePlan pays on the provider's own capture line: the Vonage VCC flow, offline against the
// sandbox's line.
const vccLinePlan = `<CallPlan name="vcc-line">
  <Match number="+441632960778"/>
  <Connector name="vcc" type="session" baseUrl="sandbox" account="vcc-e2e" capture="provider">
    <ClientCredentials clientId="#(env:SIPE2E_CLIENT_ID:-demo)" clientSecret="#(env:SIPE2E_CLIENT_SECRET:-sandbox-secret)"/>
  </Connector>
  <Flow>
    <Pay connector="vcc" amount="12.34" currency="GBP" reference="vcc-$(Call.Id)" var="Pay"/>
    <Hangup/>
  </Flow>
</CallPlan>`

// TestProviderCaptureLineE2E: a caller dials `paybridge serve` (the built binary, with the
// sandbox's capture line on); the plan's Pay on a capture="provider" connector bridges the
// caller to the line the session names and keys the link id; the caller keys the card — to
// the provider, not to paybridge. The sandbox's ledger shows the charge, the payment record
// carries its facts, and paybridge's output and store hold no digit of the card (the same
// scan finds the card in a control text).
func TestProviderCaptureLineE2E(t *testing.T) {
	n := startSIPNodeWith(t, 43400, vccLinePlan, "--sandbox-capture-line", "--log-level", "debug")
	n.payTo = "+441632960778"
	// The banner's lines come after the console's, which is all startSIPNodeWith waits for.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(n.out.String(), "capture line sip:capture@127.0.0.1:"); {
		if time.Now().After(deadline) {
			t.Fatalf("serve does not announce the sandbox's capture line:\n%s", n.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, mode := range []string{"rfc4733", "inband"} {
		t.Run(mode, func(t *testing.T) {
			before := len(n.payResults(t))
			found := strings.Count(n.out.String(), "capture line: link id found")
			// The caller waits ('|') while paybridge dials the line and keys the link id (8 keys),
			// until the line says it has found the session — however long a busy machine takes
			// (a fixed wait let the first keys of the card go before the line was listening) —
			// then keys the card as paybridge's own Pay would ask for it.
			cmd := exec.Command(sipPaybridge(t), "call", "sip:+441632960778@"+n.sip, "--from", "+447700900124",
				"--digits", "|"+sipPayKeys, "--dtmf", mode, "--timeout", "120s")
			done := make(chan struct{})
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				defer stdin.Close()
				for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
					if strings.Count(n.out.String(), "capture line: link id found") > found {
						io.WriteString(stdin, "go\n")
						break
					}
				}
				<-done
			}()
			out, err := cmd.CombinedOutput()
			close(done)
			if err != nil {
				t.Fatalf("paybridge call: %v\n%s\n%s", err, out, tail(n.out.String(), 4000))
			}
			sipAssertNoPAN(t, "paybridge call output", string(out))
			res := n.waitPaid(t, before+1)
			if len(res) != before+1 || res[before] != "success" {
				t.Fatalf("Pay results: %v, want success\n%s", res, tail(n.out.String(), 6000))
			}
		})
	}

	// The record: the facts the provider's status gave, agreeing with its ledger.
	pays := n.completedPayments(t)
	charges := n.sandboxCharges(t)
	if len(pays) != 2 {
		t.Fatalf("%d pay.completed events, want 2", len(pays))
	}
	for _, p := range pays {
		if p.MaskedCard != "************4242" || p.CardType != "visa" || p.Confirmation == "" || p.SessionID == "" {
			t.Errorf("payment record %+v lacks the provider's facts", p)
		}
		var found bool
		for _, c := range charges {
			if c.ID == p.Confirmation && c.SessionID == p.SessionID && c.Status == "succeeded" && c.Amount == 1234 &&
				c.Currency == "GBP" && c.Last4 == "4242" && c.Reference == p.Reference {
				found = true
			}
		}
		if !found {
			t.Errorf("no ledger charge agrees with %+v (ledger %+v)", p, charges)
		}
	}

	// No digit in paybridge's output or its data directory. The control: the same scan finds
	// the card in the caller's command line, which holds it.
	if !containsPAN("--digits |" + sipPayKeys) {
		t.Fatal("the scan's control found no card in the caller's keys")
	}
	out := n.out.String()
	if !strings.Contains(out, "capture line: card") {
		t.Fatalf("the sandbox line's log is missing, so the scan proves nothing:\n%s", tail(out, 4000))
	}
	sipAssertNoPAN(t, "paybridge serve output", out)
	filepath.Walk(n.data, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		sipAssertNoPAN(t, p, string(b))
		return nil
	})
}

// containsPAN: the scan sipAssertNoPAN makes.
func containsPAN(s string) bool {
	for _, p := range sipTestPANs {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// completedPayments returns the pay.completed events of the node's calls to payTo.
func (n *sipNode) completedPayments(t *testing.T) []event.PayCompleted {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(n.data, "paybridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	calls, err := st.ListCalls(ctx, store.CallFilter{To: n.payTo})
	if err != nil {
		t.Fatal(err)
	}
	var out []event.PayCompleted
	for _, c := range calls {
		_, events, err := st.GetCall(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.Type == "pay.completed" {
				var d event.PayCompleted
				if err := json.Unmarshal(e.Fields, &d); err != nil {
					t.Fatal(err)
				}
				out = append(out, d)
			}
		}
	}
	return out
}

type lineCharge struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	Last4     string `json:"last4"`
	SessionID string `json:"session_id"`
	Reference string `json:"reference"`
}

// sandboxCharges reads the embedded sandbox's ledger with the admin token.
func (n *sipNode) sandboxCharges(t *testing.T) []lineCharge {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, n.http+"/sandbox/ledger", nil)
	req.Header.Set("Authorization", "Bearer "+sipE2EAdminToken)
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var l []lineCharge
	if err := json.Unmarshal(body, &l); err != nil {
		var wrapped struct {
			Charges []lineCharge `json:"charges"`
		}
		if err2 := json.Unmarshal(body, &wrapped); err2 != nil {
			t.Fatalf("sandbox ledger (HTTP %d): %v: %.200s", resp.StatusCode, err, body)
		}
		l = wrapped.Charges
	}
	return l
}
