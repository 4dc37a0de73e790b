// Command capacity measures paybridge's capacity side by side with a peer and with the
// kernel's floor, and prints one table (issue 17; `make loadtest`).
//
// Endpoints, each in its own process with the provider in another (`paybridge sandbox`):
// `paybridge serve` running testdata/loadtest/pay.xml (a 1 s prompt, Pay for card + expiry +
// CVV, one charge, hang up) and loadtest/diagopeer (the same on github.com/emiago/diago).
// Callers: loadtest/callgen (ours: one scheduler, batched sends) and SIPp (the outside check:
// play_pcap_audio for RFC 4733, rtp_stream for in-band). Each row climbs a ladder of
// concurrent calls — N calls ramped at N/15 per second, each listening LEAD before keying so
// that all N are up at once — and stops at the first rung with an error. Per rung: calls
// correct (paybridge: Pay.Result=success for card …4242 in its store; the peer: exact digits
// and a charge), CPU of the endpoint process (/proc/PID/stat utime+stime over the run) per
// call-second (call-seconds and the peak of concurrent calls as the endpoint recorded them),
// peak RSS (VmHWM − idle VmRSS) per concurrent call, and the caller's own CPU.
//
// Usage: go run ./loadtest/capacity [-ladder 200,500,1000,1500] [-rows …] [-budget 20m]
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/paybridge/paybridge/loadtest/callgen"
	"github.com/paybridge/paybridge/loadtest/udpfloor"
)

// The keys every caller presses (card, '#', expiry, CVV — '#' after a field that completed
// itself is ignored by Pay) and the digits the peer must collect.
const (
	payKeys   = "4242424242424242#1230#123#"
	payDigits = "42424242424242421230123"
	payUser   = "+441632960777"
)

type row struct {
	endpoint, caller, dtmf string
}

func (r row) String() string { return r.endpoint + "/" + r.caller + "/" + r.dtmf }

// names are the row's endpoint, caller and DTMF as the tables print them.
func (r row) names() (endpoint, caller, dtmf string) {
	return map[string]string{"paybridge": "paybridge serve", "base": "paybridge serve (-base)", "diago": "diago peer"}[r.endpoint],
		map[string]string{"own": "callgen", "sipp": "SIPp"}[r.caller],
		map[string]string{"rfc4733": "RFC 4733", "inband": "in-band", "rfc4733+srtp": "RFC 4733, SRTP", "inband+srtp": "in-band, SRTP"}[r.dtmf]
}

// rung is one run at one concurrency.
type rung struct {
	n                        int
	placed, correct, refused int
	errors                   int
	failures                 map[string]int
	peak                     int
	callSec                  float64
	cpu, genCPU              time.Duration
	rssBase, rssPeak         int64
	note                     string
	err                      error
	overload                 bool // offered twice the capacity: 503 is an accepted outcome
}

// clean: every call placed was answered and correct (none refused, none wrong).
func (r rung) clean() bool { return r.err == nil && r.errors == 0 && r.refused == 0 }

func (r rung) cpuPerCallSec() float64 {
	return float64(r.cpu) / float64(time.Millisecond) / max(r.callSec, 1e-9)
}
func (r rung) cpuPerCall() float64 {
	return float64(r.cpu) / float64(time.Millisecond) / float64(max(r.correct+r.errors, 1))
}
func (r rung) genPerCallSec() float64 {
	return float64(r.genCPU) / float64(time.Millisecond) / max(r.callSec, 1e-9)
}
func (r rung) rssPerCall() float64 { return float64(r.rssPeak-r.rssBase) / float64(max(r.peak, 1)) }

type config struct {
	bin, base, peer, serveprof, sipp, scenarios, plans, prompt, self, provider, work string
	lead, ramp                                                                       time.Duration
	pprof                                                                            string   // directory for profiles of serve, or ""
	serveArgs                                                                        []string // -serve-args: more flags for serve
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "gen" {
		genMain(os.Args[2:])
		return
	}
	bin := flag.String("bin", "bin/paybridge", "the paybridge binary")
	base := flag.String("base", "", "a second paybridge binary (an older build) for rows with endpoint base, e.g. base/own/rfc4733: with -pairs, each round runs both builds and the table gives base ÷ paybridge per round")
	peer := flag.String("peer", "bin/diagopeer", "the diago peer binary (make diagopeer)")
	repo := flag.String("repo", ".", "the repository (testdata/loadtest, testdata/sip/sipp)")
	ladderFlag := flag.String("ladder", "200,500,1000,1500", "concurrent calls to try, ascending; a row stops at its first rung with an error")
	rowsFlag := flag.String("rows", "paybridge/own/rfc4733,diago/own/rfc4733,paybridge/sipp/rfc4733,diago/sipp/rfc4733,paybridge/own/inband,paybridge/sipp/inband,diago/own/inband",
		"endpoint/caller/dtmf rows (endpoint paybridge|diago, caller own|sipp, dtmf rfc4733|inband, and for paybridge/own rfc4733+srtp|inband+srtp)")
	lead := flag.Duration("lead", 10*time.Second, "each caller listens this long before keying (so N calls ramped over -ramp are up at once)")
	ramp := flag.Duration("ramp", 15*time.Second, "N calls are started over this long (N/15 per second)")
	budget := flag.Duration("budget", 18*time.Minute, "stop climbing ladders after this long (rows not reached say so)")
	floorN := flag.Int("floor-n", 200000, "send+receive pairs per floor run")
	pprofDir := flag.String("pprof", "", "directory: run serve with the profiler (loadtest/serveprof) and save a CPU profile of each paybridge rung (10 s once all calls are placed) and its allocations")
	serveprof := flag.String("serveprof", "bin/serveprof", "the serveprof binary (with -pprof)")
	pairs := flag.Int("pairs", 0, "instead of the ladders: run every row this many rounds at the ladder's top rung, alternating rows within a round, and report medians and the per-round peer ÷ paybridge ratio (a shared machine moves one run by ±20–30 %)")
	overload := flag.Bool("overload", true, "after the ladders, offer each paybridge row twice its highest clean rung: every call must pay or be refused with 503")
	serveArgs := flag.String("serve-args", "", `more flags for paybridge serve, space separated: "--max-calls 1000 --admission fixed" holds serve to exactly that many calls whatever its media health (for a memory or CPU figure at a known number of calls on a shared machine; docs/sip.md)`)
	flag.Parse()

	raiseFileLimit()
	start := time.Now()
	cfg := config{lead: *lead, ramp: *ramp, serveArgs: strings.Fields(*serveArgs)}
	var err error
	if cfg.bin, err = filepath.Abs(*bin); err != nil {
		die(err)
	}
	cfg.peer, _ = filepath.Abs(*peer)
	if *base != "" {
		if cfg.base, err = filepath.Abs(*base); err != nil {
			die(err)
		}
	}
	cfg.serveprof, _ = filepath.Abs(*serveprof)
	if *pprofDir != "" {
		if cfg.pprof, err = filepath.Abs(*pprofDir); err != nil {
			die(err)
		}
		os.MkdirAll(cfg.pprof, 0o755)
	}
	cfg.scenarios = filepath.Join(*repo, "testdata", "sip", "sipp")
	if cfg.self, err = os.Executable(); err != nil {
		die(err)
	}
	rows, err := parseRows(*rowsFlag)
	if err != nil {
		die(err)
	}
	ladder, err := parseLadder(*ladderFlag)
	if err != nil {
		die(err)
	}
	for _, r := range rows {
		if r.endpoint == "base" && cfg.base == "" {
			die(fmt.Errorf("row %s: give the older build with -base", r))
		}
		if r.endpoint == "base" && cfg.pprof != "" {
			die(fmt.Errorf("row %s: -pprof profiles main's serveprof build, not -base", r))
		}
		if r.caller == "sipp" && cfg.sipp == "" {
			if cfg.sipp, err = exec.LookPath("sipp"); err != nil {
				die(fmt.Errorf("sipp is not installed: run make deps"))
			}
		}
	}
	if cfg.work, err = os.MkdirTemp("", "capacity"); err != nil {
		die(err)
	}
	defer os.RemoveAll(cfg.work)
	if cfg.plans, err = planDir(*repo, cfg.work, *lead); err != nil {
		die(err)
	}
	cfg.prompt = filepath.Join(cfg.plans, "prompts", "loadtest-card.wav")

	fmt.Printf("paybridge capacity — %d CPUs, load average %s, %s\n", runtimeCPUs(), loadavg(), time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("each call: INVITE, %v listening, then %q over the call's DTMF, then the endpoint charges and hangs up; N calls ramped over %v\n\n",
		*lead, payKeys, *ramp)
	tight, err := udpfloor.Best(udpfloor.Tight, *floorN, 3)
	if err != nil {
		die(err)
	}
	wake, err := udpfloor.Best(udpfloor.Wakeup, *floorN, 3)
	if err != nil {
		die(err)
	}
	fmt.Println("floor:", tight)
	fmt.Println("floor:", wake)

	sb, provider, err := startSandbox(cfg.bin)
	if err != nil {
		die(err)
	}
	defer sb.stop(5 * time.Second)
	cfg.provider = provider

	if *pairs > 0 {
		runPairs(os.Stdout, cfg, rows, ladder[len(ladder)-1], *pairs)
		fmt.Printf("\n(%s; %v)\n", strings.Join(os.Args, " "), time.Since(start).Round(time.Second))
		return
	}
	// Rung by rung across the rows, so that the time budget cuts the top of the ladders, not
	// whole rows; a row stops climbing at its first rung with an error.
	results := map[row][]rung{}
	stopped := map[row]bool{}
	for _, n := range ladder {
		for _, r := range rows {
			if stopped[r] || (r.endpoint == "diago" && r.dtmf == callgen.Inband) {
				continue // diago has no in-band detector: reported as n/a
			}
			if time.Since(start) > *budget {
				stopped[r] = true
				continue
			}
			g := runRung(cfg, r, n, false)
			results[r] = append(results[r], g)
			report(os.Stdout, r, g)
			if !g.clean() {
				stopped[r] = true // an error, or paybridge refused calls: this is its capacity
			}
		}
	}
	// 2× the measured capacity: paybridge must refuse the excess with 503 and pay every call
	// it accepts (the diago peer has no admission control to test).
	over := map[row]rung{}
	for _, r := range rows {
		if !*overload || r.endpoint != "paybridge" {
			continue
		}
		if best, ok := cleanest(results[r]); ok {
			g := runRung(cfg, r, 2*best.n, true)
			over[r] = g
			report(os.Stdout, r, g)
		}
	}
	fmt.Println()
	table(os.Stdout, rows, results, over, ladder, tight, wake)
	fmt.Printf("\n(%s; %v)\n", strings.Join(os.Args, " "), time.Since(start).Round(time.Second))
}

// cleanest is the highest rung without an error.
func cleanest(rs []rung) (rung, bool) {
	var best rung
	ok := false
	for _, g := range rs {
		if g.clean() {
			best, ok = g, true
		}
	}
	return best, ok
}

// runRung runs one endpoint at n concurrent calls with one caller and measures it; overload:
// a 503 is an accepted outcome of a call (SIPp runs uac_card_pcap_503.xml).
func runRung(cfg config, r row, n int, overload bool) rung {
	g := rung{n: n, failures: map[string]int{}, overload: overload}
	var t target
	var err error
	switch r.endpoint {
	case "diago":
		t, err = startPeer(cfg.peer, cfg.prompt, payDigits, cfg.provider)
	case "paybridge", "base":
		bin := cfg.bin
		if r.endpoint == "base" {
			bin = cfg.base
		}
		if cfg.pprof != "" {
			bin = cfg.serveprof
		}
		t, err = startServe(bin, cfg.plans, cfg.provider, cfg.pprof != "", cfg.serveArgs...)
	}
	if err != nil {
		g.err = err
		return g
	}
	time.Sleep(time.Second) // let the endpoint settle: its idle RSS is the base
	pid := t.proc().pid()
	g.rssBase, _, _ = procMem(pid)
	cpu0, _ := procCPU(pid)
	l := load{addr: t.sipAddr(), user: payUser, keys: payKeys, dtmf: r.dtmf, calls: n,
		rate: float64(n) / cfg.ramp.Seconds(), lead: cfg.lead, work: cfg.work, overload: overload}
	var profiled chan struct{}
	if st, ok := t.(*serveTarget); ok && st.pprof != "" {
		profiled = make(chan struct{})
		go func() {
			defer close(profiled)
			time.Sleep(cfg.ramp) // every call placed; the first ones keying, the last listening
			fetch(st.pprof+"profile?seconds=10", filepath.Join(cfg.pprof, fmt.Sprintf("%s-%s-%s-%d.cpu.pprof", r.endpoint, r.caller, r.dtmf, n)))
		}()
	}
	var gr genResult
	if r.caller == "sipp" {
		gr, err = runSIPp(cfg.sipp, cfg.scenarios, l)
	} else {
		gr, err = runOwn(cfg.self, l)
	}
	time.Sleep(500 * time.Millisecond) // the endpoint records the last hang-ups
	if profiled != nil {
		<-profiled
		st := t.(*serveTarget)
		fetch(st.pprof+"allocs", filepath.Join(cfg.pprof, fmt.Sprintf("%s-%s-%s-%d.allocs.pprof", r.endpoint, r.caller, r.dtmf, n)))
	}
	cpu1, _ := procCPU(pid)
	_, g.rssPeak, _ = procMem(pid)
	o, ferr := t.finish()
	if err == nil {
		err = ferr
	}
	g.err = err
	g.cpu, g.genCPU, g.note = cpu1-cpu0, gr.CPU, gr.Note
	g.placed, g.correct, g.refused = max(gr.Placed, n), o.correct, max(gr.Refused, 0)
	g.errors = g.placed - g.correct - g.refused
	g.failures = o.failures
	if miss := g.placed - g.refused - o.answered; miss > 0 {
		g.failures["not answered"] += miss
	}
	g.peak, g.callSec = o.peak(), o.callSeconds()
	if d := t.proc().degradations(); d != "" {
		g.note += "; serve found its media degraded: " + d
	}
	if o.events > 0 {
		g.note += fmt.Sprintf("; the endpoint stored %.1f events per answered call", float64(o.events)/float64(max(o.answered, 1)))
	}
	return g
}

func report(w io.Writer, r row, g rung) {
	if g.err != nil {
		fmt.Fprintf(w, "%-24s N=%-5d error: %v\n", r, g.n, g.err)
		if g.placed == 0 {
			return
		}
	}
	var fs []string
	for k, v := range g.failures {
		fs = append(fs, fmt.Sprintf("%d %s", v, k))
	}
	sort.Strings(fs)
	why := ""
	if len(fs) > 0 {
		why = " (" + strings.Join(fs, ", ") + ")"
	}
	if g.overload {
		fmt.Fprintf(w, "%-24s 2× capacity:\n", r)
	}
	fmt.Fprintf(w, "%-24s N=%-5d correct %d/%d, refused %d, errors %d%s; peak %d concurrent, %.0f call-s; endpoint %.2f CPU-ms per call-s, %.0f KB RSS per call (%.1f → %.1f MB); caller %.2f CPU-ms per call-s\n",
		r, g.n, g.correct, g.placed, g.refused, g.errors, why, g.peak, g.callSec, g.cpuPerCallSec(), g.rssPerCall()/1e3,
		float64(g.rssBase)/1e6, float64(g.rssPeak)/1e6, g.genPerCallSec())
	fmt.Fprintf(w, "%-24s         caller: %s\n", "", g.note)
}

// table prints the one table of `make loadtest`.
func table(w io.Writer, rows []row, res map[row][]rung, over map[row]rung, ladder []int, tight, wake udpfloor.Result) {
	floor := tight.PerCallSecond()
	fmt.Fprintln(w, "| endpoint | caller | DTMF | highest N all paid (0 errors, 0 refused) | at that N: correct / placed (peak concurrent) | first N with errors or 503s | endpoint CPU-ms per call-s | × floor | CPU-ms per call | RSS KB per call | 503s at 2× | caller CPU-ms per call-s |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		name, caller, dtmf := r.names()
		rs := res[r]
		if r.endpoint == "diago" && r.dtmf == callgen.Inband {
			fmt.Fprintf(w, "| %s | %s | %s | n/a: diago has no in-band DTMF detector | | | | | | | | |\n", name, caller, dtmf)
			continue
		}
		if len(rs) == 0 {
			fmt.Fprintf(w, "| %s | %s | %s | not run (time budget) | | | | | | | | |\n", name, caller, dtmf)
			continue
		}
		best, clean := rs[0], false
		firstBad := "—"
		for _, g := range rs {
			if g.clean() {
				best, clean = g, true
				continue
			}
			firstBad = fmt.Sprintf("%d: %d/%d correct", g.n, g.correct, g.placed)
			if g.refused > 0 {
				firstBad += fmt.Sprintf(", %d refused (503)", g.refused)
			}
			if g.err != nil {
				firstBad = fmt.Sprintf("%d: %v", g.n, firstLine(g.err))
			}
		}
		if last := rs[len(rs)-1]; firstBad == "—" && last.n != ladder[len(ladder)-1] {
			firstBad = "not reached (time budget)"
		}
		top := "none"
		switch {
		case clean && best.n == ladder[len(ladder)-1]:
			top = fmt.Sprintf("≥ %d (the top rung)", best.n)
		case clean:
			top = strconv.Itoa(best.n)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d / %d (%d) | %s | %.2f | %.0f× | %.1f | %.0f | %s | %.2f |\n",
			name, caller, dtmf, top, best.correct, best.placed, best.peak, firstBad,
			best.cpuPerCallSec(), best.cpuPerCallSec()/floor, best.cpuPerCall(), best.rssPerCall()/1e3, overloadCell(r, over), best.genPerCallSec())
	}
	fmt.Fprintf(w, "| kernel floor (loopback UDP, Go net) | — | — | — | — | — | %.3f (%.2f µs a send+receive; %.3f with a netpoller wake-up each) | 1× | — | — | — | — |\n",
		floor, float64(tight.PairCPU())/1e3, wake.PerCallSecond())
	fmt.Fprintln(w, "\n503s at 2×: each paybridge row offered twice its highest clean rung — calls refused with 503, calls paid / placed, errors (answered and not paid, or failed: must be 0); the diago peer has no admission control (n/a).")
	fmt.Fprintln(w, "CPU and RSS are those of the highest clean rung (or of the first rung when none was clean); CPU per call-second divides by the call-seconds the endpoint recorded (paybridge's calls are longer: it plays a processing prompt before charging). The floor is 50 send+receive pairs per call-second; endpoints suppress silence while they listen, so they send far fewer than 50 packets a second and the multiple flatters neither. Numbers from a shared machine are noisy: rerun with make loadtest.")
}

// overloadCell is the 503s-at-2× cell of a row.
func overloadCell(r row, over map[row]rung) string {
	if r.endpoint != "paybridge" {
		return "n/a"
	}
	g, ok := over[r]
	switch {
	case !ok:
		return "not run (no clean rung)"
	case g.err != nil:
		return fmt.Sprintf("N=%d: %v", g.n, firstLine(g.err))
	}
	return fmt.Sprintf("N=%d: %d refused, %d / %d paid, %d errors", g.n, g.refused, g.correct, g.placed, g.errors)
}

// fetch saves a profile.
func fetch(url, path string) {
	resp, err := http.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "capacity: profile:", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "capacity: profile:", err)
		return
	}
	defer f.Close()
	io.Copy(f, resp.Body)
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// planDir copies the load-test plan and its prompt into dir, the Pay timeout widened to cover
// the callers' listening time.
func planDir(repo, work string, lead time.Duration) (string, error) {
	src := filepath.Join(repo, "testdata", "loadtest")
	b, err := os.ReadFile(filepath.Join(src, "pay.xml"))
	if err != nil {
		return "", err
	}
	dir := filepath.Join(work, "plans")
	if err := os.MkdirAll(filepath.Join(dir, "prompts"), 0o755); err != nil {
		return "", err
	}
	timeout := fmt.Sprintf(`timeout="%ds"`, int((lead + 10*time.Second).Seconds()))
	if err := os.WriteFile(filepath.Join(dir, "pay.xml"), []byte(strings.Replace(string(b), `timeout="20s"`, timeout, 1)), 0o644); err != nil {
		return "", err
	}
	wav, err := os.ReadFile(filepath.Join(src, "prompts", "loadtest-card.wav"))
	if err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "prompts", "loadtest-card.wav"), wav, 0o644)
}

func parseRows(s string) ([]row, error) {
	var rows []row
	for _, f := range strings.Split(s, ",") {
		p := strings.Split(strings.TrimSpace(f), "/")
		if len(p) != 3 || (p[0] != "paybridge" && p[0] != "base" && p[0] != "diago") || (p[1] != "own" && p[1] != "sipp") {
			return nil, fmt.Errorf("row %q: want endpoint/caller/dtmf, e.g. paybridge/own/rfc4733", f)
		}
		mode, srtp := strings.CutSuffix(p[2], srtpSuffix)
		if mode != callgen.RFC4733 && mode != callgen.Inband || srtp && (p[0] == "diago" || p[1] != "own") {
			return nil, fmt.Errorf("row %q: DTMF rfc4733 or inband (+srtp for paybridge/own only)", f)
		}
		rows = append(rows, row{p[0], p[1], p[2]})
	}
	return rows, nil
}

func parseLadder(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("ladder: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	sort.Ints(out)
	return out, nil
}

// raiseFileLimit lifts the open-file limit to the hard limit for this process and its
// children (SIPp needs a socket per call; so does each endpoint).
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func runtimeCPUs() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return max(strings.Count(string(b), "processor\t:"), 1)
}

func die(err error) {
	fmt.Fprintln(os.Stderr, "capacity:", err)
	os.Exit(1)
}
