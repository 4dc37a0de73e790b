package media

import (
	"net"
	"sync"
)

// Receive buffer sizes requested for the UDP sockets (SO_RCVBUF). The kernel keeps a socket's
// datagrams until its reader takes them, up to this many bytes counted with their overhead
// (a 172-byte RTP packet costs about 1 KiB of it on loopback, 2 KiB on some NICs); beyond, it
// drops them and counts the drop on the socket. An RTP reader that stalls for a second under
// load holds 50 packets: 256 KiB rides out a two-second stall on any driver. The kernel caps
// what it grants at net.core.rmem_max (ReceiveBufferGrant reports it).
const (
	DefaultRTPReceiveBuffer = 256 << 10
	DefaultSIPReceiveBuffer = 4 << 20
)

// SocketState is what the kernel reports about one UDP socket's receive side.
type SocketState struct {
	// Queued is the number of bytes waiting in the socket's receive queue (with their kernel
	// overhead): what the reader has not taken yet — its backlog.
	Queued int
	// Drops is the number of datagrams the kernel dropped on the socket since it was opened
	// because the receive queue was full (the same counter as /proc/net/udp's drops column).
	Drops int64
}

// ReadSocketState asks the kernel for the receive state of conn (SO_MEMINFO on Linux).
// ErrUnsupported where the platform cannot tell.
func ReadSocketState(conn *net.UDPConn) (SocketState, error) { return socketState(conn) }

// SetReceiveBuffer requests a receive buffer of want bytes on conn and returns what the
// kernel granted (the usable size, not the doubled bookkeeping figure Linux reports).
func SetReceiveBuffer(conn *net.UDPConn, want int) (granted int, err error) {
	if err := conn.SetReadBuffer(want); err != nil {
		return 0, err
	}
	return receiveBuffer(conn)
}

// socketDrops tracks a session's kernel drop counter, so the increases are told once.
type socketDrops struct {
	mu   sync.Mutex
	seen int64
}

// update takes a fresh reading of the counter and returns how many drops are new.
func (d *socketDrops) update(now int64) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if now <= d.seen {
		return 0
	}
	n := now - d.seen
	d.seen = now
	return n
}

func (d *socketDrops) total() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seen
}
