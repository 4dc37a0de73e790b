//go:build linux && (amd64 || arm64)

package media

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The sender's slots: each holds one queued packet with its msghdr, iovec and destination,
// in one anonymous mapping outside Go's heap. A slot's packet room takes the largest packet a
// session sends (12 + 240 bytes of RTP, an SRTP tag and MKI: Session.srtpOut); a larger one
// goes out with sendto at once.
const (
	uringTxSlots    = 512
	uringTxSlotSize = 512
	uringTxIovAt    = int(unsafe.Sizeof(unix.Msghdr{}))
	uringTxNameAt   = uringTxIovAt + int(unsafe.Sizeof(unix.Iovec{}))
	uringTxDataAt   = (uringTxNameAt + unix.SizeofSockaddrInet6 + 7) &^ 7
	uringTxRoom     = uringTxSlotSize - uringTxDataAt
)

// uringTx batches the scheduler's sends: during a tick each packet is copied into a slot and
// queued as a send SQE with its destination (MSG_DONTWAIT: a full socket buffer drops the
// packet, as sendto did); flushSends at the end of the tick submits them all with one
// io_uring_enter, which sends them inline and waits for their completions, then clears every
// slot's bytes (a slot may have held an RFC 4733 key sent to an agent). The SQE is a plain
// IORING_OP_SEND naming the destination (addr2) where the kernel takes one — probed when the
// sender is set up —, which spares the kernel a msghdr and an iovec to copy and check per
// packet; an IORING_OP_SENDMSG otherwise. The ring has no single issuer — the scheduler's
// goroutine moves between threads, and its workers share it — so a mutex serialises it.
type uringTx struct {
	mu     sync.Mutex
	ring   *ioRing
	slots  []byte
	lens   [uringTxSlots]uint16 // each queued slot's packet length, for its clearing
	queued int
	gen    uint64 // flushes so far: a socket queued in generation gen has packets in the ring
	broken bool
	sendTo bool // the kernel sends IORING_OP_SEND to the destination in addr2
}

var sharedUTx struct {
	once sync.Once
	t    atomic.Pointer[uringTx]
	err  error
}

// uringTxShared sets up the sender on first use; nil when io_uring is not to be used.
func uringTxShared() *uringTx {
	sharedUTx.once.Do(func() {
		if rtpIOChoice() != rtpIOUring {
			sharedUTx.err = errRTPIOEpoll
			return
		}
		r, err := newIORing(uringTxSlots, 2*uringTxSlots, uringSetupSubmitAll|uringSetupCoopTaskrun)
		if err != nil {
			sharedUTx.err = err
			return
		}
		slots, err := unix.Mmap(-1, 0, uringTxSlots*uringTxSlotSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			r.close()
			sharedUTx.err = err
			return
		}
		t := &uringTx{ring: r, slots: slots}
		t.sendTo = t.probeSendTo()
		sharedUTx.t.Store(t)
	})
	return sharedUTx.t.Load()
}

func (t *uringTx) slot(i int) []byte {
	return t.slots[i*uringTxSlotSize : (i+1)*uringTxSlotSize : (i+1)*uringTxSlotSize]
}

// queue copies pkt into a slot and queues its sendmsg on s to the address sa (size bytes).
// It reports false when the packet must go out by other means (too large, a broken ring).
// The caller holds s.mu and has checked s is open.
func (t *uringTx) queue(s *rawSock, pkt []byte, sa *unix.RawSockaddrInet6, size uintptr) bool {
	if len(pkt) > uringTxRoom {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.broken {
		return false
	}
	if t.queued == uringTxSlots {
		t.flushLocked()
		if t.broken {
			return false
		}
	}
	e := t.ring.sqe()
	if e == nil {
		return false
	}
	i := t.queued
	t.prep(e, i, s.fd, pkt, sa, size)
	t.queued++
	s.txGen = t.gen
	return true
}

// flush sends what is queued.
func (t *uringTx) flush() {
	t.mu.Lock()
	t.flushLocked()
	t.mu.Unlock()
}

// flushFor sends what is queued if s has packets among it (before s's descriptor closes).
func (t *uringTx) flushFor(s *rawSock) {
	t.mu.Lock()
	if t.queued > 0 && s.txGen == t.gen {
		t.flushLocked()
	}
	t.mu.Unlock()
}

// prep copies pkt and its destination into slot i and makes e its send on fd. With size 0 it
// names no destination: an IORING_OP_SEND to a connected socket's peer (BenchmarkSendConnected;
// the sessions' sockets are not connected, docs/sip.md says why).
func (t *uringTx) prep(e *uringSQE, i, fd int, pkt []byte, sa *unix.RawSockaddrInet6, size uintptr) {
	b := t.slot(i)
	name := &b[uringTxNameAt]
	copy(b[uringTxNameAt:uringTxNameAt+int(size)], unsafe.Slice((*byte)(unsafe.Pointer(sa)), size))
	n := copy(b[uringTxDataAt:], pkt)
	t.lens[i] = uint16(n)
	e.fd = int32(fd)
	e.opFlags = unix.MSG_DONTWAIT
	e.userData = uint64(i)
	if size == 0 { // a connected socket: the kernel sends to its peer
		name = nil
	}
	if t.sendTo || size == 0 {
		e.opcode = uringOpSend
		e.addr = uint64(uintptr(unsafe.Pointer(&b[uringTxDataAt])))
		e.len = uint32(n)
		e.off = uint64(uintptr(unsafe.Pointer(name))) // addr2
		e.spliceFdIn = int32(size)                    // addr_len
		return
	}
	hdr := (*unix.Msghdr)(unsafe.Pointer(&b[0]))
	iov := (*unix.Iovec)(unsafe.Pointer(&b[uringTxIovAt]))
	iov.Base = &b[uringTxDataAt]
	iov.SetLen(n)
	*hdr = unix.Msghdr{Name: name, Namelen: uint32(size), Iov: iov, Iovlen: 1}
	e.opcode = uringOpSendmsg
	e.addr = uint64(uintptr(unsafe.Pointer(hdr)))
	e.len = 1
}

// probeSendTo reports whether this kernel sends an IORING_OP_SEND to the destination its SQE
// names (addr2, addr_len): one byte from a loopback socket to itself, through slot 0, which
// must arrive. A kernel that does not know the fields refuses the SQE (EINVAL) or sends
// nowhere (EDESTADDRREQ on an unconnected socket).
func (t *uringTx) probeSendTo() bool {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return false
	}
	local, err := unix.Getsockname(fd)
	if err != nil {
		return false
	}
	sa4, ok := local.(*unix.SockaddrInet4)
	if !ok {
		return false
	}
	var sa unix.RawSockaddrInet6 // room for either family; an IPv4 address in it here
	in4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa))
	in4.Family = unix.AF_INET
	in4.Port = uint16(sa4.Port>>8) | uint16(sa4.Port&0xff)<<8
	in4.Addr = sa4.Addr
	e := t.ring.sqe()
	if e == nil {
		return false
	}
	t.sendTo = true
	t.prep(e, 0, fd, []byte{0x50}, &sa, unix.SizeofSockaddrInet4)
	res := int32(-1)
	if err := t.ring.enter(1, true, false); err == nil {
		t.ring.reap(func(c *uringCQE) { res = c.res })
	}
	t.clearSlot(0)
	t.sendTo = false
	if res != 1 {
		return false
	}
	var got [4]byte
	n, _, err := unix.Recvfrom(fd, got[:], unix.MSG_DONTWAIT)
	return err == nil && n == 1 && got[0] == 0x50
}

func (t *uringTx) flushLocked() {
	want := t.queued
	if want == 0 {
		return
	}
	// The sends complete inline (MSG_DONTWAIT: a full socket buffer fails the send, it is not
	// polled), so a first call that waits for none finds them all done — and, waiting for
	// nothing, is a raw system call that keeps the scheduler's P (ioRing.enter). Only a send
	// the kernel did not finish inline is waited for, in an ordinary system call.
	got := 0
	wait := uint32(0)
	for got < want {
		if err := t.ring.enter(wait, true, false); err != nil {
			// The ring failed under us (it should not): its packets may or may not have
			// gone; from now on the sender uses sendto.
			t.broken = true
			break
		}
		got += t.ring.reap(func(c *uringCQE) {
			if i := int(c.userData); i < uringTxSlots {
				t.clearSlot(i)
			}
		})
		wait = uint32(want - got)
	}
	if t.broken {
		for i := range want {
			t.clearSlot(i)
		}
	}
	t.queued = 0
	t.gen++
}

// clearSlot zeroes a sent packet's bytes and its destination (and the msghdr and iovec of a
// sendmsg).
func (t *uringTx) clearSlot(i int) {
	if uringKeepBytes {
		return
	}
	b := t.slot(i)
	n := min(int(t.lens[i]), uringTxRoom)
	if t.sendTo {
		clear(b[uringTxNameAt : uringTxDataAt+n])
	} else {
		clear(b[:uringTxDataAt+n])
	}
	t.lens[i] = 0
}

// flushSends sends the packets the scheduler's tick queued (scheduler.go calls it after each
// tick). Without the io_uring sender there is nothing to do: sendto sent each at once.
func flushSends() {
	if t := sharedUTx.t.Load(); t != nil {
		t.flush()
	}
}
