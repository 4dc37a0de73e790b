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

// inlineSessions is how many sessions the ticker goroutine serves itself before splitting a
// tick across workers. Between prompts a session costs well under a microsecond (no packet),
// and one goroutine needs one CPU slot per tick where a split needs every worker's thread to
// be scheduled: on a busy machine that wait is what made ticks late.
const inlineSessions = 2048

// Scheduler paces the outgoing RTP of every session that uses it from one ticker: no ticker
// or sleep per session. On each tick it walks the started sessions (split across a few
// workers when there are many) and lets each send the frames that are due. It also measures
// how late each send was relative to its due time: the send jitter of the load report. One
// Scheduler serves a whole endpoint (every leg of every call); its goroutines start with the
// first session and stop at Close.
type Scheduler struct {
	mu       sync.Mutex
	sessions []*Session
	snap     []*Session

	workers int
	work    []chan []*Session
	wg      sync.WaitGroup

	stop     chan struct{}
	stopOnce sync.Once
	started  sync.Once

	jitter jitterStats
}

// NewScheduler returns a scheduler; it starts ticking when the first session starts.
func NewScheduler() *Scheduler {
	w := runtime.GOMAXPROCS(0)
	if w > 8 {
		w = 8
	}
	return &Scheduler{workers: w, stop: make(chan struct{})}
}

// Jitter summarises how late the packets of every session left relative to their schedule.
func (s *Scheduler) Jitter() JitterSnapshot { return s.jitter.snapshot() }

// Close stops the ticker and its workers. Sessions still registered send nothing more.
func (s *Scheduler) Close() { s.stopOnce.Do(func() { close(s.stop) }) }

func (s *Scheduler) add(m *Session) {
	s.started.Do(func() { go s.run() })
	s.mu.Lock()
	m.schedIdx = len(s.sessions)
	s.sessions = append(s.sessions, m)
	s.mu.Unlock()
}

func (s *Scheduler) remove(m *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := m.schedIdx
	if i < 0 || i >= len(s.sessions) || s.sessions[i] != m {
		return
	}
	last := len(s.sessions) - 1
	s.sessions[i] = s.sessions[last]
	s.sessions[i].schedIdx = i
	s.sessions[last] = nil
	s.sessions = s.sessions[:last]
	m.schedIdx = -1
}

func (s *Scheduler) run() {
	for i := 0; i < s.workers; i++ {
		ch := make(chan []*Session, 1)
		s.work = append(s.work, ch)
		go func() {
			for batch := range ch {
				now := time.Now()
				for _, m := range batch {
					m.tick(now)
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
		s.mu.Lock()
		s.snap = append(s.snap[:0], s.sessions...)
		s.mu.Unlock()
		n := len(s.snap)
		if n == 0 {
			continue
		}
		if n < inlineSessions {
			now := time.Now()
			for _, m := range s.snap {
				m.tick(now)
			}
			flushSends() // the tick's packets, one system call for all (uringtx_linux.go)
			continue
		}
		per := (n + s.workers - 1) / s.workers
		for i := 0; i < s.workers && i*per < n; i++ {
			end := min((i+1)*per, n)
			s.wg.Add(1)
			s.work[i] <- s.snap[i*per : end]
		}
		s.wg.Wait()
		flushSends()
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
