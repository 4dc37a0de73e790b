package gateway

import (
	"sync"
	"time"
)

// rateLimiter allows Limit events per Window for each key (a client address, a link), with a
// sliding count over two fixed windows. It forgets idle keys.
type rateLimiter struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	keys  map[string]*rateWindow
	sweep time.Time
}

type rateWindow struct {
	start      time.Time
	prev, curr int
}

func newRateLimiter(limit int, window time.Duration, now func() time.Time) *rateLimiter {
	return &rateLimiter{limit: limit, window: window, now: now, keys: map[string]*rateWindow{}}
}

// allow counts one event for key and reports whether it is within the limit; when not, it
// also returns how long until the next event would be allowed (roughly).
func (r *rateLimiter) allow(key string) (bool, time.Duration) {
	if r.limit <= 0 {
		return true, 0
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.sweep) > r.window*4 {
		for k, w := range r.keys {
			if now.Sub(w.start) > 2*r.window {
				delete(r.keys, k)
			}
		}
		r.sweep = now
	}
	w := r.keys[key]
	if w == nil {
		w = &rateWindow{start: now.Truncate(r.window)}
		r.keys[key] = w
	}
	if d := now.Sub(w.start); d >= 2*r.window {
		w.start, w.prev, w.curr = now.Truncate(r.window), 0, 0
	} else if d >= r.window {
		w.start, w.prev, w.curr = w.start.Add(r.window), w.curr, 0
	}
	elapsed := float64(now.Sub(w.start)) / float64(r.window)
	est := float64(w.prev)*(1-elapsed) + float64(w.curr)
	if est+1 > float64(r.limit) {
		return false, w.start.Add(r.window).Sub(now)
	}
	w.curr++
	return true, 0
}
