package ivr

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// TCPLimits bound SIP over TCP: how many connections are open, and how long one may sit
// without a complete message. Zero fields take the defaults (DefaultTCPLimits).
//
// A connection is pending until it has delivered one complete SIP message (start line,
// headers, Content-Length bytes of body). Pending connections are what a half-open flood
// makes, so they are the ones limited hardest and evicted first: when a limit is reached the
// oldest pending connection (of the same source, else of anyone) is closed to make room, so
// that a flood cannot lock a real caller out. Sources in Config.AllowList are exempt from the
// per-source limits, not from the total or the timeouts.
type TCPLimits struct {
	MaxConns          int           // open connections in total
	MaxPerSource      int           // open connections per source IP
	MaxPendingPerIP   int           // pending connections per source IP
	FirstMessage      time.Duration // a new connection must complete a message within this
	IncompleteMessage time.Duration // a message must be complete this long after its first byte
	Idle              time.Duration // a connection silent this long is closed, unless a call uses it
	WriteTimeout      time.Duration // a write the peer does not take within this fails
}

// DefaultTCPLimits are the limits a zero TCPLimits means.
var DefaultTCPLimits = TCPLimits{
	MaxConns:          4096,
	MaxPerSource:      64,
	MaxPendingPerIP:   8,
	FirstMessage:      10 * time.Second,
	IncompleteMessage: 10 * time.Second,
	Idle:              2 * time.Minute,
	WriteTimeout:      10 * time.Second,
}

func (l TCPLimits) withDefaults() TCPLimits {
	d := DefaultTCPLimits
	pick := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	pickD := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	return TCPLimits{
		MaxConns:          pick(l.MaxConns, d.MaxConns),
		MaxPerSource:      pick(l.MaxPerSource, d.MaxPerSource),
		MaxPendingPerIP:   pick(l.MaxPendingPerIP, d.MaxPendingPerIP),
		FirstMessage:      pickD(l.FirstMessage, d.FirstMessage),
		IncompleteMessage: pickD(l.IncompleteMessage, d.IncompleteMessage),
		Idle:              pickD(l.Idle, d.Idle),
		WriteTimeout:      pickD(l.WriteTimeout, d.WriteTimeout),
	}
}

// TCPStats counts what the TCP guard did.
type TCPStats struct {
	Open, Pending int   // connections open now, and of them pending
	Refused       int64 // closed at accept: a limit was reached and nothing could be evicted
	Evicted       int64 // pending connections closed to make room for a new one
	TimedOut      int64 // closed for sending no complete message in time (first or later)
	Idle          int64 // closed for silence
}

// errTCPLimit is what a guarded connection's Read returns when the guard closes it.
var errTCPLimit = errors.New("ivr: SIP TCP connection closed by limits")

// tcpGuard wraps the SIP TCP listener: it admits connections within the limits and hands out
// connections that enforce the timeouts on their own reads.
type tcpGuard struct {
	net.Listener
	lim     TCPLimits
	exempt  func(netip.Addr) bool // sources free of the per-source limits
	callsOn func(raddr string) bool

	mu     sync.Mutex
	conns  map[*guardedConn]struct{}
	perIP  map[netip.Addr]int
	pendIP map[netip.Addr]int

	refused, evicted, timedOut, idle atomic.Int64
}

func newTCPGuard(l net.Listener, lim TCPLimits, exempt func(netip.Addr) bool, callsOn func(string) bool) *tcpGuard {
	return &tcpGuard{Listener: l, lim: lim.withDefaults(), exempt: exempt, callsOn: callsOn,
		conns: map[*guardedConn]struct{}{}, perIP: map[netip.Addr]int{}, pendIP: map[netip.Addr]int{}}
}

// Accept returns the next connection the limits admit.
func (g *tcpGuard) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if gc := g.admit(c); gc != nil {
			return gc, nil
		}
		c.Close()
		g.refused.Add(1)
	}
}

func (g *tcpGuard) admit(c net.Conn) *guardedConn {
	ip := netip.Addr{}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ip = a.AddrPort().Addr().Unmap()
	}
	limited := g.exempt == nil || !g.exempt(ip)
	now := time.Now()
	var evict []*guardedConn
	g.mu.Lock()
	if limited && g.pendIP[ip] >= g.lim.MaxPendingPerIP {
		if v := g.oldestPendingLocked(ip, true); v != nil {
			evict = append(evict, v)
		}
	}
	if limited && g.perIP[ip]-len(evict) >= g.lim.MaxPerSource {
		if v := g.oldestPendingLocked(ip, true, evict...); v != nil {
			evict = append(evict, v)
		} else {
			g.mu.Unlock()
			return nil
		}
	}
	if len(g.conns)-len(evict) >= g.lim.MaxConns {
		if v := g.oldestPendingLocked(netip.Addr{}, false, evict...); v != nil {
			evict = append(evict, v)
		} else {
			g.mu.Unlock()
			return nil
		}
	}
	for _, v := range evict {
		g.forgetLocked(v)
	}
	gc := &guardedConn{Conn: c, g: g, ip: ip, raddr: c.RemoteAddr().String(), accepted: now}
	gc.pending.Store(true)
	gc.lastRead.Store(now.UnixNano())
	g.conns[gc] = struct{}{}
	g.perIP[ip]++
	g.pendIP[ip]++
	g.mu.Unlock()
	for _, v := range evict {
		g.evicted.Add(1)
		v.Conn.Close() // its reader sees the error and sipgo drops it
	}
	return gc
}

// oldestPendingLocked is the longest-waiting pending connection (of ip when sameIP), not
// among skip.
func (g *tcpGuard) oldestPendingLocked(ip netip.Addr, sameIP bool, skip ...*guardedConn) *guardedConn {
	var best *guardedConn
next:
	for c := range g.conns {
		if !c.pending.Load() || sameIP && c.ip != ip {
			continue
		}
		for _, s := range skip {
			if s == c {
				continue next
			}
		}
		if best == nil || c.accepted.Before(best.accepted) {
			best = c
		}
	}
	return best
}

// forgetLocked removes c from the books (once).
func (g *tcpGuard) forgetLocked(c *guardedConn) {
	if _, ok := g.conns[c]; !ok {
		return
	}
	delete(g.conns, c)
	if g.perIP[c.ip]--; g.perIP[c.ip] <= 0 {
		delete(g.perIP, c.ip)
	}
	if c.pending.Load() {
		if g.pendIP[c.ip]--; g.pendIP[c.ip] <= 0 {
			delete(g.pendIP, c.ip)
		}
	}
}

// proven moves c out of the pending books (its first message is complete).
func (g *tcpGuard) proven(c *guardedConn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.conns[c]; !ok || !c.pending.Swap(false) {
		return
	}
	if g.pendIP[c.ip]--; g.pendIP[c.ip] <= 0 {
		delete(g.pendIP, c.ip)
	}
}

func (g *tcpGuard) stats() TCPStats {
	g.mu.Lock()
	st := TCPStats{Open: len(g.conns)}
	for c := range g.conns {
		if c.pending.Load() {
			st.Pending++
		}
	}
	g.mu.Unlock()
	st.Refused, st.Evicted, st.TimedOut, st.Idle = g.refused.Load(), g.evicted.Load(), g.timedOut.Load(), g.idle.Load()
	return st
}

// guardedConn is one admitted connection. Its reads carry the deadline of its state: the
// first message, the message in progress, or idleness.
type guardedConn struct {
	net.Conn
	g        *tcpGuard
	ip       netip.Addr
	raddr    string
	accepted time.Time

	pending  atomic.Bool  // no complete message yet
	lastRead atomic.Int64 // unix nanos of the last byte

	// reader state: only Read touches it (sipgo reads a connection from one goroutine).
	frame    sipFramer
	msgStart time.Time

	closeOnce sync.Once
}

func (c *guardedConn) Read(b []byte) (int, error) {
	for {
		deadline, why := c.deadline()
		c.Conn.SetReadDeadline(deadline)
		n, err := c.Conn.Read(b)
		if n > 0 {
			now := time.Now()
			c.lastRead.Store(now.UnixNano())
			c.observe(b[:n], now)
			if c.frame.broken {
				c.g.timedOut.Add(1) // a header that never ends is an incomplete message
				return n, errTCPLimit
			}
			return n, err
		}
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		if why == "idle" && c.g.callsOn != nil && c.g.callsOn(c.raddr) {
			c.lastRead.Store(time.Now().UnixNano()) // a call uses it: keep it
			continue
		}
		if why == "idle" {
			c.g.idle.Add(1)
		} else {
			c.g.timedOut.Add(1)
		}
		return 0, errTCPLimit
	}
}

// deadline is when the current read must have produced something, and which limit it is.
func (c *guardedConn) deadline() (time.Time, string) {
	lim := c.g.lim
	if c.pending.Load() {
		return c.accepted.Add(lim.FirstMessage), "first-message"
	}
	if !c.msgStart.IsZero() {
		return c.msgStart.Add(lim.IncompleteMessage), "incomplete"
	}
	return time.Unix(0, c.lastRead.Load()).Add(lim.Idle), "idle"
}

// observe runs the framer over bytes read and records message boundaries.
func (c *guardedConn) observe(b []byte, now time.Time) {
	for len(b) > 0 {
		started, done, rest := c.frame.feed(b)
		if started {
			c.msgStart = now
		}
		if done {
			c.msgStart = time.Time{}
			if c.pending.Load() {
				c.g.proven(c)
			}
		}
		if c.frame.broken {
			return
		}
		b = rest
	}
}

func (c *guardedConn) Write(b []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.g.lim.WriteTimeout))
	return c.Conn.Write(b)
}

func (c *guardedConn) Close() error {
	c.closeOnce.Do(func() {
		c.g.mu.Lock()
		c.g.forgetLocked(c)
		c.g.mu.Unlock()
	})
	return c.Conn.Close()
}

// maxSIPHeader bounds the header section of a message on a stream (sipgo's own limit on a
// whole message is 64 KiB).
const maxSIPHeader = 64 << 10

// sipFramer finds SIP message boundaries in a byte stream (RFC 3261 section 7.5: CRLFs before
// a start line are ignored, a header section ends with an empty line, Content-Length bytes of
// body follow). It only times messages; sipgo parses them.
type sipFramer struct {
	inHeader bool
	header   []byte
	body     int // body bytes still to come
	broken   bool
}

// feed consumes bytes up to the end of the current message. started reports that a message
// began in them, done that one ended; rest is what follows the end.
func (f *sipFramer) feed(b []byte) (started, done bool, rest []byte) {
	if f.body > 0 {
		n := min(f.body, len(b))
		f.body -= n
		return false, f.body == 0, b[n:]
	}
	if !f.inHeader {
		i := 0
		for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
			i++ // keep-alives and CRLFs between messages
		}
		if i == len(b) {
			return false, false, nil
		}
		b = b[i:]
		f.inHeader, f.header, started = true, f.header[:0], true
	}
	from := max(len(f.header)-3, 0)
	f.header = append(f.header, b...)
	end := bytes.Index(f.header[from:], []byte("\r\n\r\n"))
	if end < 0 {
		if len(f.header) > maxSIPHeader {
			f.broken = true
		}
		return started, false, nil
	}
	end += from + 4
	consumed := len(b) - (len(f.header) - end)
	f.body, _ = contentLength(f.header[:end]) // absent or unreadable: sipgo fails the message and closes
	f.inHeader = false
	f.header = f.header[:0]
	if cap(f.header) > 4096 {
		f.header = nil // do not keep a large buffer for an idle connection
	}
	rest = b[consumed:]
	if f.body == 0 {
		return started, true, rest
	}
	n := min(f.body, len(rest))
	f.body -= n
	return started, f.body == 0, rest[n:]
}

// contentLength reads Content-Length (or its compact form l) from a header section (the
// start line may be included). ok is false when it is absent or not a number.
func contentLength(head []byte) (n int, ok bool) {
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		name, value, found := bytes.Cut(line, []byte(":"))
		if !found {
			continue
		}
		name = bytes.TrimSpace(name)
		if !bytes.EqualFold(name, []byte("Content-Length")) && !bytes.EqualFold(name, []byte("l")) {
			continue
		}
		n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
		if err != nil || n < 0 {
			return 0, false
		}
		return n, true
	}
	return 0, false
}
