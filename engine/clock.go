package engine

import (
	"container/heap"
	"sync"
	"time"
)

// WallClock is the real clock, for live calls.
type WallClock struct{}

// Now returns time.Now().
func (WallClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (WallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// VirtualClock is a clock that only moves when told to: Advance moves it by a duration,
// Step jumps to the next pending timer. Replay runs a plan on one, so a call that lasts a
// minute replays in milliseconds, and every run of the same input gives the same timeline.
//
// Timers (After) and callbacks (AfterFunc) that fall due are fired in deadline order, ties in
// the order they were created; the clock reads the deadline while each fires. A
// VirtualClock is safe for concurrent use; callbacks run on the goroutine that advances the
// clock, without the clock's lock held, so they may schedule more work.
type VirtualClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers timerHeap
}

// NewVirtualClock returns a virtual clock reading start.
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{now: start}
}

// Now returns the clock's current time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the clock's time once d has passed on it. The
// channel is buffered, so a timer nobody reads any more never blocks the clock.
func (c *VirtualClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.schedule(d, ch, nil)
	return ch
}

// AfterFunc calls f on the advancing goroutine once d has passed on the clock.
func (c *VirtualClock) AfterFunc(d time.Duration, f func()) {
	c.schedule(d, nil, f)
}

func (c *VirtualClock) schedule(d time.Duration, ch chan time.Time, f func()) {
	c.mu.Lock()
	if d < 0 {
		d = 0
	}
	c.seq++
	heap.Push(&c.timers, &vtimer{at: c.now.Add(d), seq: c.seq, ch: ch, f: f})
	c.mu.Unlock()
	if d == 0 {
		c.Advance(0) // due now: fire at once, as time.After(0) does
	}
}

// Pending returns how many timers and callbacks have not fired yet.
func (c *VirtualClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Next returns the deadline of the earliest pending timer.
func (c *VirtualClock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].at, true
}

// Advance moves the clock forward by d, firing every timer that falls due on the way.
func (c *VirtualClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	c.advanceTo(target)
}

// Step moves the clock to the earliest pending deadline and fires everything due then. It
// reports false, without moving, when nothing is pending: "run until the next timer".
func (c *VirtualClock) Step() bool {
	next, ok := c.Next()
	if !ok {
		return false
	}
	c.advanceTo(next)
	return true
}

func (c *VirtualClock) advanceTo(target time.Time) {
	for {
		c.mu.Lock()
		if len(c.timers) == 0 || c.timers[0].at.After(target) {
			if target.After(c.now) {
				c.now = target
			}
			c.mu.Unlock()
			return
		}
		t := heap.Pop(&c.timers).(*vtimer)
		if t.at.After(c.now) {
			c.now = t.at
		}
		now := c.now
		c.mu.Unlock()
		if t.ch != nil {
			t.ch <- now // buffered, never blocks
		}
		if t.f != nil {
			t.f()
		}
	}
}

type vtimer struct {
	at  time.Time
	seq uint64
	ch  chan time.Time
	f   func()
}

type timerHeap []*vtimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(*vtimer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}

// stepper is what the engine needs of a virtual clock: a way to make time pass when the call
// is waiting and nothing else can happen.
type stepper interface {
	Step() bool
}

var (
	_ Clock   = WallClock{}
	_ Clock   = (*VirtualClock)(nil)
	_ stepper = (*VirtualClock)(nil)
)
