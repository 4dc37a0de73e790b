package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/store"
)

// proc is a child process whose output is kept (the last lines, for error messages) and
// scanned for a readiness line.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	tail []string
	done chan struct{}
	// degraded counts serve's "media degraded" warnings by reason (the admission controller
	// lowering the call limit), kept apart from the tail.
	degraded map[string]int
}

// startProc starts cmd and waits until a line of its output matches ready; the first
// submatch is returned. onStdout, when set, receives every stdout line instead of the tail.
func startProc(cmd *exec.Cmd, ready *regexp.Regexp, onStdout func(string)) (*proc, string, error) {
	p := &proc{cmd: cmd, done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	found := make(chan string, 1)
	var wg sync.WaitGroup
	scan := func(r io.Reader, sink func(string)) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if m := ready.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
			if sink != nil {
				sink(line)
			} else {
				p.keep(line)
			}
		}
	}
	wg.Add(2)
	go scan(stdout, onStdout)
	go scan(stderr, nil)
	go func() { wg.Wait(); cmd.Wait(); close(p.done) }()
	select {
	case addr := <-found:
		return p, addr, nil
	case <-p.done:
		return nil, "", fmt.Errorf("%s exited before it was ready:\n%s", filepath.Base(cmd.Path), p.lastLines())
	case <-time.After(60 * time.Second):
		p.kill()
		return nil, "", fmt.Errorf("%s not ready after 60 s:\n%s", filepath.Base(cmd.Path), p.lastLines())
	}
}

var degradedLine = regexp.MustCompile(`media degraded.*reason=(\S+)`)

func (p *proc) keep(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m := degradedLine.FindStringSubmatch(line); m != nil {
		if p.degraded == nil {
			p.degraded = map[string]int{}
		}
		p.degraded[m[1]]++
	}
	p.tail = append(p.tail, line)
	if len(p.tail) > 40 {
		p.tail = p.tail[len(p.tail)-40:]
	}
}

func (p *proc) lastLines() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// degradations lists serve's media degradations by reason ("" when none).
func (p *proc) degradations() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for r, n := range p.degraded {
		out = append(out, fmt.Sprintf("%s ×%d", r, n))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// stop sends SIGTERM and waits (up to d), then kills.
func (p *proc) stop(d time.Duration) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(d):
		p.kill()
	}
}

func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// outcome is what the endpoint itself recorded about a run.
type outcome struct {
	answered, correct int
	events            int            // rows paybridge wrote to its store's event timeline
	failures          map[string]int // why the other answered calls failed
	spans             []span         // answer → end of each call
}

type span struct{ from, to time.Time }

// callSeconds is the sum of the calls' durations.
func (o outcome) callSeconds() float64 {
	var s float64
	for _, x := range o.spans {
		if x.to.After(x.from) {
			s += x.to.Sub(x.from).Seconds()
		}
	}
	return s
}

// peak is the most calls that were up at one moment.
func (o outcome) peak() int {
	type edge struct {
		t time.Time
		d int
	}
	var es []edge
	for _, x := range o.spans {
		if x.to.After(x.from) {
			es = append(es, edge{x.from, 1}, edge{x.to, -1})
		}
	}
	sort.Slice(es, func(i, j int) bool {
		if es[i].t.Equal(es[j].t) {
			return es[i].d < es[j].d // an end before a start at the same instant
		}
		return es[i].t.Before(es[j].t)
	})
	n, best := 0, 0
	for _, e := range es {
		n += e.d
		best = max(best, n)
	}
	return best
}

// target is an endpoint under test in its own process.
type target interface {
	proc() *proc
	sipAddr() string
	// finish stops the process and returns what it recorded.
	finish() (outcome, error)
}

// --- paybridge serve ---

type serveTarget struct {
	p     *proc
	addr  string
	data  string
	pprof string // base URL of the profiler when bin is serveprof
}

var serveReady = regexp.MustCompile(`SIP\s+(\S+) \(UDP`)

var pprofLine = regexp.MustCompile(`^pprof (http://\S+/debug/pprof/)`)

// startServe runs `paybridge serve` on the load-test plan, paying through provider. With
// profile set, bin is loadtest/serveprof (serve with the profiler) and takes no subcommand.
func startServe(bin, plans, provider string, profile bool, extra ...string) (*serveTarget, error) {
	data, err := os.MkdirTemp("", "capacity-serve")
	if err != nil {
		return nil, err
	}
	args := []string{"serve"}
	if profile {
		args = nil
	}
	cmd := exec.Command(bin, append(args, "--sip-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--data", data,
		"--plans", plans, "--rtp-ports", "20000-39999", "--log-level", "warn", "--drain-timeout", "30s",
		"--admin-token", "capacity-admin-token-0123456789abcdef")...)
	cmd.Args = append(cmd.Args, extra...)
	cmd.Env = append(os.Environ(), "LOADTEST_PROVIDER_URL="+provider)
	p, addr, err := startProc(cmd, serveReady, nil)
	if err != nil {
		os.RemoveAll(data)
		return nil, err
	}
	t := &serveTarget{p: p, addr: addr, data: data}
	p.mu.Lock()
	for _, l := range p.tail {
		if m := pprofLine.FindStringSubmatch(l); m != nil {
			t.pprof = m[1]
		}
	}
	p.mu.Unlock()
	return t, nil
}

func (t *serveTarget) proc() *proc     { return t.p }
func (t *serveTarget) sipAddr() string { return t.addr }

// finish stops serve (calls have ended; drain is immediate) and reads every call's Pay result
// from its SQLite store: correct = Pay.Result success.
func (t *serveTarget) finish() (outcome, error) {
	t.p.stop(60 * time.Second)
	defer os.RemoveAll(t.data)
	o := outcome{failures: map[string]int{}}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.data, "paybridge.db"))
	if err != nil {
		return o, err
	}
	defer st.Close()
	f := store.CallFilter{Limit: store.MaxLimit}
	for {
		calls, err := st.ListCalls(ctx, f)
		if err != nil {
			return o, err
		}
		for _, c := range calls {
			if c.AnsweredAt.IsZero() {
				continue
			}
			o.answered++
			o.spans = append(o.spans, span{c.AnsweredAt, c.EndedAt})
			_, events, err := st.GetCall(ctx, c.ID)
			if err != nil {
				return o, err
			}
			o.events += len(events)
			result := "no Pay result (" + c.HangupCause + ")"
			for _, e := range events {
				if e.Type != "pay.completed" {
					continue
				}
				var d event.PayCompleted
				if err := json.Unmarshal(e.Fields, &d); err != nil {
					return o, fmt.Errorf("pay.completed of %s: %w", c.ID, err)
				}
				switch result = d.Result; {
				case result == event.ResultSuccess && !strings.HasSuffix(d.MaskedCard, "4242"):
					result = "success with another card " + d.MaskedCard
				case result != event.ResultSuccess && d.ErrorType != "":
					result += "/" + d.ErrorType
				}
			}
			if result == "success" {
				o.correct++
			} else {
				o.failures[result]++
			}
		}
		if len(calls) < f.Limit {
			return o, nil
		}
		f.Cursor = calls[len(calls)-1].Cursor()
	}
}

// --- the diago peer ---

type peerTarget struct {
	p    *proc
	addr string

	mu      sync.Mutex
	reports []peerReport
}

type peerReport struct {
	Call     string `json:"call"`
	Digits   int    `json:"digits"`
	Exact    bool   `json:"exact"`
	Paid     bool   `json:"paid"`
	Error    string `json:"error"`
	Answered int64  `json:"answered_ms"`
	Ended    int64  `json:"ended_ms"`
}

var peerReady = regexp.MustCompile(`diagopeer listening on udp (\S+)`)

func startPeer(bin, prompt, expect, provider string) (*peerTarget, error) {
	t := &peerTarget{}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-prompt", prompt, "-expect", expect, "-provider", provider,
		"-rtp-ports", "20000-39999")
	p, addr, err := startProc(cmd, peerReady, func(line string) {
		var r peerReport
		if json.Unmarshal([]byte(line), &r) == nil && r.Call != "" {
			t.mu.Lock()
			t.reports = append(t.reports, r)
			t.mu.Unlock()
		}
	})
	if err != nil {
		return nil, err
	}
	t.p, t.addr = p, addr
	return t, nil
}

func (t *peerTarget) proc() *proc     { return t.p }
func (t *peerTarget) sipAddr() string { return t.addr }

// finish stops the peer and counts its reports: correct = exact digits, charged.
func (t *peerTarget) finish() (outcome, error) {
	t.p.stop(30 * time.Second)
	t.mu.Lock()
	defer t.mu.Unlock()
	o := outcome{failures: map[string]int{}}
	for _, r := range t.reports {
		if r.Answered == 0 {
			continue
		}
		o.answered++
		o.spans = append(o.spans, span{time.UnixMilli(r.Answered), time.UnixMilli(r.Ended)})
		switch {
		case r.Exact && r.Paid:
			o.correct++
		case r.Exact:
			o.failures["exact, not paid"]++
		default:
			o.failures[fmt.Sprintf("%d of 23 digits", r.Digits)]++
		}
	}
	if len(t.reports) == 0 {
		return o, errors.New("the peer reported no call")
	}
	return o, nil
}

// --- the provider ---

var sandboxReady = regexp.MustCompile(`listening on (http://\S+)`)

func startSandbox(bin string) (*proc, string, error) {
	return startProc(exec.Command(bin, "sandbox", "--addr", "127.0.0.1:0"), sandboxReady, nil)
}
