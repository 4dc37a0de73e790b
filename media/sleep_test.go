package media

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
)

// The scheduler visits a session only when it is due (scheduler.go): a session with nothing
// to send and nothing arriving sleeps between its keep-alives, its RTP timeout and its DTMF
// deadlines. These tests hold both halves of that: the ticks leave such a session alone, and
// everything a visit does still happens when it should — the keep-alive (with an RTP clock
// that ran while it slept), the RTP timeout, the end of an RFC 4733 key whose events stopped,
// the end of an INFO key. Timing bounds are one-sided where it matters (never early) and
// generous on the late side: the tests run on a busy machine.

// releases records a stream's key-downs and key-ups with the wall time they came out.
type releases struct {
	mu         sync.Mutex
	down, up   []dtmf.Event
	downAt     []time.Time
	upAt       []time.Time
	downC, upC chan struct{}
}

func newReleases() *releases {
	return &releases{downC: make(chan struct{}, 16), upC: make(chan struct{}, 16)}
}

func (r *releases) stream() *dtmf.Stream {
	return dtmf.NewStream(dtmf.StreamConfig{
		OnDigit: func(e dtmf.Event) {
			r.mu.Lock()
			r.down, r.downAt = append(r.down, e), append(r.downAt, time.Now())
			r.mu.Unlock()
			r.downC <- struct{}{}
		},
		OnRelease: func(e dtmf.Event) {
			r.mu.Lock()
			r.up, r.upAt = append(r.up, e), append(r.upAt, time.Now())
			r.mu.Unlock()
			r.upC <- struct{}{}
		}})
}

func waitFor(t *testing.T, c chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s never came", what)
	}
}

// ticksIn is how many scheduler ticks a span holds.
func ticksIn(d time.Duration) int64 { return int64(d / schedInterval) }

func TestIdleSessionSleepsYetKeepsAliveAndTimesOut(t *testing.T) {
	sched := NewScheduler()
	defer sched.Close()
	far := listenLoopback(t)
	defer far.Close()
	const timeout = 1500 * time.Millisecond
	fired := make(chan time.Time, 1)
	s := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched, Timeout: timeout,
		DTMF:      newReleases().stream(),
		OnTimeout: func() { fired <- time.Now() }})
	defer s.Close()
	if err := s.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv,
		Remote: far.LocalAddr().(*net.UDPAddr).AddrPort()}); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	s.Start()

	// what the sleeping session sends: its first packet, then a keep-alive a second
	type sent struct {
		at time.Time
		ts uint32
	}
	var pkts []sent
	buf := make([]byte, 1500)
	far.SetReadDeadline(started.Add(2300 * time.Millisecond))
	for {
		n, err := far.Read(buf)
		if err != nil {
			break
		}
		var h rtp.Header
		if _, err := h.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, sent{time.Now(), h.Timestamp})
	}
	elapsed := time.Since(started)
	visits := sched.Visits()

	var at time.Time
	select {
	case at = <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("no RTP timeout")
	}
	if d := at.Sub(started); d < timeout {
		t.Errorf("timed out after %v, before its %v", d, timeout)
	} else if d > timeout+time.Second {
		t.Errorf("timed out after %v: more than a second late for its %v", d, timeout)
	}

	// one visit per tick would be elapsed/10 ms (230); a sleeping session needs a handful:
	// its first packet, the idle clock's start, two keep-alives, the timeout, DTMF deadlines
	if max := ticksIn(elapsed) / 10; visits > max {
		t.Errorf("%d visits in %v (%d ticks) of a session with nothing to do, want at most %d", visits, elapsed, ticksIn(elapsed), max)
	}
	t.Logf("%d visits in %v (%d ticks), %d packets", visits, elapsed, ticksIn(elapsed), len(pkts))

	if len(pkts) < 2 {
		t.Fatalf("%d packets in %v: want the first one and a keep-alive a second", len(pkts), elapsed)
	}
	for i := 1; i < len(pkts); i++ {
		gap := pkts[i].at.Sub(pkts[i-1].at)
		if gap > keepAlive+700*time.Millisecond {
			t.Errorf("keep-alive %d came %v after the last packet, want about %v", i, gap, keepAlive)
		}
		// the RTP clock ran while the session slept: the timestamp moved by the time passed
		// (within a few frames of the read times' own jitter)
		want := float64(gap) / float64(time.Second) * 8000
		if got := float64(pkts[i].ts - pkts[i-1].ts); got < want-4*160 || got > want+4*160 {
			t.Errorf("keep-alive %d: timestamp moved %v samples in %v (want about %.0f)", i, got, gap, want)
		}
	}
}

// eventSender sends RFC 4733 packets of one key, as a gateway that silence-suppresses its
// audio does: no audio packet at all.
type eventSender struct {
	t    *testing.T
	conn *net.UDPConn
	to   netip.AddrPort
	seq  uint16
}

func (e *eventSender) send(ts uint32, dur uint16, end bool) {
	e.t.Helper()
	payload, err := dtmf.TelephoneEvent{Event: 5, End: end, Volume: 10, Duration: dur}.Marshal()
	if err != nil {
		e.t.Fatal(err)
	}
	raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: e.seq,
		Timestamp: ts, SSRC: 0x4733}, Payload: payload}).Marshal()
	if err != nil {
		e.t.Fatal(err)
	}
	e.seq++
	if _, err := e.conn.WriteToUDPAddrPort(raw, e.to); err != nil {
		e.t.Fatal(err)
	}
}

func TestSleepingSessionEndsRFC4733KeyOnTime(t *testing.T) {
	sched := NewScheduler()
	defer sched.Close()
	far := listenLoopback(t)
	defer far.Close()
	r := newReleases()
	s := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched, DTMF: r.stream()})
	defer s.Close()
	if err := s.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv,
		Remote: far.LocalAddr().(*net.UDPAddr).AddrPort()}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	ev := &eventSender{t: t, conn: far, to: netip.AddrPortFrom(lo, uint16(s.Port())), seq: 100}

	// Twice: a key right after the start, and one after a long idle spell the session slept
	// through (its DTMF clock catches up before the key goes down).
	for round, pause := range []time.Duration{0, 2500 * time.Millisecond} {
		time.Sleep(pause)
		ts := uint32(8000 + round*80000)
		for i := range 3 { // the key's first 60 ms, then the gateway goes silent: no end packet
			ev.send(ts, uint16(160*(i+1)), false)
			time.Sleep(20 * time.Millisecond)
		}
		lastSent := time.Now().Add(-20 * time.Millisecond)
		waitFor(t, r.downC, "the key-down")
		v0 := sched.Visits()
		waitFor(t, r.upC, "the key-up of a key whose events stopped")
		r.mu.Lock()
		up, upAt := r.up[round], r.upAt[round]
		r.mu.Unlock()
		// The idle clock starts idleAfter after the last packet; the key then ends at once
		// (its events stopped longer ago than the receiver's 200 ms).
		if d := upAt.Sub(lastSent); d < idleAfter-20*time.Millisecond {
			t.Errorf("round %d: key ended %v after its last event packet, before the idle clock starts (%v)", round, d, idleAfter)
		} else if d > idleAfter+time.Second {
			t.Errorf("round %d: key ended %v after its last event packet: the sleeping session missed its deadline (%v)", round, d, idleAfter)
		}
		if up.Digit != dtmf.Digit('5') || up.End-up.Start != 60*time.Millisecond {
			t.Errorf("round %d: key-up %v lasted %v, want the 60 ms its events reported", round, up.Digit, up.End-up.Start)
		}
		if n := sched.Visits() - v0; n > 20 {
			t.Errorf("round %d: %d visits while waiting for the key to end", round, n)
		}
	}
	v0, t0 := sched.Visits(), time.Now()
	time.Sleep(time.Second)
	if n, ticks := sched.Visits()-v0, ticksIn(time.Since(t0)); n > ticks/10 {
		t.Errorf("%d visits in %d ticks of a session with nothing to do", n, ticks)
	}
}

func TestSleepingSessionEndsINFOKeyOnTime(t *testing.T) {
	sched := NewScheduler()
	defer sched.Close()
	r := newReleases()
	s := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched, DTMF: r.stream()})
	defer s.Close()
	if err := s.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv,
		Remote: netip.MustParseAddrPort("127.0.0.1:9")}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	time.Sleep(1200 * time.Millisecond) // asleep: no RTP, nothing to send until its keep-alive

	sent := time.Now()
	if err := s.Info("application/dtmf-relay", []byte("Signal=7\r\nDuration=100\r\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, r.downC, "the INFO key")
	waitFor(t, r.upC, "the INFO key's end")
	r.mu.Lock()
	up, upAt := r.up[0], r.upAt[0]
	r.mu.Unlock()
	// Only the late side is bounded in wall time: the key is stamped on the stream's clock,
	// which stands where the scheduler's latest tick left it — on a starved machine that may
	// be a while back, and then the key ends sooner after it came (as when every session was
	// visited every tick); its length on the clock is checked below.
	if d := upAt.Sub(sent); d > 700*time.Millisecond {
		t.Errorf("the 100 ms INFO key ended %v after it came: the sleeping session was not woken for it", d)
	}
	if up.End-up.Start != 100*time.Millisecond {
		t.Errorf("INFO key lasted %v on the stream's clock, want its 100 ms", up.End-up.Start)
	}
}

// TestPlayingSessionVisitedOncePerFrame: a session playing a prompt is visited at the ticks
// its frames are due, not at every tick — with 20 ms frames every other tick had nothing to
// send, with 30 ms two in three — and the stream it sends is unchanged: every frame of the
// prompt, in sequence, timestamps a frame apart (on a busy machine a tick may be late: its
// visit then sends the frames due, as before).
func TestPlayingSessionVisitedOncePerFrame(t *testing.T) {
	for _, ptime := range []int{20, 30} {
		t.Run(fmt.Sprintf("ptime=%d", ptime), func(t *testing.T) {
			sched := NewScheduler()
			defer sched.Close()
			far := listenLoopback(t)
			defer far.Close()
			s := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched})
			defer s.Close()
			if err := s.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: ptime, Direction: SendRecv,
				Remote: far.LocalAddr().(*net.UDPAddr).AddrPort()}); err != nil {
				t.Fatal(err)
			}
			const frames = 60
			samples := ptime * 8
			prompt := benchPrompt(2 * time.Second)[:frames*samples]
			played := make(chan error, 1)
			go func() { played <- s.Play(context.Background(), prompt) }()
			waitPlaying(t, s) // before Start: every packet is a frame of the prompt
			s.Start()
			var hs []rtp.Header
			buf := make([]byte, 1500)
			far.SetReadDeadline(time.Now().Add(20 * time.Second))
			for len(hs) < frames {
				n, err := far.Read(buf)
				if err != nil {
					t.Fatalf("%d packets of %d: %v", len(hs), frames, err)
				}
				var h rtp.Header
				if _, err := h.Unmarshal(buf[:n]); err != nil {
					t.Fatal(err)
				}
				if n-h.MarshalSize() != samples {
					t.Fatalf("packet of %d payload bytes, want %d", n-h.MarshalSize(), samples)
				}
				hs = append(hs, h)
			}
			if err := <-played; err != nil {
				t.Fatal(err)
			}
			visits := sched.Visits()
			skipped := sched.jitter.skipped.Load()
			for i := 1; i < len(hs); i++ {
				if hs[i].SequenceNumber != hs[i-1].SequenceNumber+1 {
					t.Fatalf("packet %d: sequence %d after %d", i, hs[i].SequenceNumber, hs[i-1].SequenceNumber)
				}
				if d := hs[i].Timestamp - hs[i-1].Timestamp; d != uint32(samples) && skipped == 0 {
					t.Fatalf("packet %d: timestamp %d after %d, want a frame (%d) apart", i, hs[i].Timestamp, hs[i-1].Timestamp, samples)
				}
			}
			// a visit per frame, and a few more: the start, Play's wake-up, the end
			if limit := int64(frames) + frames/10 + 5; visits > limit {
				t.Errorf("%d visits for %d frames of %d ms (a visit every %d ms tick would be %d), want at most %d",
					visits, frames, ptime, schedInterval.Milliseconds(), frames*ptime/int(schedInterval.Milliseconds()), limit)
			}
			t.Logf("%d visits for %d frames of %d ms", visits, frames, ptime)
		})
	}
}
