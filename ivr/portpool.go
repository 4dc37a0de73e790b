package ivr

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// portPool hands out RTP sockets on even ports of a range. A port that another process holds
// is skipped; a released port goes to the back of the queue so it rests before reuse (late
// packets of the previous call do not reach the next one).
type portPool struct {
	ip   netip.Addr // bind address
	mu   sync.Mutex
	free []int // ring of free even ports
	head int
	n    int
}

func newPortPool(ip netip.Addr, min, max int) (*portPool, error) {
	if min <= 0 || max > 65535 || min > max {
		return nil, fmt.Errorf("ivr: bad RTP port range %d-%d", min, max)
	}
	if min%2 == 1 {
		min++
	}
	p := &portPool{ip: ip}
	for port := min; port+1 <= max || port == max; port += 2 {
		p.free = append(p.free, port)
	}
	if len(p.free) == 0 {
		return nil, fmt.Errorf("ivr: RTP port range %d-%d holds no even port", min, max)
	}
	p.n = len(p.free)
	return p, nil
}

// Get binds the next free port.
func (p *portPool) Get() (*net.UDPConn, int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for tries := p.n; tries > 0; tries-- {
		if p.n == 0 {
			break
		}
		port := p.free[p.head]
		p.head = (p.head + 1) % len(p.free)
		p.n--
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port))))
		if err == nil {
			return conn, port, nil
		}
		// Held by someone else: put it back at the tail and try the next one.
		p.putLocked(port)
	}
	return nil, 0, ErrNoPorts
}

// Put returns a port to the pool (its socket already closed).
func (p *portPool) Put(port int) {
	p.mu.Lock()
	p.putLocked(port)
	p.mu.Unlock()
}

func (p *portPool) putLocked(port int) {
	tail := (p.head + p.n) % len(p.free)
	p.free[tail] = port
	p.n++
}

// Free returns the number of ports not handed out.
func (p *portPool) Free() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}
