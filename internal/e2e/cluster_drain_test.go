package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/pgtemp"
	"github.com/paybridge/paybridge/loadtest/pcapgen"
	"github.com/paybridge/paybridge/store"
)

// retryAfterRe finds a Retry-After header of a SIP answer.
var retryAfterRe = regexp.MustCompile(`(?mi)^Retry-After:\s*\d+\s*$`)

// TestClusterKamailioFullAndDraining: Kamailio tells a node that is full for the moment from a
// node that is going away. Node 1 has a single RTP port and one card call on it; the calls
// Kamailio sends it meanwhile are refused (503 "Service Unavailable") and go to node 2, and
// node 1 stays in rotation — also while its probes are answered 503 with Retry-After (what an
// INVITE gets, RFC 3261 §11.2) for longer than DS_PROBING_THRESHOLD probes. Then node 1 gets SIGTERM with that call still in progress: it
// answers 503 "Draining", Kamailio takes it out of rotation, every new call goes to node 2, the
// call in progress finishes and pays, and node 1 exits.
func TestClusterKamailioFullAndDraining(t *testing.T) {
	sipTool(t, "sipp")
	sipTool(t, "kamailio")
	bin := sipPaybridge(t)
	ctx := context.Background()

	pg, err := pgtemp.Start(ctx, pgtemp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Stop)
	db, err := pg.CreateDB(ctx, "drain")
	if err != nil {
		t.Fatal(err)
	}
	_, m := crashStart(t, bin, regexp.MustCompile(`listening on (http://\S+)`), "sandbox", "--addr", "127.0.0.1:0")
	sandbox := m[1]
	plans := t.TempDir()
	if err := os.WriteFile(filepath.Join(plans, "cluster.xml"), []byte(fmt.Sprintf(clusterPlanSrc, sandbox)), 0o644); err != nil {
		t.Fatal(err)
	}
	// Node 1's only RTP port (the pool uses even ports; serve wants a range of three): one
	// call at a time.
	rtp := freeUDPRun(1)
	n1 := startClusterNodePorts(t, bin, "n1", db, plans, rtp-1, rtp+1)
	n2 := startClusterNode(t, bin, "n2", db, plans, 46000)
	kam := startKamailio(t, n1, n2)
	st := clusterStore(t, db)

	// A card call straight to node 1, keyed slowly (~11 s): it holds node 1's port.
	var pcap bytes.Buffer
	if err := pcapgen.WriteRFC4733(&pcap, sipPayKeys, pcapgen.Options{Lead: 1500 * time.Millisecond, Off: 400 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	pcapFile := filepath.Join(t.TempDir(), "pay.pcap")
	os.WriteFile(pcapFile, pcap.Bytes(), 0o644)
	sf := sippScenario(t, "uac_card_pcap_routed.xml", "@PCAP@", pcapFile)
	held := make(chan sippRun, 1)
	heldErr := make(chan error, 1)
	sipp, heldDir := sipTool(t, "sipp"), t.TempDir()
	go func() {
		r, err := sippBatch(sipp, heldDir, sf, n1.sip, "+441632960777", 1, 1)
		heldErr <- err
		held <- r
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, _ := st.ListCalls(ctx, store.CallFilter{State: store.CallAnswered, Node: "n1"}); len(c) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the card call never reached node 1:\n%s", clip(n1.proc.out.String(), 3000))
		}
	}

	// 1. Node 1 is full: the calls sent to it go to node 2, and node 1 stays in rotation.
	short := sippScenario(t, "uac_short_routed.xml")
	const burst = 20
	fullAt := time.Now()
	r, err := sippBatch(sipp, t.TempDir(), short, kam.addr, "+441632960779", burst, 10)
	if err != nil {
		t.Fatal(err)
	}
	if r.ok != burst {
		t.Fatalf("with node 1 full: %d of %d calls succeeded\n%s", r.ok, burst, clip(kam.out.String(), 3000))
	}
	if refused := kam.after(fullAt, "failover of call"); len(refused) == 0 {
		t.Fatalf("Kamailio sent node 1 no call while it was full:\n%s", clip(kam.out.String(), 3000))
	}
	// Node 1 answers OPTIONS as it answers an INVITE: 503 "Service Unavailable" with a
	// Retry-After, the answer Kamailio's probes get too. Kept full for more probes than
	// DS_PROBING_THRESHOLD (3, one a second), it must still be in rotation.
	code, answer, err := sipOptionsAnswer("127.0.0.1", n1.sip, "", 5*time.Second)
	if err != nil || code != 503 || !strings.Contains(answer, "503 Service Unavailable") || !retryAfterRe.MatchString(answer) {
		t.Fatalf("OPTIONS to the full node 1: %d %v\n%s", code, err, answer)
	}
	time.Sleep(time.Until(fullAt.Add(5 * time.Second)))
	if out := kam.after(fullAt, " is down"); len(out) > 0 {
		t.Fatalf("a full node was taken out of rotation: %q\nnode 1:\n%s\nKamailio:\n%s", out[0].text, clip(n1.proc.out.String(), 6000), clip(kam.out.String(), 4000))
	}
	if out := kam.after(fullAt, "is draining"); len(out) > 0 {
		t.Fatalf("a full node was taken for a draining one: %q", out[0].text)
	}

	// 2. SIGTERM with the card call in progress: node 1 drains.
	if c, _ := st.ListCalls(ctx, store.CallFilter{State: "active", Node: "n1"}); len(c) != 1 {
		t.Fatalf("the card call on node 1 ended before the drain (%d active)", len(c))
	}
	exited := make(chan error, 1)
	termAt := time.Now()
	if err := n1.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() { exited <- n1.proc.cmd.Wait() }()
	// Probing finds it (its OPTIONS answer 503 "Draining"), or an INVITE does.
	var outAt time.Time
	var outBy string
	for deadline := time.Now().Add(20 * time.Second); outAt.IsZero(); time.Sleep(20 * time.Millisecond) {
		for _, l := range append(kam.after(termAt, "node sip:"+n1.sip+" is down"), kam.after(termAt, "node sip:"+n1.sip+" is draining")...) {
			if outAt.IsZero() || l.at.Before(outAt) {
				outAt, outBy = l.at, l.text
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Kamailio never took the draining node out:\n%s", clip(kam.out.String(), 3000))
		}
	}
	select {
	case err := <-exited:
		t.Fatalf("node 1 stopped (%v) before its call in progress ended\n%s", err, clip(n1.proc.out.String(), 3000))
	default:
	}
	afterOut := time.Now()
	r, err = sippBatch(sipp, t.TempDir(), short, kam.addr, "+441632960779", burst, 10)
	if err != nil {
		t.Fatal(err)
	}
	if r.ok != burst {
		t.Errorf("with node 1 draining: %d of %d calls succeeded", r.ok, burst)
	}
	if sent := kam.after(afterOut, "to sip:"+n1.sip); len(sent) > 0 {
		t.Errorf("Kamailio sent a call to the draining node after taking it out: %q", sent[0].text)
	}
	if late, _ := st.ListCalls(ctx, store.CallFilter{Node: "n1", Since: termAt}); len(late) > 0 {
		t.Errorf("node 1 took %d calls after SIGTERM", len(late))
	}
	var nodes struct{ Items []store.Node }
	n2.api(t, "/api/nodes", &nodes)
	draining := false
	for _, n := range nodes.Items {
		draining = draining || n.ID == "n1" && n.State == store.NodeDraining
	}
	if !draining {
		t.Errorf("node 2 does not list node 1 as draining: %+v", nodes.Items)
	}

	// 3. The call in progress finished and paid; then node 1 stopped by itself.
	if err := <-heldErr; err != nil {
		t.Fatal(err)
	}
	if h := <-held; h.ok != 1 {
		t.Errorf("the call in progress during the drain failed:\n%s", clip(h.out, 2000))
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("node 1 exited after draining: %v\n%s", err, clip(n1.proc.out.String(), 2000))
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("node 1 did not stop after its last call\n%s", clip(n1.proc.out.String(), 2000))
	}
	calls, paid := paidCalls(t, st)
	if len(calls) != 1 || calls[0].Node != "n1" || !paid[calls[0].ID] {
		var attempts []store.PaymentSession
		if len(calls) == 1 {
			attempts, _ = st.ListPayments(ctx, store.PaymentFilter{CallID: calls[0].ID, Limit: store.MaxLimit})
		}
		t.Errorf("the card call: %+v, paid %v; its payments %+v\nnode 1:\n%s", calls, paid, attempts, clip(n1.proc.out.String(), 4000))
	}
	req, _ := http.NewRequest("GET", n2.http+"/healthz", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("node 2 /healthz: %v %v", resp, err)
	}
	t.Logf("FIGURES: SIGTERM of node 1 → out of Kamailio's rotation after %v (%s); %d calls then all to node 2",
		outAt.Sub(termAt).Round(time.Millisecond), strings.TrimSpace(outBy), burst)
}
