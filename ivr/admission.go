package ivr

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/paybridge/paybridge/media"
)

// Admission control: a call is accepted only while the calls already up are served well.
// Every admissionTick the server measures its own media health over the tick —
//
//   - send lateness: more than 1% of the RTP packets it sent left a full frame (20 ms) or
//     more after their due time, or the scheduler skipped a frame to catch up;
//   - receive backlog: more than 1 + 1% of the calls' sockets hold over behindBytes unread
//     (8–20 packets with their kernel overhead: a reader 0.2–0.4 s behind), or the kernel
//     dropped a datagram on a call's socket or on the SIP socket (its queue was full), or the
//     SIP socket holds over a megabyte unread
//
// — and moves the call limit. Lateness (the first two signals) judges only when it lasts: a
// lone late tick — one scheduler hiccup, a garbage-collection pause, a neighbour's burst,
// which the callers' jitter buffers absorb — holds the limit where it is (Admission.Held
// "late"), and the second late tick in a row is the degradation. Loss and backlog (the
// kernel dropped datagrams, sockets behind) degrade at once. A degraded tick sets it to 90% of the calls in progress, so the
// calls that came in while the load built up leave by attrition (nobody is hung up); a
// healthy tick with the calls near the limit raises it, doubling it until the first
// degradation, by 5% after (slow start, then a careful approach, as TCP does). The limit never
// falls below the floor (50 calls per CPU: at the ~1–2 CPU-ms per call-second measured in
// docs/sip.md their media costs under a tenth of one core, so a degradation at that load comes
// from elsewhere and refusing would not help) and never rises above the ceiling
// (Config.MaxCalls, or the RTP ports of the range when it is 0).
//
// CPU headroom predicts; it does not judge. The figure is the process's own CPU time (user and
// system, getrusage RUSAGE_SELF) over the tick, as a share of the CPUs it may run on — another
// process on the box cannot raise it, it can only take CPU away, and what that costs the calls
// shows in their lateness above. A tick on which the process used more than 90% of its CPUs
// holds the limit where it is (Admission.Held "cpu": no more calls are let in than the limit
// already allows) but never lowers it: a node whose calls' media is on time keeps taking calls
// up to its limit, whatever the CPU figures say. Refusing is for measured media trouble alone.
//
// A new call at or over the limit is answered 503 Service Unavailable with Retry-After (3–8 s),
// and OPTIONS gets the same answer (RFC 3261 §11.2: what an INVITE would get). That 503 says
// "full for the moment": a dispatcher skips the node for that call and keeps it in rotation
// (deploy/kamailio/kamailio.cfg accepts it as a live probe answer). A draining node answers
// 503 "Draining" instead (ReasonDraining), which takes it out of rotation.
const (
	admissionTick      = 500 * time.Millisecond
	behindBytes        = 16 << 10
	floorPerCPU        = 50
	lateShareMax       = 0.01
	cpuShareMax        = 0.90
	degradedHoldTicks  = 2 // healthy ticks after a degradation before the limit may rise
	minLatenessSamples = 100
)

// Refusal reasons: the label of the refused-calls metric.
const (
	RefusedMaxCalls = "max-calls" // the ceiling (--max-calls, or the RTP ports)
	RefusedOverload = "overload"  // the health limit: more calls would degrade those up
	RefusedDraining = "draining"  // shutting down
	RefusedNoPorts  = "no-ports"  // no RTP port could be bound
)

// What moved or held the limit on a tick: Admission.Degraded is one of DegradedReasons,
// Admission.Held one of HeldReasons (closed sets: the labels of the console's admission
// metrics).
var (
	DegradedReasons = []string{"socket-drops", "send-late", "skipped-frames", "receive-backlog", "sip-backlog"}
	HeldReasons     = []string{"cpu", "late"}
)

// AdmissionMetrics is what Config.Metrics may also implement: a count of the ticks that
// lowered the limit (degraded, one of DegradedReasons) or held it (held, one of HeldReasons).
// The Admission figures are the last tick's alone — a scrape every 15 s would mostly miss a
// half-second episode — these counts keep every one.
type AdmissionMetrics interface {
	AdmissionTick(degraded, held string)
}

// Admission is the admission controller's state: the limit a new call is held to and the
// health figures of the last tick that set it.
type Admission struct {
	Calls   int  `json:"calls"`   // calls up or being set up
	Limit   int  `json:"limit"`   // new calls are refused at or over this many
	Ceiling int  `json:"ceiling"` // the most the limit may reach (MaxCalls, or the RTP ports)
	Floor   int  `json:"floor"`   // the least it may fall to
	Auto    bool `json:"auto"`    // MaxCalls was left automatic (0)
	// Fixed: the limit is held at the ceiling whatever the health (serve --admission fixed,
	// a measurement mode).
	Fixed bool `json:"fixed,omitempty"`
	// Degraded names what degraded the media on the last tick ("" when healthy).
	Degraded string `json:"degraded,omitempty"`
	// Refused counts the calls answered 503 for capacity (limit or ceiling) since start.
	Refused int64 `json:"refused"`
	// LateShare is the share of RTP packets sent a full frame late or more on the last tick;
	// SkippedFrames the frames the scheduler skipped in it.
	LateShare     float64 `json:"late_share"`
	SkippedFrames int64   `json:"skipped_frames"`
	// Behind is how many calls' sockets held more than behindBytes unread at the last look;
	// SocketDrops the datagrams the kernel dropped on the calls' and the SIP sockets since start.
	Behind      int   `json:"behind"`
	SocketDrops int64 `json:"socket_drops"`
	// CPUShare is the share of the available CPUs the process used on the last tick (its own
	// CPU time: a neighbour's does not count).
	CPUShare float64 `json:"cpu_share"`
	// Held names what kept the limit from rising on the last tick without lowering it: "cpu"
	// (the process used over 90% of its CPUs, its media healthy) or "late" (packets late or
	// frames skipped on this tick alone: the next late tick in a row degrades).
	// Late names the lateness signal of that lone tick ("send-late", "skipped-frames").
	Held string `json:"held,omitempty"`
	Late string `json:"late,omitempty"`
}

// admission holds the limit; the monitor goroutine moves it, onInvite and onOptions read it.
type admission struct {
	limit   atomic.Int64
	refused atomic.Int64
	drops   atomic.Int64

	mu        sync.Mutex
	state     Admission // the last tick's figures
	ceiling   int
	floor     int
	auto      bool
	congested bool // a degradation has been seen: the limit rises by 5%, not twofold
	fixed     bool // Config.FixedLimit: the limit is the ceiling, health never moves it
	hold      int
	wasLate   bool // the last tick's packets were late or its frames skipped
	last      healthSample
}

// healthSample holds the cumulative counters a tick's figures are the differences of.
type healthSample struct {
	at                     time.Time
	packets, over, skipped int64
	cpu                    time.Duration
}

func newAdmission(maxCalls, ports int) *admission {
	a := &admission{auto: maxCalls <= 0, ceiling: maxCalls}
	if a.auto {
		a.ceiling = ports
	}
	a.floor = min(floorPerCPU*availableCPUs(), a.ceiling)
	a.limit.Store(int64(a.floor))
	return a
}

// fix makes the limit the ceiling for good (Config.FixedLimit: a measurement mode).
func (a *admission) fix() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fixed, a.floor = true, a.ceiling
	a.limit.Store(int64(a.ceiling))
}

// availableCPUs is how many CPUs the process may run on at once.
func availableCPUs() int { return max(1, min(runtime.GOMAXPROCS(0), runtime.NumCPU())) }

// tryAdmit reserves a place for a new call in active: false (and the reason) when active is
// at the limit.
func (a *admission) tryAdmit(active *atomic.Int64) (bool, string) {
	for {
		n := active.Load()
		limit := a.limit.Load()
		if n >= limit {
			a.refused.Add(1)
			if limit >= int64(a.ceiling) {
				return false, RefusedMaxCalls
			}
			return false, RefusedOverload
		}
		if active.CompareAndSwap(n, n+1) {
			return true, ""
		}
	}
}

// full reports whether a new call would be refused now.
func (a *admission) full(active int64) bool { return active >= a.limit.Load() }

// tickInput is what one tick measured (the monitor gathers it; update decides).
type tickInput struct {
	now      time.Time
	calls    int
	jitter   media.JitterSnapshot
	cpu      time.Duration // process CPU time, cumulative
	sockets  int           // call sockets looked at
	behind   int           // of which holding more than behindBytes
	newDrops int64         // datagrams the kernel dropped since the last tick (calls and SIP)
	sipBusy  bool          // the SIP socket holds more than a megabyte unread
}

// update applies one tick: health figures from the differences, then the limit.
func (a *admission) update(in tickInput) Admission {
	a.mu.Lock()
	defer a.mu.Unlock()
	cur := healthSample{at: in.now, packets: in.jitter.Packets, over: in.jitter.Over20, skipped: in.jitter.Skipped, cpu: in.cpu}
	prev := a.last
	a.last = cur
	a.drops.Add(in.newDrops)
	st := Admission{Calls: in.calls, Ceiling: a.ceiling, Floor: a.floor, Auto: a.auto, Fixed: a.fixed, Behind: in.behind,
		SocketDrops: a.drops.Load(), Refused: a.refused.Load()}
	if !prev.at.IsZero() {
		packets := cur.packets - prev.packets
		st.SkippedFrames = cur.skipped - prev.skipped
		if packets > 0 {
			st.LateShare = float64(cur.over-prev.over) / float64(packets)
		}
		if wall := cur.at.Sub(prev.at); wall > 0 {
			st.CPUShare = float64(cur.cpu-prev.cpu) / float64(wall) / float64(availableCPUs())
		}
		late := ""
		switch {
		case st.SkippedFrames > 0:
			late = "skipped-frames"
		case packets >= minLatenessSamples && st.LateShare > lateShareMax:
			late = "send-late"
		}
		switch {
		case in.newDrops > 0:
			st.Degraded = "socket-drops"
		case late != "" && a.wasLate:
			st.Degraded = late // the second late tick in a row
		case in.behind > 1+in.sockets/100:
			st.Degraded = "receive-backlog"
		case in.sipBusy:
			st.Degraded = "sip-backlog"
		case late != "":
			st.Held, st.Late = "late", late
		}
		a.wasLate = late != ""
		// CPU headroom is predictive: with the media healthy it may stop the limit rising,
		// never lower it (a neighbour's load shows up here only as lateness, above).
		if st.Degraded == "" && st.CPUShare > cpuShareMax {
			st.Held = "cpu"
		}
	}
	limit := int(a.limit.Load())
	switch {
	case a.fixed:
	case st.Degraded != "":
		a.congested = true
		a.hold = degradedHoldTicks
		limit = min(limit, in.calls*9/10)
	case a.hold > 0:
		a.hold--
	case st.Held != "":
	case in.calls*4 >= limit*3:
		if a.congested {
			limit += max(1, limit/20)
		} else {
			limit *= 2
		}
	}
	limit = min(max(limit, a.floor), a.ceiling)
	a.limit.Store(int64(limit))
	st.Limit = limit
	a.state = st
	return st
}

func (a *admission) snapshot(calls int) Admission {
	a.mu.Lock()
	st := a.state
	a.mu.Unlock()
	st.Calls, st.Limit, st.Ceiling, st.Floor, st.Auto, st.Fixed = calls, int(a.limit.Load()), a.ceiling, a.floor, a.auto, a.fixed
	st.Refused, st.SocketDrops = a.refused.Load(), a.drops.Load()
	return st
}

// Admission reports the admission controller's limit and the health figures behind it.
func (s *Server) Admission() Admission { return s.adm.snapshot(int(s.active.Load())) }

// monitor measures the media health every admissionTick and moves the call limit, until the
// server closes.
func (s *Server) monitor() {
	t := time.NewTicker(admissionTick)
	defer t.Stop()
	var calls []*Call
	degraded := false
	am, _ := s.metrics.(AdmissionMetrics)
	for {
		in := tickInput{}
		if !upperBound { // only the measurement build of issue 17's upper bound polls no call socket (upperbound_on.go)
			calls = s.snapshotCalls(calls[:0])
		}
		for _, c := range calls {
			st := c.media.PollSocket() // tells OnSocketDrops, which counts into in via s.tickDrops
			in.sockets++
			if st.Queued > behindBytes {
				in.behind++
			}
		}
		clear(calls)
		if s.udpConn != nil {
			if st, err := media.ReadSocketState(s.udpConn); err == nil {
				if n := st.Drops - s.sipDrops; n > 0 {
					s.sipDrops = st.Drops
					s.metrics.SocketDrops("sip", n)
					s.tickDrops.Add(n)
				}
				in.sipBusy = st.Queued > 1<<20
			}
		}
		in.newDrops = s.tickDrops.Swap(0)
		in.now, in.calls, in.jitter, in.cpu = time.Now(), int(s.active.Load()), s.sched.Jitter(), processCPU()
		degraded = s.reportTick(s.adm.update(in), am, degraded)
		select {
		case <-s.closed:
			return
		case <-t.C:
		}
	}
}

// reportTick logs a tick that starts or ends a degradation and counts one that lowered or
// held the limit (am may be nil); it returns whether the media is degraded now.
func (s *Server) reportTick(st Admission, am AdmissionMetrics, wasDegraded bool) bool {
	if am != nil && (st.Degraded != "" || st.Held != "") {
		am.AdmissionTick(st.Degraded, st.Held)
	}
	switch {
	case st.Degraded != "" && !wasDegraded:
		s.log.Warn("media degraded: new calls are held to the call limit", "reason", st.Degraded, "calls", st.Calls,
			"limit", st.Limit, "late_percent", percent(st.LateShare), "skipped_frames", st.SkippedFrames, "behind", st.Behind,
			"cpu_percent", percent(st.CPUShare), "socket_drops", st.SocketDrops)
	case st.Degraded == "" && wasDegraded:
		s.log.Info("media healthy again", "calls", st.Calls, "limit", st.Limit)
	}
	return st.Degraded != ""
}

// snapshotCalls appends the calls in progress to dst.
func (s *Server) snapshotCalls(dst []*Call) []*Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		dst = append(dst, c)
	}
	return dst
}

// onCallSocketDrops counts drops on a call's socket (PollSocket, or the session's Close).
func (s *Server) onCallSocketDrops(n int64) {
	s.metrics.SocketDrops("rtp", n)
	s.tickDrops.Add(n)
}

// processCPU is the CPU time the process has used (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// percent rounds a share to a whole percentage for the log (a long fraction would read as a
// digit run, which the log handler masks).
func percent(share float64) int { return int(math.Round(share * 100)) }
