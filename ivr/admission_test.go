package ivr

import (
	"context"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paybridge/paybridge/media"
)

// tick feeds the admission controller one tick: calls up, and the send-lateness counters
// advanced by packets of which late were a frame late or more.
type tickFeed struct {
	a       *admission
	now     time.Time
	packets int64
	late    int64
	cpu     time.Duration
}

func (f *tickFeed) tick(calls int, packets, late int64, mut ...func(*tickInput)) Admission {
	f.now = f.now.Add(admissionTick)
	f.packets += packets
	f.late += late
	in := tickInput{now: f.now, calls: calls, cpu: f.cpu, sockets: calls,
		jitter: media.JitterSnapshot{Packets: f.packets, Over20: f.late}}
	for _, m := range mut {
		m(&in)
	}
	return f.a.update(in)
}

// The limit starts at the floor, doubles per healthy tick while the calls are near it
// (never above the ceiling), falls to 90% of the calls in progress on a degraded tick (never
// below the floor), holds for two ticks, then grows by 5%.
func TestAdmissionLimitFollowsMediaHealth(t *testing.T) {
	f := &tickFeed{a: newAdmission(0, 5000), now: time.Unix(0, 0)}
	floor := floorPerCPU * availableCPUs()
	if got := int(f.a.limit.Load()); got != floor {
		t.Fatalf("initial limit %d, want the floor %d", got, floor)
	}
	f.tick(0, 0, 0) // the first tick only takes the counters
	if st := f.tick(floor/2, 1000, 0); st.Limit != floor || st.Degraded != "" {
		t.Fatalf("calls well below the limit: %+v, want the limit to stay at %d", st, floor)
	}
	limit := floor
	for i := 0; i < 4; i++ {
		st := f.tick(limit, 1000, 0)
		want := limit * 2
		if st.Limit != want {
			t.Fatalf("healthy tick at the limit %d: limit %d, want %d (slow start)", limit, st.Limit, want)
		}
		limit = want
	}
	// 2% of the packets a frame late on one tick: a hiccup — the limit holds (no rise, no
	// fall); a healthy tick between clears it; two late ticks in a row are the degradation:
	// the limit falls to 90% of the calls.
	calls := limit - 5
	for _, healthy := range []bool{true, false} {
		st := f.tick(calls, 10000, 200)
		if st.Degraded != "" || st.Held != "late" || st.Late != "send-late" || st.Limit != limit {
			t.Fatalf("2%% late on one tick: %+v, want held (late, send-late) at limit %d", st, limit)
		}
		if healthy {
			st := f.tick(calls, 10000, 0)
			if st.Degraded != "" || st.Held != "" || st.Limit < limit {
				t.Fatalf("on time after a late tick: %+v, want healthy, the limit %d or above", st, limit)
			}
			limit = st.Limit
		}
	}
	st := f.tick(calls, 10000, 200)
	if st.Degraded != "send-late" || st.Limit != calls*9/10 {
		t.Fatalf("2%% late: %+v, want send-late and limit %d", st, calls*9/10)
	}
	limit = st.Limit
	// The calls cannot all leave at once: held for two healthy ticks, then +5%.
	for i := 0; i < degradedHoldTicks; i++ {
		if st := f.tick(limit, 10000, 0); st.Limit != limit {
			t.Fatalf("hold tick %d: limit %d, want %d", i, st.Limit, limit)
		}
	}
	if st := f.tick(limit, 10000, 0); st.Limit != limit+max(1, limit/20) {
		t.Fatalf("after the hold: limit %d, want %d (+5%%)", st.Limit, limit+max(1, limit/20))
	}
	// Each degradation signal on its own.
	signals := map[string]func(*tickInput){
		"socket-drops":    func(in *tickInput) { in.newDrops = 3 },
		"skipped-frames":  func(in *tickInput) { in.jitter.Skipped = 1 << 20 },
		"receive-backlog": func(in *tickInput) { in.behind = 10 },
		"sip-backlog":     func(in *tickInput) { in.sipBusy = true },
	}
	for want, mut := range signals {
		f.a.hold = 0
		f.a.limit.Store(2000)
		if want == "skipped-frames" { // lateness: judged on its second tick in a row
			if st := f.tick(500, 10000, 0, mut); st.Degraded != "" || st.Held != "late" || st.Limit != 2000 {
				t.Errorf("skipped frames on one tick: %+v, want held at 2000", st)
			}
			f.a.last.skipped = 0
		}
		st := f.tick(500, 10000, 0, mut)
		if st.Degraded != want || st.Limit != 450 {
			t.Errorf("%s: %+v, want degraded %q and limit 450", want, st, want)
		}
		f.tick(500, 10000, 0) // the counters move on (skipped frames stay counted)
		f.a.last.skipped = 0
	}
	// Few packets: lateness is not judged on them; a degradation never takes the limit below
	// the floor.
	f.a.hold = 0
	if st := f.tick(floor, 50, 50); st.Degraded != "" {
		t.Fatalf("50 packets, all late: %+v, want no judgement on so few", st)
	}
	f.tick(3, 10000, 5000) // a lone late tick holds
	if st := f.tick(3, 10000, 5000); st.Degraded != "send-late" || st.Limit != floor {
		t.Fatalf("degraded with 3 calls: limit %d, want the floor %d", st.Limit, floor)
	}
}

// busyCPU makes a tick's CPU figure share of the available CPUs: the process's own CPU time
// advanced by share × the tick × the CPUs.
func (f *tickFeed) busyCPU(share float64) func(*tickInput) {
	return func(in *tickInput) {
		f.cpu += time.Duration(share * float64(admissionTick) * float64(availableCPUs()))
		in.cpu = f.cpu
	}
}

// The rule: CPU headroom predicts, media health judges. A tick with the process's CPUs 95%
// busy and its media on time leaves the limit where it is — a new call under it is admitted
// and OPTIONS would be 200 — and only keeps it from rising; the same ticks with the calls'
// packets late lower it below the calls up, and a new call is refused for overload (503 to
// INVITE and OPTIONS).
func TestAdmissionCPUAloneNeverRefuses(t *testing.T) {
	f := &tickFeed{a: newAdmission(0, 5000), now: time.Unix(0, 0)}
	f.tick(0, 0, 0)
	f.a.limit.Store(2000)
	var active atomic.Int64
	active.Store(500)
	for i := 0; i < 10; i++ {
		st := f.tick(500, 10000, 0, f.busyCPU(0.95))
		if st.Degraded != "" || st.Held != "cpu" || st.Limit != 2000 || st.CPUShare < 0.9 {
			t.Fatalf("tick %d, CPUs 95%% busy, media on time: %+v, want healthy, held for cpu, limit 2000", i, st)
		}
	}
	if f.a.full(active.Load()) {
		t.Fatal("CPUs busy, media on time, 500 calls under a limit of 2000: full, want room")
	}
	if ok, reason := f.a.tryAdmit(&active); !ok {
		t.Fatalf("CPUs busy, media on time: refused (%s), want admitted", reason)
	}
	active.Add(-1)
	// Near the limit, busy CPUs keep it from growing; idle ones let it grow.
	if st := f.tick(1900, 10000, 0, f.busyCPU(0.95)); st.Limit != 2000 || st.Held != "cpu" {
		t.Fatalf("1900 calls, CPUs busy: %+v, want the limit held at 2000", st)
	}
	if st := f.tick(1900, 10000, 0, f.busyCPU(0.30)); st.Limit <= 2000 || st.Held != "" {
		t.Fatalf("1900 calls, CPUs 30%% busy: %+v, want the limit raised", st)
	}

	// The calls' own media late: refused, whatever the CPU says.
	for _, share := range []float64{0.95, 0.10} {
		g := &tickFeed{a: newAdmission(0, 5000), now: time.Unix(0, 0)}
		g.tick(0, 0, 0)
		g.a.limit.Store(2000)
		g.tick(500, 10000, 300, g.busyCPU(share)) // a lone late tick holds; the second degrades
		st := g.tick(500, 10000, 300, g.busyCPU(share))
		if st.Degraded != "send-late" || st.Limit != 450 {
			t.Fatalf("3%% of packets late, CPUs %.0f%%: %+v, want send-late and limit 450", share*100, st)
		}
		if !g.a.full(active.Load()) {
			t.Fatalf("500 calls over a limit of 450: room, want full (OPTIONS 503)")
		}
		if ok, reason := g.a.tryAdmit(&active); ok || reason != RefusedOverload {
			t.Fatalf("own media late: %v %q, want refused for overload", ok, reason)
		}
	}
}

// A fixed ceiling is never passed, and the floor is no higher than it.
func TestAdmissionCeiling(t *testing.T) {
	f := &tickFeed{a: newAdmission(7, 5000), now: time.Unix(0, 0)}
	if f.a.floor != 7 || f.a.limit.Load() != 7 {
		t.Fatalf("MaxCalls 7: floor %d, limit %d", f.a.floor, f.a.limit.Load())
	}
	for i := 0; i < 5; i++ {
		if st := f.tick(7, 1000, 0); st.Limit != 7 || st.Ceiling != 7 || st.Auto {
			t.Fatalf("%+v: want limit = ceiling = 7, not auto", st)
		}
	}
	if a := newAdmission(0, 123); a.ceiling != 123 || !a.auto {
		t.Fatalf("auto: ceiling %d (want the 123 ports), auto %v", a.ceiling, a.auto)
	}
}

// Admission is a reservation: calls racing for the last places get exactly as many as there
// are, whatever the interleaving.
// Config.FixedLimit (serve --admission fixed, a measurement mode): the limit is the ceiling
// from the first call, degraded ticks are reported but never lower it, and the ceiling is
// still enforced.
func TestAdmissionFixedLimit(t *testing.T) {
	a := newAdmission(1000, 5000)
	a.fix()
	f := &tickFeed{a: a, now: time.Unix(0, 0)}
	if got := a.limit.Load(); got != 1000 {
		t.Fatalf("fixed: initial limit %d, want the ceiling 1000", got)
	}
	f.tick(0, 0, 0)
	st := f.tick(900, 10000, 5000, func(in *tickInput) { in.newDrops = 7 }) // badly degraded
	if st.Degraded == "" || st.Limit != 1000 || !st.Fixed {
		t.Fatalf("degraded tick, fixed: %+v, want the degradation reported and the limit held at 1000", st)
	}
	var active atomic.Int64
	active.Store(999)
	if ok, _ := a.tryAdmit(&active); !ok {
		t.Fatal("fixed: call 1000 refused")
	}
	if ok, reason := a.tryAdmit(&active); ok || reason != RefusedMaxCalls {
		t.Fatalf("fixed: call 1001 admitted=%v reason %q, want refused %q", ok, reason, RefusedMaxCalls)
	}
	// Control: the same tick without the mode lowers the limit.
	g := &tickFeed{a: newAdmission(1000, 5000), now: time.Unix(0, 0)}
	g.tick(0, 0, 0)
	if st := g.tick(900, 10000, 5000, func(in *tickInput) { in.newDrops = 7 }); st.Limit >= 900 || st.Fixed {
		t.Fatalf("degraded tick, auto: %+v, want the limit below 900", st)
	}
}

func TestTryAdmitRace(t *testing.T) {
	a := newAdmission(10, 5000)
	var active atomic.Int64
	var admitted, refused atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, reason := a.tryAdmit(&active); ok {
				admitted.Add(1)
			} else if reason == RefusedMaxCalls {
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if admitted.Load() != 10 || refused.Load() != 190 || active.Load() != 10 || a.refused.Load() != 190 {
		t.Fatalf("admitted %d, refused %d (counted %d), active %d; want 10, 190", admitted.Load(), refused.Load(), a.refused.Load(), active.Load())
	}
	a.ceiling = 100 // the limit (10) is now the health limit, below the ceiling
	if ok, reason := a.tryAdmit(&active); ok || reason != RefusedOverload {
		t.Fatalf("at the health limit: %v %q, want refused for overload", ok, reason)
	}
}

var retryAfterRe = regexp.MustCompile(`(?mi)^Retry-After:\s*(\d+)\s*$`)

// With MaxCalls 1 and a call up, a second INVITE is answered 503 with a Retry-After of 3–8 s
// and OPTIONS 503 as well; the refusal is counted; once the call has ended OPTIONS is 200 and
// a new INVITE is answered. The control: OPTIONS is 200 before the first call.
func TestOverCapacityIs503(t *testing.T) {
	release := make(chan struct{})
	var metrics refusedMetrics
	s, _ := startServer(t, Config{MaxCalls: 1, Metrics: &metrics, Router: RouterFunc(func(string) (CallHandler, bool) {
		return func(ctx context.Context, call *Call) {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}, true
	})})
	options := func() (int, string) {
		u := newRawUAC(t, s)
		u.request("OPTIONS", 1, "")
		return u.response("OPTIONS", 200)
	}
	if code, _ := options(); code != 200 {
		t.Fatalf("OPTIONS with no call up: %d, want 200", code)
	}
	first := newRawUAC(t, s)
	first.request("INVITE", 1, first.sdp("sendrecv"))
	if code, _ := first.response("INVITE", 200); code != 200 {
		t.Fatalf("first INVITE: %d, want 200", code)
	}
	first.request("ACK", 1, "")

	second := newRawUAC(t, s)
	second.request("INVITE", 1, second.sdp("sendrecv"))
	code, msg := second.response("INVITE", 200)
	if code != 503 {
		t.Fatalf("second INVITE at MaxCalls 1: %d, want 503", code)
	}
	m := retryAfterRe.FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("503 without Retry-After:\n%s", msg)
	}
	if n, _ := strconv.Atoi(m[1]); n < 3 || n > 8 {
		t.Fatalf("Retry-After %d, want 3–8", n)
	}
	if code, _ := options(); code != 503 {
		t.Fatalf("OPTIONS at capacity: %d, want 503", code)
	}
	if got := metrics.refused(RefusedMaxCalls); got != 1 {
		t.Fatalf("refusals counted: %d, want 1", got)
	}
	if st := s.Admission(); st.Refused != 1 || st.Calls != 1 || st.Limit != 1 {
		t.Fatalf("Admission() = %+v", st)
	}

	close(release)
	// The handler returns: the server hangs up; the first caller answers its BYE.
	buf := make([]byte, 65535)
	first.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for s.ActiveCalls() > 0 {
		n, from, err := first.conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("the call did not end: %v", err)
		}
		if msg := string(buf[:n]); strings.HasPrefix(msg, "BYE ") {
			first.answer(msg, from)
			deadline := time.Now().Add(10 * time.Second)
			for s.ActiveCalls() > 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	if code, _ := options(); code != 200 {
		t.Fatalf("OPTIONS after the call ended: %d, want 200", code)
	}
	third := newRawUAC(t, s)
	third.request("INVITE", 1, third.sdp("sendrecv"))
	if code, _ := third.response("INVITE", 200); code != 200 {
		t.Fatalf("INVITE after the call ended: %d, want 200", code)
	}
	third.request("ACK", 1, "")
}

// OPTIONS answers what an INVITE would get (RFC 3261 §11.2) when the RTP ports run out below
// the call limit too: with --max-calls 5 and a single RTP port, a call up leaves no port, so
// a second INVITE is refused (503, no-ports) and OPTIONS must say 503 with Retry-After as
// well. The control: OPTIONS is 200 before the call.
func TestOptionsAnswersAsInviteWhenPortsRunOut(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port &^ 1
	c.Close()
	release := make(chan struct{})
	defer close(release)
	s, _ := startServer(t, Config{MaxCalls: 5, RTPPortMin: port, RTPPortMax: port + 1, Router: RouterFunc(func(string) (CallHandler, bool) {
		return func(ctx context.Context, call *Call) {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}, true
	})})
	options := func() (int, string) {
		u := newRawUAC(t, s)
		u.request("OPTIONS", 1, "")
		return u.response("OPTIONS", 200)
	}
	if code, _ := options(); code != 200 {
		t.Fatalf("OPTIONS with no call up: %d, want 200", code)
	}
	first := newRawUAC(t, s)
	first.request("INVITE", 1, first.sdp("sendrecv"))
	if code, msg := first.response("INVITE", 200); code != 200 {
		t.Fatalf("first INVITE: %d, want 200 (is port %d free?)\n%s", code, port, msg)
	}
	first.request("ACK", 1, "")
	second := newRawUAC(t, s)
	second.request("INVITE", 1, second.sdp("sendrecv"))
	if code, _ := second.response("INVITE", 200); code != 503 {
		t.Fatalf("second INVITE with the only RTP port taken: %d, want 503", code)
	}
	code, msg := options()
	if code != 503 || !strings.Contains(msg, "Service Unavailable") || retryAfterRe.FindStringSubmatch(msg) == nil {
		t.Fatalf("OPTIONS with the only RTP port taken: %d, want 503 Service Unavailable with Retry-After\n%s", code, msg)
	}
}

// refusedMetrics counts CallRefused by reason.
type refusedMetrics struct {
	NopMetrics
	mu sync.Mutex
	by map[string]int
}

func (m *refusedMetrics) CallRefused(reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.by == nil {
		m.by = map[string]int{}
	}
	m.by[reason]++
}

func (m *refusedMetrics) refused(reason string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.by[reason]
}

// The SIP socket gets the receive buffer asked for (below the kernel's cap), and the figures
// say so; a request above the cap is reported as capped.
func TestReceiveBuffersSized(t *testing.T) {
	s, _ := startServer(t, Config{Router: digitCollector(1, make(chan collected, 1)), SIPReceiveBuffer: 1 << 20, RTPReceiveBuffer: 128 << 10})
	b := s.ReceiveBuffers()
	if b.SIPRequested != 1<<20 || b.RTPRequested != 128<<10 || b.Capped() {
		t.Fatalf("ReceiveBuffers() = %+v, want 1 MiB and 128 KiB granted", b)
	}
	s2, logs := startServer(t, Config{Router: digitCollector(1, make(chan collected, 1)), SIPReceiveBuffer: 1 << 30})
	if b := s2.ReceiveBuffers(); !b.Capped() || b.SIPGranted >= b.SIPRequested {
		t.Fatalf("1 GiB asked: %+v, want capped", b)
	}
	if !strings.Contains(logs.String(), "rmem_max") {
		t.Fatalf("the cap was not logged:\n%s", logs.String())
	}
}
