//go:build linux && (amd64 || arm64)

package media

import (
	"errors"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/pion/rtp"
	"golang.org/x/sys/unix"
)

// Geometry of the receiver's ring. The provided buffers hold one datagram each, after the
// 16-byte io_uring_recvmsg_out and the source address: 1 KiB leaves 980 bytes of payload, room
// for any RTP packet a negotiated stream sends (G.711 at 60 ms is 492 bytes with its header;
// SRTP adds at most 20), and a longer datagram is cut there as the epoll path cuts at 2 KiB.
// 512 of them are two rounds of 1,000 calls' packets (50 a second each, a round every 5 ms),
// and a round gives back what it took after every 20 sockets' work; a burst beyond ends the
// receives that find none left (ENOBUFS), which are armed again at once — the datagrams wait in
// their sockets. The whole ring is 512 KiB for the process.
const (
	uringRxBufs     = 512
	uringRxBufSize  = 1024
	uringRxNameRoom = unix.SizeofSockaddrInet6
	uringRxHeadRoom = int(unsafe.Sizeof(uringRecvmsgOut{})) + uringRxNameRoom
	uringRxSQ       = 512
	uringRxCQ       = 2048
	uringCancelTag  = 1 << 63 // user_data of a cancel request; receives' keys never reach it

	// A receive's user_data (its key) is the socket's id above uringSlotBits and its slot in
	// the receiver's table below: a completion finds its socket by index, not by a map
	// lookup, and one of a socket since gone (its slot reused) matches no key.
	uringSlotBits = 24
	uringSlotMask = 1<<uringSlotBits - 1

	// uringLocalWorkBatch is the most deferred completion work items one io_uring_enter runs
	// when it waits for none (IO_LOCAL_TW_DEFAULT_MAX).
	uringLocalWorkBatch = 20
)

// uringRx is the shared receiver on io_uring: one ring whose completion work the kernel runs
// only inside our own io_uring_enter (IORING_SETUP_DEFER_TASKRUN), from one goroutine locked
// to the thread that made the ring (SINGLE_ISSUER). Every started session's socket has one
// multishot recvmsg in it, user_data = the session's id, taking buffers from a provided-buffer
// ring. Each round — every rxPollDelay, as on the epoll path — the goroutine makes one
// system call: it submits what changed (new sessions, cancels, re-arms) and runs the receive
// work queued since the last round, for every socket at once; then it reaps the completions,
// hands each datagram to its session (Session.datagram), clears the buffer and gives it back.
type uringRx struct {
	ring *ioRing
	bufs *bufRing
	msg  unix.Msghdr // the template of every multishot recvmsg: room for the source only
	pkt  rtp.Packet
	pcm  [rxPCMLen]int16 // the datagram's decoded audio (cleared after each, as the buffers are)
	now  time.Time       // when the last io_uring_enter returned: the datagrams it brought arrived by then

	nbufs uint16
	tid   int           // the issuer thread's id (benchmarks read its switches)
	quit  chan struct{} // closed: the goroutine frees the ring and ends (tests' own receivers)
	ended chan struct{} // closed when the goroutine has ended

	mu     sync.Mutex
	next   uint64
	starts []*uringReg
	stops  []*uringReg
	wake   chan struct{}

	// the goroutine's own state
	regs     []uringSlot // by slot: the sockets in the ring
	free     []uint32    // slots free for reuse
	rearm    []*uringReg
	takeS    []*uringReg
	takeT    []*uringReg
	disarmed atomic.Int64 // receives that ended and were armed again (ENOBUFS, a full CQ)
	rounds   atomic.Int64
}

// uringSlot is a socket's entry in the receiver's table: what a completion needs to find its
// session, in the table itself (24 bytes) rather than behind a pointer — one cache line fewer
// per datagram.
type uringSlot struct {
	key uint64   // the receive's user_data; 0: a free slot
	m   *Session // nil once the session has stopped receiving (its datagrams go nowhere)
	reg *uringReg
}

// uringReg is one session's socket in the ring.
type uringReg struct {
	id        uint64
	key       uint64 // user_data of its receive: id<<uringSlotBits | slot (goroutine only)
	slot      uint32 // goroutine only
	u         *uringRx
	m         *Session
	s         *rawSock
	stopAsked atomic.Bool
	done      chan struct{} // closed once the ring holds no request of the socket's
	// halted is closed once the goroutine handed the session its last datagram: it took the
	// stop, or the socket left the ring (stopReceiving's wait).
	halted chan struct{}

	armed    bool // goroutine only: a receive is in the ring (no final completion yet)
	stopping bool // goroutine only
	finished bool // goroutine only: done is closed
}

var sharedURx struct {
	once sync.Once
	u    *uringRx
	err  error
}

// uringRxShared starts the io_uring receiver on first use; nil when io_uring is not to be
// used (rtpIO) or cannot be set up here.
func uringRxShared() *uringRx {
	sharedURx.once.Do(func() {
		if rtpIOChoice() != rtpIOUring {
			sharedURx.err = errRTPIOEpoll
			return
		}
		u, err := startUringRx(uringRxBufs)
		if err != nil {
			sharedURx.err = err
			return
		}
		sharedURx.u = u
	})
	return sharedURx.u
}

// startUringRx sets up a receiver with nbufs provided buffers (a power of two) and starts
// its goroutine.
func startUringRx(nbufs uint16) (*uringRx, error) {
	u := &uringRx{nbufs: nbufs, wake: make(chan struct{}, 1), quit: make(chan struct{}), ended: make(chan struct{})}
	ready := make(chan error)
	go u.run(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return u, nil
}

// uringKeepBytes is a test hook: the control of the tests that scan the rings' memory for
// handled datagrams turns the clearing off to prove the scan finds them.
var uringKeepBytes bool

var errRTPIOEpoll = errors.New("media: the epoll path is chosen (PAYBRIDGE_RTP_IO=epoll)")

// setup makes the ring on the calling thread, which becomes its only issuer.
func (u *uringRx) setup() error {
	r, err := newIORing(uringRxSQ, uringRxCQ,
		uringSetupSubmitAll|uringSetupCoopTaskrun|uringSetupSingleIssuer|uringSetupDeferTaskrun)
	if err != nil {
		return err
	}
	b, err := newBufRing(r, 0, u.nbufs, uringRxBufSize)
	if err != nil {
		r.close()
		return err
	}
	u.ring, u.bufs = r, b
	u.msg.Namelen = uringRxNameRoom
	return nil
}

// add puts a started session's socket in the ring (at the next round).
func (u *uringRx) add(m *Session, s *rawSock) {
	u.mu.Lock()
	u.next++
	reg := &uringReg{id: u.next, u: u, m: m, s: s, done: make(chan struct{}), halted: make(chan struct{})}
	u.starts = append(u.starts, reg)
	u.mu.Unlock()
	m.rxID = reg.id
	s.rx = reg
}

// stop asks for the socket's receive to be cancelled; reg.done is closed once its final
// completion is in. Idempotent; it does not wait.
func (u *uringRx) stop(reg *uringReg) {
	if reg.stopAsked.Swap(true) {
		return
	}
	u.mu.Lock()
	u.stops = append(u.stops, reg)
	u.mu.Unlock()
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// run is the receiver's goroutine; the thread it is locked to is the ring's issuer. The
// process's receiver runs for good.
func (u *uringRx) run(ready chan<- error) {
	runtime.LockOSThread()
	defer close(u.ended)
	if err := u.setup(); err != nil {
		runtime.UnlockOSThread()
		ready <- err
		return
	}
	u.tid = unix.Gettid()
	ready <- nil
	t := time.NewTimer(rxPollDelay)
	for {
		// A round that had to arm receives again (buffers ran out in a burst) is followed
		// at once by another, a few at most, as the epoll path goes on while sockets stay
		// ready; the datagrams waited in their sockets meanwhile.
		for range 4 {
			if !u.round() {
				break
			}
		}
		select {
		case <-t.C:
		case <-u.wake:
		case <-u.quit:
			u.ring.close()
			u.bufs.free()
			runtime.UnlockOSThread()
			return
		}
		t.Reset(rxPollDelay)
	}
}

// round is one pass: submit, run the queued receive work, hand over what it received. It
// reports whether receives had to be armed again.
func (u *uringRx) round() bool {
	u.rounds.Add(1)
	u.mu.Lock()
	u.takeS, u.starts = u.starts, u.takeS[:0]
	u.takeT, u.stops = u.stops, u.takeT[:0]
	u.mu.Unlock()
	for _, reg := range u.takeS {
		u.register(reg)
		u.arm(reg)
	}
	for _, reg := range u.takeT {
		u.halt(reg)
		if reg.armed {
			e := u.sqe()
			e.opcode = uringOpAsyncCancel
			e.fd = -1
			e.addr = reg.key
			e.userData = uringCancelTag | reg.key
		} else {
			u.finish(reg)
		}
	}
	rearmed := len(u.rearm) > 0
	for _, reg := range u.rearm {
		if !reg.armed && !reg.stopping {
			u.arm(reg)
		}
	}
	u.rearm = u.rearm[:0]
	// One call runs at most 20 sockets' receive work (the kernel's IO_LOCAL_TW_DEFAULT_MAX,
	// since 6.13), each posting one completion or more: a call that brought fewer than that
	// found no more work; one that brought as many is followed by another. A higher
	// min_complete with a zero timeout would do it in one call, but arming that timer
	// costs more than the calls it saves (a timer MSR write, a VM exit on a virtual machine).
	for range 256 { // 5,000 sockets with datagrams; the rest waits for the next round
		u.bufs.publish()
		if err := u.ring.enter(0, true, false); err != nil {
			return false
		}
		u.now = time.Now()
		if u.ring.reap(u.complete) < uringLocalWorkBatch {
			break
		}
	}
	u.bufs.publish()
	clear(u.takeS) // keep no session reachable from the scratch lists
	clear(u.takeT)
	return rearmed || len(u.rearm) > 0
}

// sqe returns a free SQE, submitting what is prepared when the SQ is full.
func (u *uringRx) sqe() *uringSQE {
	for {
		if e := u.ring.sqe(); e != nil {
			return e
		}
		u.ring.enter(0, false, false)
	}
}

// arm queues the socket's multishot recvmsg.
func (u *uringRx) arm(reg *uringReg) {
	if reg.stopping {
		return
	}
	e := u.sqe()
	e.opcode = uringOpRecvmsg
	e.fd = int32(reg.s.fd)
	e.addr = uint64(uintptr(unsafe.Pointer(&u.msg)))
	e.len = 1
	e.ioprio = uringRecvMultishot
	e.flags = uringSQEBufferSelect
	e.bufIndex = u.bufs.bgid
	e.userData = reg.key
	reg.armed = true
}

// register gives a new socket a slot in the table and its key.
func (u *uringRx) register(reg *uringReg) {
	var slot uint32
	if n := len(u.free); n > 0 {
		slot = u.free[n-1]
		u.free = u.free[:n-1]
	} else {
		slot = uint32(len(u.regs))
		u.regs = append(u.regs, uringSlot{})
	}
	reg.slot = slot
	reg.key = reg.id<<uringSlotBits | uint64(slot)
	u.regs[slot] = uringSlot{key: reg.key, m: reg.m, reg: reg}
}

// lookup is the socket whose receive has user_data key, nil if none is (any more).
func (u *uringRx) lookup(key uint64) *uringReg {
	if e := u.entry(key); e != nil {
		return e.reg
	}
	return nil
}

// entry is lookup's table entry, nil if none; the pointer is good until the next register.
func (u *uringRx) entry(key uint64) *uringSlot {
	slot := key & uringSlotMask
	if slot >= uint64(len(u.regs)) {
		return nil
	}
	if e := &u.regs[slot]; e.key == key {
		return e
	}
	return nil
}

// halt hands the socket's session nothing more: its stop has been taken. What its receive
// still completes is cleared and given back unread.
func (u *uringRx) halt(reg *uringReg) {
	reg.stopping = true
	if int(reg.slot) < len(u.regs) && u.regs[reg.slot].reg == reg {
		u.regs[reg.slot].m = nil
	}
	select {
	case <-reg.halted:
	default:
		if reg.halted != nil {
			close(reg.halted)
		}
	}
}

// finish forgets a stopped socket: no request of it is left in the ring.
func (u *uringRx) finish(reg *uringReg) {
	u.halt(reg)
	if int(reg.slot) < len(u.regs) && u.regs[reg.slot].reg == reg {
		u.regs[reg.slot] = uringSlot{}
		u.free = append(u.free, reg.slot)
	}
	reg.m = nil
	if !reg.finished {
		reg.finished = true
		close(reg.done)
	}
}

// complete handles one completion.
func (u *uringRx) complete(c *uringCQE) {
	if c.userData&uringCancelTag != 0 {
		return // the cancel's own completion; the receive's final one says it is gone
	}
	e := u.entry(c.userData)
	if c.flags&uringCQEFBuffer != 0 {
		bid := uint16(c.flags >> uringCQEBufferShift)
		buf := u.bufs.buf(bid)
		n := min(max(int(c.res), 0), len(buf))
		if e != nil && e.m != nil && n > 0 {
			u.deliver(e.m, buf[:n])
		}
		// The bytes may be a key's tone or an RFC 4733 payload naming a key: none is left
		// for the next datagram, or for anyone reading this memory.
		if !uringKeepBytes {
			clear(buf[:n])
		}
		u.bufs.put(bid)
	}
	if c.flags&uringCQEFMore != 0 || e == nil {
		return
	}
	reg := e.reg
	reg.armed = false
	switch {
	case reg.stopping:
		u.finish(reg)
	case c.res >= 0 || c.res == -int32(unix.ENOBUFS) || c.res == -int32(unix.ECANCELED) || c.res == -int32(unix.EINTR):
		// out of buffers, or a completion that found the CQ full: the receive ended with
		// datagrams still queued in the socket
		u.disarmed.Add(1)
		u.rearm = append(u.rearm, reg)
	default:
		// The kernel refuses the receive on this socket: it is read by a goroutine polling
		// it, as the epoll path does with a socket epoll will not take.
		m := reg.m
		u.finish(reg)
		go m.pollLoop(reg.s)
	}
}

// deliver hands one received buffer (io_uring_recvmsg_out, the source, the payload) to the
// session, unless it has stopped receiving. It takes no lock: stopReceiving sets rxStopped,
// so no datagram starts after it, and waits for halted, so none is still being handled when
// the session closes.
func (u *uringRx) deliver(m *Session, b []byte) {
	if m == nil || len(b) < uringRxHeadRoom {
		return
	}
	out := (*uringRecvmsgOut)(unsafe.Pointer(&b[0]))
	data := b[uringRxHeadRoom:]
	if int(out.payloadlen) < len(data) {
		data = data[:out.payloadlen]
	}
	var src netip.AddrPort
	if out.namelen > 0 {
		src = sockaddrAddrPort((*unix.RawSockaddrInet6)(unsafe.Pointer(&b[unsafe.Sizeof(uringRecvmsgOut{})])))
	}
	if m.rxStopped.Load() {
		return
	}
	m.reading.Store(true)
	used := m.datagramAt(data, src, &u.pkt, u.pcm[:], u.now)
	m.reading.Store(false)
	clear(u.pcm[:used])
}
