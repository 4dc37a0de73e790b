package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/paybridge/paybridge/internal/freeport"
	"github.com/paybridge/paybridge/internal/pgtemp"
	"github.com/paybridge/paybridge/internal/testlog"
	"github.com/paybridge/paybridge/loadtest/pcapgen"
	"github.com/paybridge/paybridge/store"
)

// The cluster proof (issue 14): Kamailio in front of two paybridge nodes sharing one PostgreSQL
// database, on loopback, with a standalone sandbox provider in its own process (it outlives the
// node that is killed, like a real provider). Every port is picked at run time; Kamailio runs
// the repository's deploy/kamailio/kamailio.cfg with its defines set on the command line.

const clusterToken = "cluster-e2e-admin-token-0123456789abcdef"

// clusterPlanSrc pays on one number and texts a payment link on another, through the provider
// at %s that both nodes share.
const clusterPlanSrc = `<CallPlan name="cluster">
  <Match number="+441632960777"/>
  <Match number="+441632960778"/>
  <Match number="+441632960779"/>
  <Connector name="provider" type="session" baseUrl="%s" account="cluster-account">
    <ClientCredentials clientId="#(env:CLUSTER_CLIENT_ID:-cluster)" clientSecret="#(env:CLUSTER_CLIENT_SECRET:-sandbox-secret)"/>
  </Connector>
  <Flow>
    <If test="$(Call.To) == +441632960779"><Hangup/></If>
    <If test="$(Call.To) == +441632960778">
      <SendPaymentLink connector="provider" to="$(Call.From)" amount="4.00" currency="GBP" reference="LINK-$(Call.Id)" var="Link"/>
      <Hangup/>
    </If>
    <Pay connector="provider" amount="9.99" currency="GBP" reference="cl-$(Call.Id)" securityCode="true" postalCode="false" var="Pay"/>
    <Hangup/>
  </Flow>
</CallPlan>`

// clusterNode is one `paybridge serve` of the cluster.
type clusterNode struct {
	id   string
	proc *crashProc
	sip  string // host:port
	http string // http://host:port
}

func startClusterNode(t *testing.T, bin, id, db, plans string, rtpBase int) *clusterNode {
	t.Helper()
	return startClusterNodePorts(t, bin, id, db, plans, rtpBase, rtpBase+399)
}

// startClusterNodePorts is startClusterNode with the RTP port range lo-hi.
func startClusterNodePorts(t *testing.T, bin, id, db, plans string, lo, hi int) *clusterNode {
	t.Helper()
	p, _ := crashStart(t, bin, regexp.MustCompile(`^\s+node\s+\S+`), "serve", "--db", db, "--node-id", id,
		"--sip-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--data", t.TempDir(), "--plans", plans,
		"--rtp-ports", fmt.Sprintf("%d-%d", lo, hi), "--admin-token", clusterToken, "--reconcile-every", "2s")
	out := p.out.String()
	sip := regexp.MustCompile(`SIP\s+(\S+) \(UDP`).FindStringSubmatch(out)
	con := regexp.MustCompile(`console\s+(http://\S+)/`).FindStringSubmatch(out)
	if sip == nil || con == nil {
		t.Fatalf("node %s banner:\n%s", id, out)
	}
	return &clusterNode{id: id, proc: p, sip: sip[1], http: con[1]}
}

func (n *clusterNode) api(t *testing.T, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", n.http+path, nil)
	req.Header.Set("Authorization", "Bearer "+clusterToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(b, out) != nil {
		t.Fatalf("GET %s%s = %d %s", n.http, path, resp.StatusCode, b)
	}
}

// clusterPikeDensity is the test's pike limit: requests per source address per 2 s. SIPp's
// address (127.0.0.1) is Kamailio's TRUSTED_NET, as a carrier's SBC would be, so the load runs
// are not limited; the flood check sends from 127.0.0.9, which is.
const clusterPikeDensity = 100

// kamailio is the proxy of the cluster test, with every line it logged and when it came.
type kamailio struct {
	addr  string
	mu    sync.Mutex
	lines []kamLine
	out   *testlog.Buffer
}

type kamLine struct {
	at   time.Time
	text string
}

// after returns the lines logged at or after t that contain s.
func (k *kamailio) after(t time.Time, s string) []kamLine {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []kamLine
	for _, l := range k.lines {
		if !l.at.Before(t) && strings.Contains(l.text, s) {
			out = append(out, l)
		}
	}
	return out
}

// startKamailio runs deploy/kamailio/kamailio.cfg on a free loopback port with the nodes as
// its dispatcher set, and waits until its probes find every node up.
func startKamailio(t *testing.T, nodes ...*clusterNode) *kamailio {
	t.Helper()
	bin := sipTool(t, "kamailio")
	cfg := filepath.Join(sipRepoRoot(t), "deploy", "kamailio", "kamailio.cfg")
	dir := t.TempDir()
	var list strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&list, "1 sip:%s 0 0 duid=%s;\n", n.sip, n.id)
	}
	dsList := filepath.Join(dir, "nodes.list")
	if err := os.WriteFile(dsList, []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		k := &kamailio{addr: fmt.Sprintf("127.0.0.1:%d", sipFreePort(t)), out: &testlog.Buffer{}}
		run := filepath.Join(dir, fmt.Sprint("run", attempt))
		os.MkdirAll(run, 0o755)
		cmd := exec.Command(bin, "-f", cfg, "-DD", "-E", "-Y", run, "-m", "64", "-M", "8",
			"-A", "LISTEN=udp:"+k.addr, "-A", fmt.Sprintf("DS_LIST=%q", dsList), "-A", fmt.Sprintf("PIKE_DENSITY=%d", clusterPikeDensity), "-A", `TRUSTED_NET="127.0.0.1/32"`)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		pr, pw := io.Pipe()
		cmd.Stdout, cmd.Stderr = pw, pw
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); pw.Close(); close(exited) }()
		t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); <-exited })
		go func() {
			sc := bufio.NewScanner(pr)
			for sc.Scan() {
				now := time.Now()
				fmt.Fprintln(k.out, sc.Text())
				k.mu.Lock()
				k.lines = append(k.lines, kamLine{at: now, text: sc.Text()})
				k.mu.Unlock()
			}
		}()
		deadline := time.Now().Add(30 * time.Second)
		for {
			// Kamailio answers its own OPTIONS once its workers run; its probes of the nodes
			// (listed active) go on from there.
			if code, _ := sipOptions(k.addr, ""); code == 200 {
				return k
			}
			select {
			case <-exited:
				if attempt < 3 && strings.Contains(k.out.String(), "in use") {
					goto retry // the port picked as free was taken meanwhile
				}
				t.Fatalf("kamailio exited:\n%s", k.out)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("kamailio did not find the nodes up:\n%s", k.out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	retry:
	}
}

// sipOptions sends one OPTIONS to addr (to user, "" for the proxy itself) from a fresh loopback
// socket and returns the response code (0: no answer within a second).
func sipOptions(addr, user string) (int, error) {
	return sipOptionsFrom("127.0.0.1", addr, user)
}

// sipOptionsFrom is sipOptions from a socket on the loopback address src.
func sipOptionsFrom(src, addr, user string) (int, error) {
	code, _, err := sipOptionsAnswer(src, addr, user, time.Second)
	return code, err
}

// sipOptionsAnswer sends one OPTIONS from a socket on src and returns the answer's code and the
// whole answer, waiting up to wait for it.
func sipOptionsAnswer(src, addr, user string, wait time.Duration) (int, string, error) {
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return 0, "", err
	}
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)}, raddr)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	uri := "sip:" + addr
	if user != "" {
		uri = "sip:" + user + "@" + addr
	}
	local := c.LocalAddr().String()
	id := strconv.FormatInt(time.Now().UnixNano(), 36)
	msg := "OPTIONS " + uri + " SIP/2.0\r\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bK" + id + ";rport\r\n" +
		"From: <sip:probe@" + local + ">;tag=" + id + "\r\nTo: <" + uri + ">\r\nCall-ID: " + id + "@probe\r\n" +
		"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(msg)); err != nil {
		return 0, "", err
	}
	c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		return 0, "", err
	}
	var code int
	fmt.Sscanf(string(buf[:n]), "SIP/2.0 %d", &code)
	return code, string(buf[:n]), nil
}

func mustUDPAddr(t *testing.T, addr string) *net.UDPAddr {
	t.Helper()
	a, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// sippRun is the outcome of one SIPp run.
type sippRun struct {
	ok, failed int
	elapsed    time.Duration
	out        string
}

// runSippBatch sends calls calls at rate per second with the routed card scenario to addr.
func runSippBatch(t *testing.T, sf, addr string, calls int, rate float64) sippRun {
	t.Helper()
	r, err := sippBatch(sipTool(t, "sipp"), t.TempDir(), sf, addr, "+441632960777", calls, rate)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sippBatch is runSippBatch for any goroutine: it reports instead of failing the test.
func sippBatch(sipp, dir, sf, addr, number string, calls int, rate float64) (sippRun, error) {
	// Every call is bounded by the scenario's own timeouts (60 s for the answer, 30 s for the
	// BYE); this bounds the run should SIPp itself hang.
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(float64(calls)/rate*float64(time.Second))+4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, addr, "-sf", sf, "-s", number, "-m", strconv.Itoa(calls),
		"-r", strconv.FormatFloat(rate, 'f', -1, 64), "-l", strconv.Itoa(calls),
		"-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort()), "-mp", strconv.Itoa(freeUDPRun(4)),
		"-timeout", "150s", "-nostdin", "-trace_stat", "-stf", filepath.Join(dir, "stat.csv"), "-fd", "1",
		"-trace_err", "-error_file", filepath.Join(dir, "err.log"), "-max_socket", "1000")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	_ = cmd.Run() // exit 1 when a call failed: the counts say which
	r := sippRun{elapsed: time.Since(start), out: out.String()}
	r.ok, r.failed = sippCounts(filepath.Join(dir, "stat.csv"))
	if r.ok+r.failed != calls {
		errs, _ := os.ReadFile(filepath.Join(dir, "err.log"))
		return r, fmt.Errorf("sipp placed %d+%d of %d calls:\n%s\n%s", r.ok, r.failed, calls, clip(r.out, 3000), clip(string(errs), 3000))
	}
	return r, nil
}

// sippFailures sums up SIPp's error file in dir: how many calls failed on what.
func sippFailures(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "err.log"))
	counts := map[string]int{}
	for _, m := range regexp.MustCompile(`(?s)Aborting call on ([^'\n]*)[^:]*: (while expecting '[^']*'[^,]*, received '[^\r\n]*|[^\r\n]*)`).FindAllStringSubmatch(string(b), -1) {
		counts[m[1]+": "+m[2]]++
	}
	if n := strings.Count(string(b), "Call-Id"); len(counts) == 0 && n > 0 {
		return clip(string(b), 1500)
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return counts[keys[i]] > counts[keys[j]] })
	var out strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&out, "\n  %d× %s", counts[k], k)
	}
	if out.Len() == 0 {
		return "no errors"
	}
	return out.String()
}

// freeUDPPort is a loopback UDP port that was free a moment ago.
func freeUDPPort() int {
	p, err := freeport.UDP()
	if err != nil {
		return 15060
	}
	return p
}

// freeUDPRun is an even port beginning n free ones (freeport.UDPRun; SIPp's -mp takes 4).
func freeUDPRun(n int) int {
	p, err := freeport.UDPRun(n)
	if err != nil {
		return freeUDPPort() &^ 1
	}
	return p
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func sippCounts(path string) (ok, failed int) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	r.FieldsPerRecord = -1
	rows, _ := r.ReadAll()
	if len(rows) < 2 {
		return 0, 0
	}
	head, last := rows[0], rows[len(rows)-1]
	for i, h := range head {
		if i >= len(last) {
			break
		}
		switch h {
		case "SuccessfulCall(C)":
			ok, _ = strconv.Atoi(last[i])
		case "FailedCall(C)":
			failed, _ = strconv.Atoi(last[i])
		}
	}
	return ok, failed
}

// clusterStore opens the shared database from the test, as an auditor would.
func clusterStore(t *testing.T, db string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// paidCalls maps each call in the database to whether it has a successful payment.
func paidCalls(t *testing.T, st *store.Store) (calls []store.Call, paid map[string]bool) {
	t.Helper()
	ctx := context.Background()
	paid = map[string]bool{}
	for cursor := ""; ; {
		page, err := st.ListCalls(ctx, store.CallFilter{To: "+441632960777", Limit: store.MaxLimit, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, page...)
		if len(page) < store.MaxLimit {
			break
		}
		cursor = page[len(page)-1].Cursor()
	}
	ps, err := st.ListPayments(ctx, store.PaymentFilter{Result: "success", Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		paid[p.CallID] = true
	}
	return calls, paid
}

// TestClusterKamailio is the proof of issue 14. It takes a few minutes: two batches of SIPp
// card payments, a direct batch for comparison, a link, a kill and a reconciliation.
func TestClusterKamailio(t *testing.T) {
	sipTool(t, "sipp")
	sipTool(t, "kamailio")
	bin := sipPaybridge(t)
	ctx := context.Background()

	pg, err := pgtemp.Start(ctx, pgtemp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Stop)
	db, err := pg.CreateDB(ctx, "cluster")
	if err != nil {
		t.Fatal(err)
	}
	// The provider: its own process, slow enough that the kill lands with charges in flight.
	_, m := crashStart(t, bin, regexp.MustCompile(`listening on (http://\S+)`), "sandbox", "--addr", "127.0.0.1:0")
	sandbox := m[1]
	req, _ := http.NewRequest(http.MethodPut, sandbox+"/admin/faults", strings.NewReader(`{"latency":"400ms"}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("setting sandbox faults: %v %v", resp, err)
	}
	plans := t.TempDir()
	if err := os.WriteFile(filepath.Join(plans, "cluster.xml"), []byte(fmt.Sprintf(clusterPlanSrc, sandbox)), 0o644); err != nil {
		t.Fatal(err)
	}
	n1 := startClusterNodePorts(t, bin, "n1", db, plans, 44000, 44999)
	n2 := startClusterNodePorts(t, bin, "n2", db, plans, 45000, 45999)
	kam := startKamailio(t, n1, n2)
	st := clusterStore(t, db)

	var pcap bytes.Buffer
	if err := pcapgen.WriteRFC4733(&pcap, sipPayKeys, pcapgen.Options{Lead: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	pcapFile := filepath.Join(t.TempDir(), "pay.pcap")
	os.WriteFile(pcapFile, pcap.Bytes(), 0o644)
	sf := sippScenario(t, "uac_card_pcap_routed.xml", "@PCAP@", pcapFile)

	// Node 2's live feed, watched from the start: it must show node 1's calls.
	hdr := http.Header{"Authorization": {"Bearer " + clusterToken}}
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(n2.http, "http://", "ws://", 1)+"/api/events", hdr)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var feedMu sync.Mutex
	feedNodes := map[string]int{}
	go func() {
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var e struct{ Type, Node string }
			if json.Unmarshal(msg, &e) == nil && e.Type == "call.answered" {
				feedMu.Lock()
				feedNodes[e.Node]++
				feedMu.Unlock()
			}
		}
	}()

	// 1. Forty card payments through Kamailio: every one pays, both nodes took calls.
	const batch1 = 40
	viaKam := runSippBatch(t, sf, kam.addr, batch1, 40)
	if viaKam.ok != batch1 {
		t.Fatalf("through Kamailio: %d of %d calls succeeded\n%s", viaKam.ok, batch1, clip(kam.out.String(), 3000))
	}
	var calls []store.Call
	var paid map[string]bool
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		calls, paid = paidCalls(t, st)
		if len(paid) >= batch1 || time.Now().After(deadline) {
			break
		}
	}
	perNode := map[string]int{}
	for _, c := range calls {
		perNode[c.Node]++
		if !paid[c.ID] {
			t.Errorf("call %s on %s did not pay", c.ID, c.Node)
		}
	}
	if len(calls) != batch1 || perNode["n1"] == 0 || perNode["n2"] == 0 {
		t.Fatalf("batch 1: %d calls, per node %v: both nodes must take calls", len(calls), perNode)
	}
	feedMu.Lock()
	fromN1 := feedNodes["n1"]
	feedMu.Unlock()
	if fromN1 == 0 {
		t.Errorf("node 2's live feed showed none of node 1's calls (%v)", feedNodes)
	}
	t.Logf("batch 1 through Kamailio: %d calls paid, per node %v; node 2's live feed showed %d of node 1's calls", len(paid), perNode, fromN1)

	// Node 2's console API lists node 1's calls and payments.
	var n1Calls struct{ Items []store.Call }
	n2.api(t, "/api/calls?node=n1&limit=500", &n1Calls)
	var n1Pays struct{ Items []store.PaymentSession }
	n2.api(t, "/api/payments?node=n1&limit=500", &n1Pays)
	if len(n1Calls.Items) != perNode["n1"] || len(n1Pays.Items) != perNode["n1"] {
		t.Fatalf("node 2's console lists %d calls and %d payments of node 1, which took %d", len(n1Calls.Items), len(n1Pays.Items), perNode["n1"])
	}
	for _, p := range n1Pays.Items {
		if p.Result != "success" || p.MaskedCard != "************4242" {
			t.Errorf("node 1's payment on node 2's console: %+v", p)
		}
	}

	// The same scenario straight to one node, for the figure.
	direct := runSippBatch(t, sf, n1.sip, batch1, 40)
	if direct.ok != batch1 {
		t.Fatalf("direct to node 1: %d of %d calls succeeded", direct.ok, batch1)
	}

	// Short calls (answer, hang up), the same scenario through Kamailio and direct: call setup
	// per second, the figure a proxy in front is usually judged by.
	short := sippScenario(t, "uac_short_routed.xml")
	const shortCalls, shortRate = 1000, 500
	kamDir, directDir := t.TempDir(), t.TempDir()
	shortAt := time.Now()
	shortKam, err := sippBatch(sipTool(t, "sipp"), kamDir, short, kam.addr, "+441632960779", shortCalls, shortRate)
	if err != nil {
		t.Fatal(err)
	}
	shortDirect, err := sippBatch(sipTool(t, "sipp"), directDir, short, n1.sip, "+441632960779", shortCalls, shortRate)
	if err != nil {
		t.Fatal(err)
	}
	// A figure, not a target: a loaded machine makes both paths drop calls (a node whose RTP
	// ports are all in use answers 503), so the figure is printed with why SIPp's calls failed.
	// A path that completes no call at all is broken.
	if shortKam.ok == 0 || shortDirect.ok == 0 {
		var proxyLog []string
		for _, l := range kam.after(shortAt, "") {
			if strings.Contains(l.text, "ERROR") || strings.Contains(l.text, "WARN") || strings.Contains(l.text, "paybridge: ") && !strings.Contains(l.text, "paybridge: call ") {
				proxyLog = append(proxyLog, l.text)
			}
		}
		t.Errorf("short calls: %d through Kamailio, %d direct of %d\nthrough Kamailio, SIPp saw: %s\ndirect, SIPp saw: %s\nKamailio said:\n%s",
			shortKam.ok, shortDirect.ok, shortCalls, sippFailures(kamDir), sippFailures(directDir), clip(strings.Join(proxyLog, "\n"), 3000))
	}

	// 2. A link texted by node 1, paid through node 2's listener, refused on node 1 after.
	out, err := exec.Command(bin, "call", "sip:+441632960778@"+n1.sip, "--from", "+447700900123", "--timeout", "30s").CombinedOutput()
	if err != nil {
		t.Fatalf("link call: %v\n%s", err, out)
	}
	var sms struct{ Items []store.SMS }
	for deadline := time.Now().Add(10 * time.Second); len(sms.Items) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		n2.api(t, "/api/sms", &sms)
	}
	tok := regexp.MustCompile(`/pay/([A-Za-z0-9_-]+)`).FindStringSubmatch(fmt.Sprint(sms.Items))
	if tok == nil {
		t.Fatalf("no link in the outbox: %+v", sms.Items)
	}
	payLink := func(n *clusterNode) (int, string) {
		form := url.Values{"cc-number": {"4242424242424242"}, "cc-exp": {fmt.Sprintf("12/%02d", (time.Now().Year()+2)%100)},
			"cc-csc": {"123"}, "postal-code": {"SW1A 1AA"}}
		resp, err := http.PostForm(n.http+"/pay/"+tok[1], form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := payLink(n2); code != 200 || !strings.Contains(body, "Payment received") {
		t.Fatalf("node 1's link paid on node 2: %d\n%s", code, clip(body, 2000))
	}
	if code, body := payLink(n1); code != http.StatusGone || !strings.Contains(body, "already been used") {
		t.Fatalf("the link paid again on node 1: %d\n%s", code, clip(body, 2000))
	}

	// 3. A second batch; node 1 is killed while it has a charge with the provider.
	before := map[string]bool{}
	calls, _ = paidCalls(t, st)
	for _, c := range calls {
		before[c.ID] = true
	}
	const batch2 = 45
	done := make(chan sippRun, 1)
	sippErr := make(chan error, 1)
	sipp, sippDir := sipTool(t, "sipp"), t.TempDir()
	go func() {
		r, err := sippBatch(sipp, sippDir, sf, kam.addr, "+441632960777", batch2, 3)
		sippErr <- err
		done <- r
	}()
	var killAt time.Time
	var pendingAtKill int
	for deadline := time.Now().Add(60 * time.Second); killAt.IsZero(); time.Sleep(10 * time.Millisecond) {
		if p, _ := st.NodePendingAttempts(ctx, "n1"); len(p) > 0 {
			pendingAtKill = len(p)
			if err := n1.proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killAt = time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatal("node 1 never had a charge in flight during the second batch")
		}
	}
	_ = n1.proc.cmd.Wait()
	if err := <-sippErr; err != nil {
		t.Fatal(err)
	}
	second := <-done
	t.Logf("batch 2: node 1 killed with %d attempt(s) pending; SIPp: %d ok, %d failed", pendingAtKill, second.ok, second.failed)

	// Kamailio took node 1 out: the time from the kill to the first call routed away.
	var away time.Time
	var how string
	if ls := kam.after(killAt, "routed away"); len(ls) > 0 {
		away, how = ls[0].at, "failover of an INVITE"
	}
	if ls := kam.after(killAt, "node sip:"+n1.sip+" is down"); len(ls) > 0 {
		if down := ls[0].at; away.IsZero() || down.Before(away) {
			// Marked down by its probe first: the next new call is the first routed away.
			if next := kam.after(down, "paybridge: call "); len(next) > 0 {
				away, how = next[0].at, "probe marked it down, next call to node 2"
			}
		}
	}
	if away.IsZero() {
		t.Fatalf("Kamailio never routed a call away from the dead node:\n%s", clip(kam.out.String(), 4000))
	}

	// Every call that reached a node after the kill is node 2's, and paid.
	calls, paid = paidCalls(t, st)
	var lostOnN1, newOnN2 int
	for _, c := range calls {
		if before[c.ID] {
			continue
		}
		switch {
		case c.Node == "n1" && c.StartedAt.After(killAt):
			t.Errorf("call %s started on node 1 after it was killed", c.ID)
		case c.Node == "n1":
			if !paid[c.ID] {
				lostOnN1++
			}
		case c.StartedAt.After(killAt):
			newOnN2++
			for deadline := time.Now().Add(30 * time.Second); !paid[c.ID] && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				_, paid = paidCalls(t, st)
			}
			if !paid[c.ID] {
				t.Errorf("call %s on node 2 after the kill did not pay", c.ID)
			}
		}
	}
	if newOnN2 == 0 {
		t.Fatalf("no call reached node 2 after the kill")
	}
	n1Batch2 := 0
	for _, c := range calls {
		if !before[c.ID] && c.Node == "n1" {
			n1Batch2++
		}
	}
	// Calls node 1 had taken may fail, and so may the few INVITEs it had already acknowledged
	// with 100 Trying but not yet recorded when it died (Kamailio does not move a transaction
	// that got a provisional answer; a busy machine widens that window to a call or two).
	const unrecordedOnN1 = 3
	if second.failed > n1Batch2+unrecordedOnN1 {
		t.Errorf("SIPp saw %d failed calls; only the %d calls node 1 had taken (and %d it had not yet recorded) may fail", second.failed, n1Batch2, unrecordedOnN1)
	}

	// Node 2 settles node 1's leftovers: calls ended, nothing pending, and the database agrees
	// with the provider's charge by charge.
	var left []store.Attempt
	for deadline := time.Now().Add(150 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		left, _ = st.PendingAttempts(ctx)
		active, _ := st.ListCalls(ctx, store.CallFilter{State: "active", Node: "n1"})
		if len(left) == 0 && len(active) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) != 0 {
		t.Fatalf("%d attempts still pending after node 2's takeover: %+v\n%s", len(left), left, clip(n2.proc.out.String(), 4000))
	}
	if !strings.Contains(n2.proc.out.String(), "took over a dead node") {
		t.Errorf("node 2 logged no takeover")
	}
	attempts, err := st.ListAttempts(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]store.Attempt{}
	for _, a := range attempts {
		byKey[a.IdempotencyKey] = a
	}
	charged := map[string]int{}
	succeeded := 0
	for _, c := range sandboxLedger(t, sandbox) {
		if c.Status != "succeeded" {
			continue
		}
		succeeded++
		charged[c.IdempotencyKey]++
		if charged[c.IdempotencyKey] > 1 {
			t.Errorf("idempotency key %s charged twice", c.IdempotencyKey)
		}
		if a, ok := byKey[c.IdempotencyKey]; !ok || a.Result != "approved" {
			t.Errorf("the provider charged %s; the records say %+v", c.IdempotencyKey, a)
		}
	}
	approved := 0
	for key, a := range byKey {
		if a.Result == "approved" {
			approved++
			if charged[key] != 1 {
				t.Errorf("the records say %s (node %s) was paid; the provider has no charge", key, a.Node)
			}
		}
	}
	var n1After struct{ Items []store.Call }
	n2.api(t, "/api/calls?node=n1&limit=500", &n1After)
	if len(n1After.Items) < len(n1Calls.Items) {
		t.Errorf("node 2's console lists %d of node 1's calls after the kill", len(n1After.Items))
	}
	sort.Slice(attempts, func(i, j int) bool { return attempts[i].CreatedAt.Before(attempts[j].CreatedAt) })

	cpsKam := float64(viaKam.ok) / viaKam.elapsed.Seconds()
	cpsDirect := float64(direct.ok) / direct.elapsed.Seconds()
	t.Logf("FIGURES: %d card calls offered at 40/s: through Kamailio to 2 nodes %.2f calls/s (%.1f s); direct to 1 node %.2f calls/s (%.1f s)",
		batch1, cpsKam, viaKam.elapsed.Seconds(), cpsDirect, direct.elapsed.Seconds())
	t.Logf("FIGURES: %d short calls offered at %d/s: through Kamailio to 2 nodes %.1f calls/s (%d ok); direct to 1 node %.1f calls/s (%d ok)",
		shortCalls, shortRate, float64(shortKam.ok)/shortKam.elapsed.Seconds(), shortKam.ok,
		float64(shortDirect.ok)/shortDirect.elapsed.Seconds(), shortDirect.ok)
	if shortKam.failed+shortDirect.failed > 0 {
		t.Logf("short calls that failed: through Kamailio %s; direct %s", sippFailures(kamDir), sippFailures(directDir))
	}
	t.Logf("FIGURES: node 1 killed; first call routed away after %v (%s); calls lost on node 1: %d; new calls paid on node 2: %d",
		away.Sub(killAt).Round(time.Millisecond), how, lostOnN1, newOnN2)
	t.Logf("records: %d provider charges, %d approved attempts, 0 pending, 0 charged twice", succeeded, approved)
	// 4. pike: a source that floods Kamailio is ignored; others are still served.
	flood, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.9")}, mustUDPAddr(t, kam.addr))
	if err != nil {
		t.Fatal(err)
	}
	junk := []byte("OPTIONS sip:" + kam.addr + " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.9:9;branch=z9hG4bKflood\r\n" +
		"From: <sip:f@127.0.0.9>;tag=f\r\nTo: <sip:" + kam.addr + ">\r\nCall-ID: flood\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
	for i := 0; i < 20*clusterPikeDensity; i++ {
		flood.Write(junk)
	}
	flood.Close()
	if code, _ := sipOptionsFrom("127.0.0.9", kam.addr, ""); code != 0 {
		t.Errorf("a flooding source still got answers (%d): pike is not limiting", code)
	}
	if code, err := sipOptions(kam.addr, ""); code != 200 {
		t.Errorf("another source was refused after the flood: %d %v", code, err)
	}
	for deadline := time.Now().Add(5 * time.Second); len(kam.after(killAt, "pike: flood from 127.0.0.9")) == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond) // the log is read from a pipe
	}
	if len(kam.after(killAt, "pike: flood from 127.0.0.9")) == 0 {
		t.Errorf("Kamailio logged no pike drop for the flood:\n%s", clip(kam.out.String(), 2000))
	}

	sipAssertNoPAN(t, "node 1 output", n1.proc.out.String())
	sipAssertNoPAN(t, "node 2 output", n2.proc.out.String())
	sipAssertNoPAN(t, "kamailio output", kam.out.String())
}
