//go:build linux && (amd64 || arm64)

package media

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The io_uring interface as the kernel defines it (include/uapi/linux/io_uring.h): the few
// operations, flags and structures the RTP receiver and sender use. Only what is written here
// is relied on; every value is the kernel's ABI, fixed since the version named.

// io_uring_setup flags.
const (
	uringSetupCQSize       = 1 << 3  // cq_entries is given (5.5)
	uringSetupSubmitAll    = 1 << 7  // go on submitting after a failed SQE (5.18)
	uringSetupCoopTaskrun  = 1 << 8  // no interrupt of the task for completion work (5.19)
	uringSetupSingleIssuer = 1 << 12 // one task submits (6.0)
	uringSetupDeferTaskrun = 1 << 13 // completion work runs only in the issuer's io_uring_enter (6.1)
)

// io_uring_params.features.
const uringFeatSingleMmap = 1 << 0

// mmap offsets of the rings and the SQE array.
const (
	uringOffSQRing = 0
	uringOffSQEs   = 0x10000000
)

// io_uring_enter flags.
const (
	uringEnterGetEvents = 1 << 0
	uringEnterExtArg    = 1 << 3
)

// Opcodes.
const (
	uringOpSendmsg     = 9
	uringOpRecvmsg     = 10
	uringOpAsyncCancel = 14
	uringOpSend        = 26 // with a destination in addr2 and addr_len on newer kernels (probed: uringTx)
)

// SQE flags, send/receive ioprio flags, CQE flags.
const (
	uringSQEFixedFile    = 1 << 0 // sqe.fd is an index into the registered files
	uringSQEBufferSelect = 1 << 5
	uringRecvMultishot   = 1 << 1 // in sqe.ioprio
	uringCQEFBuffer      = 1 << 0 // the upper 16 bits of cqe.flags are the buffer id
	uringCQEFMore        = 1 << 1 // the multishot request goes on
	uringCQEBufferShift  = 16
)

// io_uring_register opcodes.
const (
	uringRegisterFiles    = 2  // a table of descriptors an SQE names by index (5.1)
	uringRegisterPbufRing = 22 // 5.19
)

// uringParams is struct io_uring_params.
type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  struct {
		head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
		userAddr                                                        uint64
	}
	cqOff struct {
		head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
		userAddr                                                        uint64
	}
}

// uringSQE is struct io_uring_sqe (64 bytes).
type uringSQE struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	opFlags     uint32 // msg_flags, cancel_flags, …
	userData    uint64
	bufIndex    uint16 // buf_group with IOSQE_BUFFER_SELECT
	personality uint16
	spliceFdIn  int32 // addr_len (low 16 bits) of a send's destination in off (addr2)
	addr3       uint64
	_           uint64
}

// uringCQE is struct io_uring_cqe (16 bytes; no CQE32).
type uringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

// uringGeteventsArg is struct io_uring_getevents_arg (IORING_ENTER_EXT_ARG).
type uringGeteventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	minWait   uint32
	ts        uint64
}

// uringBufReg is struct io_uring_buf_reg (IORING_REGISTER_PBUF_RING).
type uringBufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	flags       uint16
	_           [3]uint64
}

// uringRecvmsgOut is struct io_uring_recvmsg_out: the head of every buffer a multishot
// recvmsg fills, followed by the source address (msg_namelen bytes reserved), the control
// data (msg_controllen bytes, none here) and the payload.
type uringRecvmsgOut struct {
	namelen, controllen, payloadlen, flags uint32
}

func init() {
	// The layouts above are the kernel's; a wrong one would corrupt memory the kernel reads.
	if unsafe.Sizeof(uringParams{}) != 120 || unsafe.Sizeof(uringSQE{}) != 64 || unsafe.Sizeof(uringCQE{}) != 16 ||
		unsafe.Sizeof(uringBufReg{}) != 40 || unsafe.Sizeof(uringGeteventsArg{}) != 24 || unsafe.Offsetof(uringSQE{}.userData) != 32 {
		panic("media: io_uring structure layout")
	}
}

// ioRing is one io_uring instance: its descriptor, the shared submission and completion
// rings and the SQE array. It is not safe for concurrent use: its owner serialises every call
// (the receiver: one goroutine on one locked thread; the sender: a mutex).
type ioRing struct {
	fd      int
	ringMem []byte // the SQ and CQ rings (one mapping: IORING_FEAT_SINGLE_MMAP)
	sqeMem  []byte

	sqHead, sqTail *uint32
	sqMask         uint32
	sqEntries      uint32
	sqes           *[1 << 15]uringSQE
	sqLocal        uint32 // our SQ tail: SQEs prepared, published by submit

	cqHead, cqTail *uint32
	cqMask         uint32
	cqEntries      uint32
	cqes           *[1 << 16]uringCQE
}

var errUringFeatures = errors.New("media: io_uring without a single ring mapping")

// newIORing sets up an io_uring of sq submission and cq completion entries with the flags.
func newIORing(sq, cq uint32, flags uint32) (*ioRing, error) {
	p := uringParams{flags: flags | uringSetupCQSize, cqEntries: cq}
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(sq), uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", e)
	}
	r := &ioRing{fd: int(fd)}
	if p.features&uringFeatSingleMmap == 0 {
		r.close()
		return nil, errUringFeatures
	}
	size := max(uintptr(p.sqOff.array)+uintptr(p.sqEntries)*4, uintptr(p.cqOff.cqes)+uintptr(p.cqEntries)*16)
	mem, err := unix.Mmap(r.fd, uringOffSQRing, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("io_uring rings: %w", err)
	}
	r.ringMem = mem
	sqeMem, err := unix.Mmap(r.fd, uringOffSQEs, int(p.sqEntries)*64, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("io_uring SQEs: %w", err)
	}
	r.sqeMem = sqeMem
	at := func(off uint32) unsafe.Pointer { return unsafe.Pointer(&mem[off]) }
	r.sqHead, r.sqTail = (*uint32)(at(p.sqOff.head)), (*uint32)(at(p.sqOff.tail))
	r.sqMask, r.sqEntries = *(*uint32)(at(p.sqOff.ringMask)), p.sqEntries
	r.cqHead, r.cqTail = (*uint32)(at(p.cqOff.head)), (*uint32)(at(p.cqOff.tail))
	r.cqMask, r.cqEntries = *(*uint32)(at(p.cqOff.ringMask)), p.cqEntries
	r.cqes = (*[1 << 16]uringCQE)(at(p.cqOff.cqes))
	r.sqes = (*[1 << 15]uringSQE)(unsafe.Pointer(&sqeMem[0]))
	// The SQ's index array maps ring slot i to SQE i, once and for all.
	array := unsafe.Slice((*uint32)(at(p.sqOff.array)), p.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.sqLocal = atomic.LoadUint32(r.sqTail)
	return r, nil
}

// close unmaps the rings and closes the descriptor; the kernel cancels whatever is still in
// flight.
func (r *ioRing) close() {
	if r.sqeMem != nil {
		unix.Munmap(r.sqeMem)
		r.sqeMem = nil
	}
	if r.ringMem != nil {
		unix.Munmap(r.ringMem)
		r.ringMem = nil
	}
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
}

// sqe returns the next free SQE, zeroed, or nil when the SQ is full (submit first).
func (r *ioRing) sqe() *uringSQE {
	if r.sqLocal-atomic.LoadUint32(r.sqHead) >= r.sqEntries {
		return nil
	}
	e := &r.sqes[r.sqLocal&r.sqMask]
	*e = uringSQE{}
	r.sqLocal++
	return e
}

// pending is how many prepared SQEs the kernel has not consumed yet.
func (r *ioRing) pending() uint32 { return r.sqLocal - atomic.LoadUint32(r.sqHead) }

// enter publishes the prepared SQEs and calls io_uring_enter once: it submits them and, with
// GETEVENTS, runs the ring's pending completion work and waits for wait completions. With
// noWait the wait is bounded by a zero timeout (wait then only raises how much deferred
// completion work this call runs: the kernel runs at least that many items, 20 otherwise).
//
// A call that waits for nothing (wait 0, or noWait) cannot block, and is made as a raw system
// call: the goroutine keeps its P in the kernel, as in a long computation, instead of marking
// it in a system call for the runtime's sysmon to take away and hand to another thread — a
// thread wake-up and ~50 wake-ups of sysmon's own for every call it sees twice (docs/sip.md,
// "The receiver's round: thread switches").
func (r *ioRing) enter(wait uint32, getEvents, noWait bool) error {
	atomic.StoreUint32(r.sqTail, r.sqLocal)
	submit := r.pending()
	var flags uintptr
	if getEvents {
		flags |= uringEnterGetEvents
	}
	var ts unix.Timespec
	arg := uringGeteventsArg{ts: uint64(uintptr(unsafe.Pointer(&ts)))}
	var argp, argsz uintptr
	if noWait {
		flags |= uringEnterExtArg
		argp, argsz = uintptr(unsafe.Pointer(&arg)), unsafe.Sizeof(arg)
	}
	for {
		var e unix.Errno
		if wait == 0 || noWait {
			_, _, e = unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(submit), uintptr(wait), flags, argp, argsz)
		} else {
			_, _, e = unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(submit), uintptr(wait), flags, argp, argsz)
		}
		switch e {
		case 0, unix.ETIME:
			return nil
		case unix.EINTR:
			submit = r.pending()
			continue
		case unix.EAGAIN, unix.EBUSY:
			// the kernel is short of memory for requests, or the CQ overflowed: what was
			// submitted is taken, the rest goes with the next call
			return nil
		}
		return e
	}
}

// reap calls f for every completion in the CQ and then frees their slots; it returns how many.
func (r *ioRing) reap(f func(*uringCQE)) int {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail)
	n := 0
	for ; head != tail; head++ {
		f(&r.cqes[head&r.cqMask])
		n++
		if n%64 == 0 {
			atomic.StoreUint32(r.cqHead, head+1) // room for the kernel as early as possible
		}
	}
	atomic.StoreUint32(r.cqHead, head)
	return n
}

// register calls io_uring_register.
func (r *ioRing) register(op uintptr, arg unsafe.Pointer, n uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), op, uintptr(arg), n, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// bufRing is a provided-buffer ring (IORING_REGISTER_PBUF_RING) with its buffers: n buffers
// of size bytes in one anonymous mapping outside Go's heap, handed to the kernel by id. The
// kernel takes one for each datagram a multishot receive delivers; the owner gives it back
// (put, then publish) once the datagram is handled and its bytes cleared.
type bufRing struct {
	ring  []byte // n entries of struct io_uring_buf; the tail overlays entry 0's last 2 bytes
	bufs  []byte
	n     uint16
	size  int
	tail  uint16 // our tail, published by publish
	bgid  uint16
	dirty bool
}

// uringBuf is struct io_uring_buf.
type uringBuf struct {
	addr uint64
	len  uint32
	bid  uint16
	resv uint16 // the ring's tail in entry 0
}

func newBufRing(r *ioRing, bgid, n uint16, size int) (*bufRing, error) {
	ringSize := (int(n)*16 + unix.Getpagesize() - 1) &^ (unix.Getpagesize() - 1)
	ring, err := unix.Mmap(-1, 0, ringSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, err
	}
	bufs, err := unix.Mmap(-1, 0, int(n)*size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		unix.Munmap(ring)
		return nil, err
	}
	b := &bufRing{ring: ring, bufs: bufs, n: n, size: size, bgid: bgid}
	reg := uringBufReg{ringAddr: uint64(uintptr(unsafe.Pointer(&ring[0]))), ringEntries: uint32(n), bgid: bgid}
	if err := r.register(uringRegisterPbufRing, unsafe.Pointer(&reg), 1); err != nil {
		b.free()
		return nil, fmt.Errorf("io_uring provided buffers: %w", err)
	}
	for i := range n {
		b.put(i)
	}
	b.publish()
	return b, nil
}

func (b *bufRing) free() {
	unix.Munmap(b.ring)
	unix.Munmap(b.bufs)
}

// buf is buffer id's memory.
func (b *bufRing) buf(id uint16) []byte {
	off := int(id) * b.size
	return b.bufs[off : off+b.size : off+b.size]
}

// put queues buffer id for the kernel again (visible after publish).
func (b *bufRing) put(id uint16) {
	e := (*uringBuf)(unsafe.Pointer(&b.ring[int(b.tail&(b.n-1))*16]))
	e.addr = uint64(uintptr(unsafe.Pointer(&b.bufs[int(id)*b.size])))
	e.len = uint32(b.size)
	e.bid = id
	b.tail++
	b.dirty = true
}

// publish hands the buffers put since the last publish to the kernel: one store with
// release semantics of the ring's 16-bit tail. The tail shares an aligned 32-bit word with
// entry 0's buffer id, which only we write, so the word is stored whole.
func (b *bufRing) publish() {
	if !b.dirty {
		return
	}
	b.dirty = false
	w := (*uint32)(unsafe.Pointer(&b.ring[12]))
	bid0 := *(*uint16)(unsafe.Pointer(&b.ring[12]))
	atomic.StoreUint32(w, uint32(bid0)|uint32(b.tail)<<16)
}
