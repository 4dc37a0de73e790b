package media

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// schedInterval is the scheduler's tick. Sessions send when their next frame is due, so 20 ms
// and 30 ms packetization both work from one 10 ms tick.
const schedInterval = 10 * time.Millisecond

// inlineSessions is how many due sessions the ticker goroutine serves itself before splitting
// a tick across workers. One goroutine needs one CPU slot per tick where a split needs every
// worker's thread to be scheduled: on a busy machine that wait is what made ticks late.
const inlineSessions = 2048

// wheelSlots is the size of the scheduler's timer wheel: one slot per tick, so a session can
// sleep at most wheelSlots-1 ticks (2.55 s) before it is looked at again, whatever it asked.
const wheelSlots = 256

// maxPark is the longest a session sleeps between visits (the wheel's reach).
const maxPark = (wheelSlots - 1) * schedInterval

// Scheduler paces the outgoing RTP of every session that uses it from one ticker: no ticker
// or sleep per session. A tick visits only the sessions that are due (split across a few
// workers when there are many): each visit sends the frames that are due and tells the
// scheduler when the session next needs a visit — the tick its next frame is due at while
// it plays a prompt, sends keys or relays a bridge (every other tick with 20 ms frames, every
// third with 30 ms); otherwise the earliest of its next keep-alive, its RTP
// timeout, the moment its DTMF clock must start running without RTP (idleAfter) and the DTMF
// stream's own next deadline (an RFC 4733 key's expiry, an INFO key's end, a keypress to
// forget). The sessions wait in a timer wheel of wheelSlots one-tick slots, so a tick costs
// O(sessions due), not O(sessions): a call that listens with its silence suppressed is
// visited about twice a second instead of 100 times. Anything that gives a sleeping session
// work (Play, SendDigit, SetParams, a bridge, an INFO key, RTP after an idle spell) wakes it
// for the next tick (wake).
//
// It also measures how late each send was relative to its due time: the send jitter of the
// load report. One Scheduler serves a whole endpoint (every leg of every call); its
// goroutines start with the first session and stop at Close.
type Scheduler struct {
	mu sync.Mutex
	// wheel[t%wheelSlots] lists the sessions due at tick t (and stale entries: a session is
	// due at tick t only while its schedDue is t).
	wheel [wheelSlots][]*Session
	epoch time.Time // tick t is due at epoch + t·schedInterval
	done  int64     // the last tick whose slot was taken
	batch []*Session
	count int // sessions registered

	lastTick atomic.Int64 // the time of the latest tick (UnixNano): the DTMF clock's catch-up

	workers int
	work    []chan []*Session
	wg      sync.WaitGroup

	stop     chan struct{}
	stopOnce sync.Once
	started  sync.Once

	jitter jitterStats
	visits atomic.Int64 // session visits: what the ticks cost (tests, benchmarks)
}

// Scheduling states of a session besides a tick number (Session.schedDue, under Scheduler.mu).
const (
	schedOff     = -1 // not registered (never started, or removed)
	schedRunning = -2 // being visited by the current tick
)

// NewScheduler returns a scheduler; it starts ticking when the first session starts.
func NewScheduler() *Scheduler {
	w := runtime.GOMAXPROCS(0)
	if w > 8 {
		w = 8
	}
	return &Scheduler{workers: w, stop: make(chan struct{}), epoch: time.Now()}
}

// Jitter summarises how late the packets of every session left relative to their schedule.
func (s *Scheduler) Jitter() JitterSnapshot { return s.jitter.snapshot() }

// Visits is how many session visits the ticks have made so far.
func (s *Scheduler) Visits() int64 { return s.visits.Load() }

// Close stops the ticker and its workers. Sessions still registered send nothing more.
func (s *Scheduler) Close() { s.stopOnce.Do(func() { close(s.stop) }) }

// tickAt is the first tick at or after t.
func (s *Scheduler) tickAt(t time.Time) int64 {
	d := t.Sub(s.epoch)
	if d <= 0 {
		return 0
	}
	return int64((d + schedInterval - 1) / schedInterval)
}

// push puts m in the slot of tick t, which must be after s.done and within the wheel's
// reach (s.mu held).
func (s *Scheduler) push(m *Session, t int64) {
	t = min(max(t, s.done+1), s.done+wheelSlots-1)
	m.schedDue = t
	i := t % wheelSlots
	s.wheel[i] = append(s.wheel[i], m)
}

func (s *Scheduler) add(m *Session) {
	s.started.Do(func() { go s.run() })
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.schedDue != schedOff {
		return
	}
	s.count++
	s.push(m, s.done+1)
}

func (s *Scheduler) remove(m *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.schedDue != schedOff {
		s.count--
	}
	m.schedDue = schedOff // its entries in the wheel are stale from now on
	m.schedWake = false
}

// wake makes m due at the next tick (something gave it work while it slept). A session being
// visited is visited again at the next tick. Cheap when m is already due then.
func (s *Scheduler) wake(m *Session) {
	if s == nil {
		return
	}
	s.mu.Lock()
	switch {
	case m.schedDue == schedOff:
	case m.schedDue == schedRunning:
		m.schedWake = true
	case m.schedDue > s.done+1:
		s.push(m, s.done+1) // the entry at its old tick is stale now
	}
	s.mu.Unlock()
}

// wakeBy makes m due no later than t.
func (s *Scheduler) wakeBy(m *Session, t time.Time) {
	if s == nil {
		return
	}
	s.mu.Lock()
	if m.schedDue >= 0 {
		if at := s.tickAt(t); at < m.schedDue {
			s.push(m, at)
		}
	}
	s.mu.Unlock()
}

// take collects the sessions due at every tick up to now's, marking them running (s.mu held).
func (s *Scheduler) take(upto int64) []*Session {
	batch := s.batch[:0]
	from := max(s.done+1, upto-wheelSlots+1) // a stall longer than the wheel: every slot once
	for t := from; t <= upto; t++ {
		i := t % wheelSlots
		for _, m := range s.wheel[i] {
			if m.schedDue >= 0 && m.schedDue <= upto {
				m.schedDue = schedRunning
				batch = append(batch, m)
			}
		}
		clear(s.wheel[i])
		s.wheel[i] = s.wheel[i][:0]
	}
	s.done = upto
	s.batch = batch
	return batch
}

// requeue puts the visited sessions back, each at the tick it asked for (s.mu held).
func (s *Scheduler) requeue(batch []*Session) {
	for _, m := range batch {
		if m.schedDue != schedRunning {
			continue // removed while it was visited
		}
		t := s.done + 1
		if !m.schedWake && !m.schedNext.IsZero() {
			t = s.tickAt(m.schedNext)
		}
		m.schedWake = false
		s.push(m, t)
	}
}

func (s *Scheduler) run() {
	for i := 0; i < s.workers; i++ {
		ch := make(chan []*Session, 1)
		s.work = append(s.work, ch)
		go func() {
			for batch := range ch {
				now := time.Now()
				for _, m := range batch {
					m.schedNext = m.tick(now)
				}
				s.wg.Done()
			}
		}()
	}
	t := time.NewTicker(schedInterval)
	defer t.Stop()
	defer func() {
		for _, ch := range s.work {
			close(ch)
		}
	}()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		now := time.Now()
		s.lastTick.Store(now.UnixNano())
		s.mu.Lock()
		batch := s.take(int64(now.Sub(s.epoch) / schedInterval))
		s.mu.Unlock()
		n := len(batch)
		if n == 0 {
			continue
		}
		s.visits.Add(int64(n))
		if n < inlineSessions {
			for _, m := range batch {
				m.schedNext = m.tick(now)
			}
		} else {
			per := (n + s.workers - 1) / s.workers
			for i := 0; i < s.workers && i*per < n; i++ {
				end := min((i+1)*per, n)
				s.wg.Add(1)
				s.work[i] <- batch[i*per : end]
			}
			s.wg.Wait()
		}
		flushSends() // the tick's packets, one system call for all (uringtx_linux.go)
		s.mu.Lock()
		s.requeue(batch)
		s.mu.Unlock()
	}
}

// jitterStats is a lock-free histogram of send lateness.
type jitterStats struct {
	buckets [len(jitterBounds) + 1]atomic.Int64
	max     atomic.Int64
	sum     atomic.Int64
	count   atomic.Int64
	skipped atomic.Int64 // frames never sent because the scheduler fell > 5 frames behind
	frames  atomic.Int64 // frames the scheduler produced (sent, or suppressed silence)
}

// jitterBounds are the upper bounds of the lateness buckets.
var jitterBounds = [...]time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
	20 * time.Millisecond, 50 * time.Millisecond,
}

func (j *jitterStats) observe(late time.Duration) {
	i := 0
	for i < len(jitterBounds) && late > jitterBounds[i] {
		i++
	}
	j.buckets[i].Add(1)
	j.sum.Add(int64(late))
	j.count.Add(1)
	for {
		m := j.max.Load()
		if int64(late) <= m || j.max.CompareAndSwap(m, int64(late)) {
			break
		}
	}
}

// JitterSnapshot summarises send lateness: how long after its due time each RTP packet left.
type JitterSnapshot struct {
	Packets int64         `json:"packets"`
	Mean    time.Duration `json:"mean_ns"`
	Max     time.Duration `json:"max_ns"`
	P99     time.Duration `json:"p99_upper_bound_ns"` // upper bound of the bucket holding the 99th percentile
	Over20  int64         `json:"late_over_20ms"`     // packets a full frame late or worse
	Skipped int64         `json:"skipped_frames"`     // frames dropped to resynchronise after a stall
	Frames  int64         `json:"frames"`             // frames produced on time (sent or suppressed silence)
}

func (j *jitterStats) snapshot() JitterSnapshot {
	s := JitterSnapshot{Packets: j.count.Load(), Max: time.Duration(j.max.Load()), Skipped: j.skipped.Load(), Frames: j.frames.Load()}
	if s.Packets == 0 {
		return s
	}
	s.Mean = time.Duration(j.sum.Load() / s.Packets)
	var acc int64
	target := (s.Packets*99 + 99) / 100
	s.P99 = -1
	for i := range j.buckets {
		c := j.buckets[i].Load()
		acc += c
		if i >= 5 {
			s.Over20 += c
		}
		if s.P99 < 0 && acc >= target {
			if i < len(jitterBounds) {
				s.P99 = jitterBounds[i]
			} else {
				s.P99 = s.Max
			}
		}
	}
	return s
}
