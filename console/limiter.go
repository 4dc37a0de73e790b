package console

import (
	"sync"
	"time"
)

// failLimiter slows token guessing: a client address with more than maxFails failed
// authentications within window is refused (429) until the window has passed. Admin tokens are
// long random strings, so this mostly keeps noise out of the logs; it also caps what an
// operator-chosen short token can leak to guessing.
type failLimiter struct {
	mu       sync.Mutex
	window   time.Duration
	maxFails int
	now      func() time.Time
	fails    map[string]*failCount
}

type failCount struct {
	n     int
	start time.Time
}

// maxTracked bounds the table; when full, expired entries are swept and, failing that, the
// table is reset (a flood of addresses must not grow memory).
const maxTracked = 10000

func newFailLimiter(maxFails int, window time.Duration) *failLimiter {
	return &failLimiter{window: window, maxFails: maxFails, now: time.Now, fails: map[string]*failCount{}}
}

// blocked reports whether ip is over its failure budget, and for how long more.
func (l *failLimiter) blocked(ip string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.fails[ip]
	if c == nil {
		return false, 0
	}
	left := c.start.Add(l.window).Sub(l.now())
	if left <= 0 {
		delete(l.fails, ip)
		return false, 0
	}
	return c.n >= l.maxFails, left
}

// fail counts one failed authentication from ip.
func (l *failLimiter) fail(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	c := l.fails[ip]
	if c == nil || t.Sub(c.start) >= l.window {
		if len(l.fails) >= maxTracked {
			for k, v := range l.fails {
				if t.Sub(v.start) >= l.window {
					delete(l.fails, k)
				}
			}
			if len(l.fails) >= maxTracked {
				l.fails = map[string]*failCount{}
			}
		}
		c = &failCount{start: t}
		l.fails[ip] = c
	}
	c.n++
}
