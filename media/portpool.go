package media

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"
)

// portRest is how long a released port rests before it may be picked again (late packets of
// the previous call do not reach the next one), unless no other port is free.
const portRest = 5 * time.Second

// PortPool hands out RTP sockets on even ports of a range, each picked at random among the
// free ones: a session's port cannot be guessed from the previous session's. A port that
// another process holds is skipped; a released port rests for portRest before reuse. It is
// safe for concurrent use.
type PortPool struct {
	ip netip.Addr // bind address

	mu      sync.Mutex
	free    []int         // ports that may be picked
	resting []restingPort // released ports, oldest first
	total   int
	rcvbuf  int // SO_RCVBUF requested on every socket (0: the kernel's default)
}

type restingPort struct {
	port  int
	since time.Time
}

// NewPortPool prepares the even ports of min..max on the bind address ip. Nothing is bound
// until Get.
func NewPortPool(ip netip.Addr, min, max int) (*PortPool, error) {
	if min <= 0 || max > 65535 || min > max {
		return nil, fmt.Errorf("%w: %d-%d", ErrPortRange, min, max)
	}
	if min%2 == 1 {
		min++
	}
	p := &PortPool{ip: ip}
	for port := min; port <= max; port += 2 {
		p.free = append(p.free, port)
	}
	if len(p.free) == 0 {
		return nil, fmt.Errorf("%w: %d-%d holds no even port", ErrPortRange, min, max)
	}
	p.total = len(p.free)
	return p, nil
}

// Get binds a free port picked at random and returns its socket and number; ErrNoPorts when
// every port is in use. The caller closes the socket (Session.Close does) and then Puts the
// port back.
func (p *PortPool) Get() (*net.UDPConn, int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for tries := p.total; tries > 0; tries-- {
		port, ok := p.pickLocked(now)
		if !ok {
			break
		}
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port))))
		if err == nil {
			if p.rcvbuf > 0 {
				conn.SetReadBuffer(p.rcvbuf) // capped by the kernel; the server reports the cap once
			}
			return conn, port, nil
		}
		// Held by someone else: it rests like a released port and the next one is tried.
		p.resting = append(p.resting, restingPort{port, now})
	}
	return nil, 0, ErrNoPorts
}

// pickLocked takes a random free port; rested ports rejoin the free set first, and when none
// is free the one that has rested longest is taken.
func (p *PortPool) pickLocked(now time.Time) (int, bool) {
	for len(p.resting) > 0 && now.Sub(p.resting[0].since) >= portRest {
		p.free = append(p.free, p.resting[0].port)
		p.resting = p.resting[1:]
	}
	if len(p.free) == 0 {
		if len(p.resting) == 0 {
			return 0, false
		}
		port := p.resting[0].port
		p.resting = p.resting[1:]
		return port, true
	}
	i := rand.IntN(len(p.free))
	port := p.free[i]
	p.free[i] = p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return port, true
}

// SetReceiveBuffer makes every socket Get hands out from now on request a receive buffer of
// n bytes (SO_RCVBUF; 0: the kernel's default).
func (p *PortPool) SetReceiveBuffer(n int) {
	p.mu.Lock()
	p.rcvbuf = n
	p.mu.Unlock()
}

// Put returns a port to the pool (its socket already closed); it rests before reuse.
func (p *PortPool) Put(port int) {
	p.mu.Lock()
	p.resting = append(p.resting, restingPort{port, time.Now()})
	p.mu.Unlock()
}

// Free returns the number of ports not handed out.
func (p *PortPool) Free() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free) + len(p.resting)
}
