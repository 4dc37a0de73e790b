// Command clusterdemo is `make cluster`: a paybridge cluster on loopback addresses — one
// PostgreSQL in a temporary directory, a standalone sandbox provider, N paybridge nodes on
// 127.0.0.2, 127.0.0.3, … and Kamailio in front on 127.0.0.1:5060 with the repository's
// deploy/kamailio/kamailio.cfg. It prints where everything is and runs until Ctrl-C, then stops
// it all (the nodes drain first) and removes the temporary directory.
//
// It is a demonstration, not a deployment: see deploy/cluster/README.md for that.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/paybridge/paybridge/internal/pgtemp"
)

// demoPlan pays a bill on one number and texts a payment link on another, through the
// standalone sandbox every node shares.
const demoPlan = `<CallPlan name="cluster-demo">
  <Match number="+441632960777"/>
  <Match number="+441632960778"/>
  <Connector name="provider" type="session" baseUrl="#(env:PROVIDER_URL)" account="cluster-demo">
    <ClientCredentials clientId="demo" clientSecret="#(env:PROVIDER_SECRET:-sandbox-secret)"/>
  </Connector>
  <Flow>
    <If test="$(Call.To) == +441632960778">
      <SendPaymentLink connector="provider" to="$(Call.From)" amount="12.34" currency="GBP" reference="DEMO-LINK" var="Link"/>
      <Hangup/>
    </If>
    <Pay connector="provider" amount="12.34" currency="GBP" reference="DEMO-$(Call.Id)" securityCode="true" postalCode="false" var="Pay"/>
    <Hangup/>
  </Flow>
</CallPlan>
`

// demoToken is the admin token of every demo node (a demo on loopback; never in production).
const demoToken = "cluster-demo-admin-token-0123456789"

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func main() {
	nodes := flag.Int("nodes", 2, "how many paybridge nodes (127.0.0.2, 127.0.0.3, …)")
	proxy := flag.String("proxy", "127.0.0.1:5060", "Kamailio's SIP address (UDP)")
	bin := flag.String("bin", "bin/paybridge", "the paybridge binary")
	cfg := flag.String("kamailio-cfg", "deploy/kamailio/kamailio.cfg", "Kamailio configuration")
	flag.Parse()
	if err := run(*nodes, *proxy, *bin, *cfg); err != nil {
		fmt.Fprintln(os.Stderr, "make cluster:", err)
		os.Exit(1)
	}
}

func run(nodes int, proxy, bin, kamCfg string) error {
	if nodes < 1 || nodes > 9 {
		return errors.New("-nodes: 1 to 9")
	}
	kamailio, err := exec.LookPath("kamailio")
	if err != nil {
		return errors.New("kamailio not installed: run make deps")
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s: %w (run make build)", bin, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, err := os.MkdirTemp("", "paybridge-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var procs []*proc
	defer func() {
		// Nodes first (they drain), then the proxy and the provider, then the database.
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop()
		}
	}()

	fmt.Println("starting PostgreSQL …")
	pg, err := pgtemp.Start(ctx, pgtemp.Options{TCP: true})
	if err != nil {
		return err
	}
	defer pg.Stop()
	db, err := pg.CreateDB(ctx, "paybridge")
	if err != nil {
		return err
	}
	dbURL := pg.TCPURL("paybridge")

	sandbox, sbURL, err := start(dir, "sandbox", nil, `listening on (http://\S+)`, bin, "sandbox", "--addr", "127.0.0.1:0")
	if err != nil {
		return err
	}
	procs = append(procs, sandbox)

	plans := filepath.Join(dir, "plans")
	os.MkdirAll(plans, 0o755)
	if err := os.WriteFile(filepath.Join(plans, "cluster-demo.xml"), []byte(demoPlan), 0o644); err != nil {
		return err
	}
	type node struct{ id, sip, http string }
	var ns []node
	for i := 1; i <= nodes; i++ {
		id := fmt.Sprintf("pb-%d", i)
		ip := fmt.Sprintf("127.0.0.%d", i+1)
		p, _, err := start(dir, id, []string{"PROVIDER_URL=" + sbURL[1]}, `^\s+node\s+\S+`, bin, "serve",
			"--db", db, "--node-id", id, "--sip-addr", ip+":5060", "--http-addr", ip+":8080",
			"--data", filepath.Join(dir, id), "--plans", plans, "--admin-token", demoToken,
			"--rtp-ports", fmt.Sprintf("%d-%d", 20000+i*1000, 20999+i*1000), "--drain-timeout", "10s")
		if err != nil {
			return err
		}
		procs = append(procs, p)
		ns = append(ns, node{id: id, sip: ip + ":5060", http: "http://" + ip + ":8080"})
	}

	var list strings.Builder
	for _, n := range ns {
		fmt.Fprintf(&list, "1 sip:%s 0 0 duid=%s;\n", n.sip, n.id)
	}
	dsList := filepath.Join(dir, "nodes.list")
	if err := os.WriteFile(dsList, []byte(list.String()), 0o644); err != nil {
		return err
	}
	run := filepath.Join(dir, "kamailio-run")
	os.MkdirAll(run, 0o755)
	kam, _, err := start(dir, "kamailio", nil, `main\(\): processes`, kamailio, "-f", kamCfg, "-DD", "-E", "-Y", run,
		"-m", "64", "-M", "8", "-A", "LISTEN=udp:"+proxy, "-A", fmt.Sprintf("DS_LIST=%q", dsList))
	if err != nil {
		return err
	}
	procs = append(procs, kam)

	fmt.Printf(`
paybridge cluster on loopback (Ctrl-C stops it all)

  Kamailio     sip:%s (UDP)  — dispatcher over the nodes, OPTIONS probes every second
`, proxy)
	for _, n := range ns {
		fmt.Printf("  node %-6s  SIP %s   console %s/   log %s\n", n.id, n.sip, n.http, filepath.Join(dir, n.id+".log"))
	}
	fmt.Printf(`  PostgreSQL   %s   (psql "%s")
  sandbox      %s   (ledger: %s/ledger)
  admin token  %s
  logs         %s

Pay through Kamailio (any node may take it; the console of every node shows it):
  %s call sip:+441632960777@%s --from +447700900123 --digits "4242424242424242# W 1230# W 123#"
Text a payment link (then open it on any node's /pay/…):
  %s call sip:+441632960778@%s --from +447700900123
Take a node away:  kill -9 <its pid> — Kamailio sends new calls to the others; a survivor
settles its calls and payments within seconds (see its log: "took over a dead node").
`, dbURL, dbURL, sbURL[1], sbURL[1], demoToken, dir, bin, proxy, bin, proxy)
	for _, p := range procs {
		fmt.Printf("  pid %-7d %s\n", p.cmd.Process.Pid, p.name)
	}

	exits := watchExits(procs)
	for {
		select {
		case <-ctx.Done():
			fmt.Println("\nstopping …")
			return nil
		case p := <-exits:
			if strings.HasPrefix(p.name, "pb-") {
				fmt.Printf("node %s exited (%s); the cluster goes on without it\n", p.name, p.cmd.ProcessState)
				continue
			}
			return fmt.Errorf("%s exited: see %s", p.name, p.log)
		}
	}
}

// start runs a process of the demo with its output in DIR/NAME.log and waits for a line
// matching ready; it returns the process and the line's submatches.
func start(dir, name string, env []string, ready, bin string, args ...string) (*proc, []string, error) {
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() { cmd.Wait(); pw.Close(); close(p.done) }()
	re := regexp.MustCompile(ready)
	found := make(chan []string, 1)
	go func() {
		defer logf.Close()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m:
				default:
				}
			}
		}
	}()
	select {
	case m := <-found:
		return p, m, nil
	case <-p.done:
		b, _ := os.ReadFile(logPath)
		return nil, nil, fmt.Errorf("%s exited on start:\n%s", name, b)
	case <-time.After(30 * time.Second):
		p.stop()
		b, _ := os.ReadFile(logPath)
		return nil, nil, fmt.Errorf("%s did not start:\n%s", name, b)
	}
}

// stop ends the process (and its children) with SIGTERM, then SIGKILL after 15 s.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// watchExits reports each process that exits on its own.
func watchExits(ps []*proc) <-chan *proc {
	out := make(chan *proc, len(ps))
	for _, p := range ps {
		go func() {
			<-p.done
			out <- p
		}()
	}
	return out
}
