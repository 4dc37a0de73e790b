//go:build linux && (amd64 || arm64)

package media

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/pion/rtp"
	"golang.org/x/sys/unix"
)

// rawSock is a started session's UDP socket on Linux: the descriptor taken out of Go's
// netpoller (a duplicate of the net.UDPConn's, which is then closed), so that an arriving
// packet wakes no goroutine of its own. The shared receiver (rxpoll_linux.go) reads it when
// epoll reports datagrams; the scheduler sends on it with sendto. The lock keeps the
// descriptor from being closed — and its number reused by another call's socket — while a
// send or a getsockopt uses it. The shared receiver's reads need no lock: the socket is
// closed only after the session stopped receiving (pollRead).
type rawSock struct {
	mu     sync.Mutex
	fd     int
	inet6  bool // an AF_INET6 socket: IPv4 peers are written as v4-mapped addresses
	closed bool

	rx    *uringReg // its receive in the io_uring receiver (nil: epoll)
	txGen uint64    // the io_uring sender's batch its last packet was queued in (under mu)
}

// takeSocket takes conn's socket out of Go's runtime poller: the returned rawSock owns a
// duplicate of its descriptor (non-blocking, like the original: the flag belongs to the
// socket, not the descriptor) and conn is closed. On error conn is untouched.
func takeSocket(conn *net.UDPConn) (*rawSock, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd, inet6 := -1, false
	var derr error
	err = rc.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
		if derr != nil {
			return
		}
		var sa unix.Sockaddr
		if sa, derr = unix.Getsockname(nfd); derr == nil {
			_, inet6 = sa.(*unix.SockaddrInet6)
		}
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		if nfd >= 0 {
			unix.Close(nfd)
		}
		return nil, err
	}
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return nil, err
	}
	conn.Close() // the runtime poller forgets its descriptor; the duplicate keeps the socket
	return &rawSock{fd: nfd, inet6: inet6}, nil
}

var errSockClosed = errors.New("media: socket closed")

// sendTo sends one datagram to dst without waiting: a full send buffer drops the packet
// (EAGAIN), as the network would, instead of holding up the scheduler.
func (s *rawSock) sendTo(pkt []byte, dst netip.AddrPort) error {
	if len(pkt) == 0 {
		return nil
	}
	var sa unix.RawSockaddrInet6 // large enough for either family
	var size uintptr
	a := dst.Addr()
	switch {
	case s.inet6:
		sa.Family = unix.AF_INET6
		sa.Addr = a.As16() // an IPv4 address becomes v4-mapped
		size = unix.SizeofSockaddrInet6
	case a.Is4() || a.Is4In6():
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa))
		sa4.Family = unix.AF_INET
		sa4.Addr = a.Unmap().As4()
		size = unix.SizeofSockaddrInet4
	default:
		return unix.EAFNOSUPPORT
	}
	port := dst.Port()
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(port>>8), byte(port)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errSockClosed
	}
	if t := uringTxShared(); t != nil && t.queue(s, pkt, &sa, size) {
		return nil // sent by the scheduler's flushSends at the end of the tick
	}
	for {
		_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(unsafe.Pointer(&pkt[0])), uintptr(len(pkt)),
			unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&sa)), size)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

// state reads the socket's receive queue and drop counter (SO_MEMINFO).
func (s *rawSock) state() (SocketState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return SocketState{}, errSockClosed
	}
	return fdState(uintptr(s.fd))
}

// uringStopWait bounds how long a socket's close waits for the io_uring receiver to take
// its receive out of the ring (a round or two normally). Past it the descriptor is closed
// anyway; the kernel keeps the socket until the receive ends, and nothing it receives reaches
// the session.
const uringStopWait = 5 * time.Second

// close closes the descriptor once; sends and reads after it fail. With io_uring it first
// waits until the ring holds no receive of the socket, and sends the packets queued on it.
func (s *rawSock) close() {
	if reg := s.rx; reg != nil {
		reg.u.stop(reg)
		t := time.NewTimer(uringStopWait)
		select {
		case <-reg.done:
		case <-t.C:
		}
		t.Stop()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	if t := sharedUTx.t.Load(); t != nil {
		t.flushFor(s) // no queued sendmsg may name the descriptor once its number is reused
	}
	unix.Close(s.fd)
}

// mmsghdr is struct mmsghdr of recvmmsg(2) on 64-bit Linux.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
	_   [4]byte
}

// rxBatchLen is how many datagrams one recvmmsg takes from a socket; rxBufLen the room for
// each (an RTP packet with SRTP's tag is a few hundred bytes; 2 KiB as the readers always had).
const (
	rxBatchLen = 8
	rxBufLen   = 2048
)

// rxBatch is the shared receiver's scratch: one set of buffers for every socket it reads, so
// a session holds no receive buffer of its own. Each datagram's bytes are cleared once it has
// been handled (rxpoll_linux.go): audio that may carry a key tone, or an RFC 4733 payload
// naming a key, does not linger here for the next call.
type rxBatch struct {
	msgs  [rxBatchLen]mmsghdr
	iov   [rxBatchLen]unix.Iovec
	names [rxBatchLen]unix.RawSockaddrInet6
	bufs  [rxBatchLen][rxBufLen]byte
	pkt   rtp.Packet      // the datagram being handled, unmarshalled
	pcm   [rxPCMLen]int16 // its decoded audio (cleared after each datagram, as bufs are)
	ready bool            // msgs and iov point at names and bufs

	// what the receiver did since its last flushStats (rxStats)
	rounds, calls, datagrams int64
}

// rxCounters is what the shared epoll receiver did: rounds, recvmmsg calls that returned
// datagrams or found none, and datagrams. The round adds its counts once (flushStats).
var rxCounters struct {
	rounds, calls, datagrams atomic.Int64
}

// rxStats reads rxCounters: how many datagrams a recvmmsg returns on average is
// datagrams/calls (BenchmarkListeningCalls reports it).
func rxStats() (rounds, calls, datagrams int64) {
	return rxCounters.rounds.Load(), rxCounters.calls.Load(), rxCounters.datagrams.Load()
}

func (b *rxBatch) flushStats() {
	rxCounters.rounds.Add(b.rounds)
	rxCounters.calls.Add(b.calls)
	rxCounters.datagrams.Add(b.datagrams)
	b.rounds, b.calls, b.datagrams = 0, 0, 0
}

// recv takes up to rxBatchLen datagrams waiting on the descriptor fd with one recvmmsg,
// without waiting; 0 when none is queued (or on an error). The caller guarantees that fd is
// open and is the socket it means for the whole call (pollRead: the session's rxMu held, its
// receiving not stopped).
func (b *rxBatch) recv(fd int) int {
	if !b.ready {
		for i := range b.msgs {
			b.iov[i].Base = &b.bufs[i][0]
			b.iov[i].SetLen(rxBufLen)
			b.msgs[i].hdr = unix.Msghdr{Name: (*byte)(unsafe.Pointer(&b.names[i])), Iov: &b.iov[i], Iovlen: 1}
		}
		b.ready = true
	}
	// the kernel writes back each message's name length, flags and size: the lengths are set
	// again each call (msg_flags is output only)
	for i := range b.msgs {
		b.msgs[i].hdr.Namelen = unix.SizeofSockaddrInet6
	}
	b.calls++
	for {
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.msgs[0])), rxBatchLen,
			unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0
		}
		b.datagrams += int64(r)
		return int(r)
	}
}

// datagram returns the i-th datagram of the last recv and its source.
func (b *rxBatch) datagram(i int) ([]byte, netip.AddrPort) {
	n := min(int(b.msgs[i].n), rxBufLen)
	return b.bufs[i][:n], sockaddrAddrPort(&b.names[i])
}

// sockaddrAddrPort is the address of a sockaddr_in or sockaddr_in6 (invalid for another
// family).
func sockaddrAddrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), ntohs(sa4.Port))
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), ntohs(sa.Port))
	}
	return netip.AddrPort{}
}

func ntohs(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}
