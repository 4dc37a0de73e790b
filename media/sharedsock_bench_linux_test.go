//go:build linux && (amd64 || arm64)

package media

import (
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BenchmarkSharedSocket asks whether one shared RTP socket (issue 17) cuts the kernel's work
// per datagram: the same traffic — N calls, each a 172-byte packet every 20 ms each way, the
// calls' frames spread over the 20 ms — through serve's side shaped three ways:
//
//   - percall: N sockets, one multishot IORING_OP_RECVMSG each (today's shape);
//   - shared: one socket for every call, the calls told apart by the datagram's source in a map;
//   - reuseport2: two sockets on one port (SO_REUSEPORT, one per CPU of this box), both in the
//     one receive ring, demultiplexed the same way.
//
// Four threads, each locked and each with its own ring, as the real programs have them:
// serve's receiver (the receiver's geometry and round of uringrx_linux.go: 512 × 1 KiB provided
// buffers, DEFER_TASKRUN|SINGLE_ISSUER, a round every 5 ms, io_uring_enter until it brings
// fewer than 20 completions; each datagram counted on its call's own counter line, its bytes
// cleared and the buffer given back — no RTP rules, the same in every shape), serve's sender (the
// package's uringTx: IORING_OP_SEND naming the destination, a flush per 10 ms tick as the
// scheduler's), the callers' sender (N sockets with distinct source ports, a uringTx flush per
// 2 ms tick as callgen's) and the callers' receiver (N sockets in a receive ring as serve's
// today; the same in every shape). On loopback a send delivers into the receiving socket in the
// sender's system call — with its wake-up of the receiver's poll —, so the senders' CPU moves
// with the receiving shape too. No IRQ time accounting on this kernel: the softirq delivery done
// inside a send is the sending thread's system time.
//
// One iteration is 20 ms of wall time after a 1 s warm-up. Metrics are each thread's CPU per
// datagram it handled (CLOCK_THREAD_CPUTIME_ID; -sys the system part, RUSAGE_THREAD's share),
// and serve-ms/call-s: serve's receiver and sender per call-second at 50 packets in and 50 out.
// PAYBRIDGE_BENCH_CALLS sets N (1,000 unless set). PAYBRIDGE_BENCH_EVICT_KB=K makes serve's two
// threads write one byte of every cache line of their own K KiB between turns, as the rest of
// serve's work pushes the sockets' and rings' state out of the caches between rounds (the
// walks' CPU is not counted). PAYBRIDGE_BENCH_TX=sendto makes serve's sender use sendto per
// packet (the epoll path's send) instead of the ring. lost/op counts datagrams sent and not
// received in the window (0 expected; the window's edges move it by a few).
func BenchmarkSharedSocket(b *testing.B) {
	calls := 1000
	if v, err := strconv.Atoi(os.Getenv("PAYBRIDGE_BENCH_CALLS")); err == nil && v >= 10 {
		calls = v
	}
	for _, shape := range []string{"percall", "shared", "reuseport2"} {
		b.Run(shape, func(b *testing.B) { benchSharedSocket(b, calls, shape) })
	}
}

// threadUse is one thread's CPU and work over the measured window.
type threadUse struct {
	cpu, sys time.Duration
	n        int64 // datagrams sent or received
}

// threadClock is a thread's CPU so far: the exact clock and getrusage's system share of it.
type threadClock struct {
	cpu       time.Duration
	user, sys time.Duration
}

func readThreadClock() threadClock {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_THREAD, &ru)
	return threadClock{cpu: threadCPU(), user: time.Duration(ru.Utime.Nano()), sys: time.Duration(ru.Stime.Nano())}
}

// since is the use between c0 and now, the system share from getrusage applied to the exact
// total (getrusage's split is sampled at ticks).
func (c0 threadClock) since(n int64) threadUse {
	c1 := readThreadClock()
	u := threadUse{cpu: c1.cpu - c0.cpu, n: n}
	if tot := (c1.user - c0.user) + (c1.sys - c0.sys); tot > 0 {
		u.sys = time.Duration(float64(u.cpu) * float64(c1.sys-c0.sys) / float64(tot))
	}
	return u
}

// benchPhase is the workers' shared clock: warm-up, measuring, stop.
type benchPhase struct {
	v  atomic.Int32
	wg sync.WaitGroup
}

const (
	phaseWarm = iota
	phaseMeasure
	phaseStop
)

// window runs a worker's measured window: mark is called at each of its loop's turns with the
// count of datagrams so far and returns false when the worker is to end.
type window struct {
	p     *benchPhase
	state int32
	c0    threadClock
	n0    int64
	out   *threadUse
	evict []byte        // walked between turns (the rest of a process's work through the caches)
	skip  time.Duration // the walks' own CPU in the window, not the thread's RTP work
}

// pause ends a turn: the eviction walk, if any, then sleeping d.
func (w *window) pause(d time.Duration) {
	if len(w.evict) > 0 {
		t0 := threadCPU()
		for i := 0; i < len(w.evict); i += 64 {
			w.evict[i]++
		}
		if w.state == phaseMeasure {
			w.skip += threadCPU() - t0
		}
	}
	time.Sleep(d)
}

func (w *window) turn(n int64) bool {
	ph := w.p.v.Load()
	if ph == phaseMeasure && w.state == phaseWarm {
		w.state, w.c0, w.n0 = phaseMeasure, readThreadClock(), n
	}
	if ph == phaseStop {
		if w.state == phaseMeasure {
			*w.out = w.c0.since(n - w.n0)
			w.out.cpu -= w.skip
		}
		return false
	}
	return true
}

// benchSock is a non-blocking IPv4 UDP socket on loopback.
func benchSock(tb testing.TB, port uint16, reuse bool, rcvbuf int) (int, netip.AddrPort) {
	tb.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { unix.Close(fd) })
	if reuse {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			tb.Fatal(err)
		}
	}
	if rcvbuf > 0 {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: int(port)}); err != nil {
		tb.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		tb.Fatal(err)
	}
	sa4 := sa.(*unix.SockaddrInet4)
	return fd, netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), uint16(sa4.Port))
}

// rawInet4 is ap as the sender's slots take a destination.
func rawInet4(ap netip.AddrPort) unix.RawSockaddrInet6 {
	var sa unix.RawSockaddrInet6
	sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa))
	sa4.Family = unix.AF_INET
	sa4.Addr = ap.Addr().As4()
	p := (*[2]byte)(unsafe.Pointer(&sa4.Port))
	p[0], p[1] = byte(ap.Port()>>8), byte(ap.Port())
	return sa
}

// newBenchTx is a private io_uring sender, set up as uringTxShared sets up the process's.
func newBenchTx() (*uringTx, error) {
	r, err := newIORing(uringTxSlots, 2*uringTxSlots, uringSetupSubmitAll|uringSetupCoopTaskrun)
	if err != nil {
		return nil, err
	}
	slots, err := unix.Mmap(-1, 0, uringTxSlots*uringTxSlotSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		r.close()
		return nil, err
	}
	t := &uringTx{ring: r, slots: slots}
	t.sendTo = t.probeSendTo()
	return t, nil
}

func (t *uringTx) freeBench() {
	t.ring.close()
	unix.Munmap(t.slots)
}

// benchSender sends call i's packet every 20 ms, the calls' frames spread evenly over the
// 20 ms (call i at i×20ms/N), from from[i%len(from)] to to[i%len(to)], every tick.
func benchSender(p *benchPhase, out *threadUse, evict []byte, sendto bool, tick time.Duration, calls int, from []*rawSock, to []unix.RawSockaddrInet6, fail chan<- error) {
	defer p.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t, err := newBenchTx()
	if err != nil {
		fail <- err
		return
	}
	defer t.freeBench()
	pkt := make([]byte, benchPacketSize)
	pkt[0] = 0x80
	frame := 20 * time.Millisecond
	start := time.Now()
	var g int64 // the next packet: call g%calls, frame g/calls, due at start + g×20ms/calls
	var sent int64
	w := window{p: p, out: out, evict: evict}
	for w.turn(sent) {
		due := int64(time.Since(start)*time.Duration(calls)/frame) + 1
		if due-g > int64(5*calls) { // far behind (a stalled thread): resynchronise, no burst
			g = due - int64(calls)
		}
		for ; g < due; g++ {
			i := int(g % int64(calls))
			binaryPutSeq(pkt, uint16(g/int64(calls)), uint32(i))
			s := from[i%len(from)]
			if sendto { // the epoll path's send: one system call per packet
				unix.Syscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(unsafe.Pointer(&pkt[0])), uintptr(len(pkt)),
					unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&to[i%len(to)])), unix.SizeofSockaddrInet4)
			} else if !t.queue(s, pkt, &to[i%len(to)], unix.SizeofSockaddrInet4) {
				fail <- errBenchSend
				return
			}
			sent++
		}
		t.flush()
		w.pause(tick)
	}
}

// benchPacketSize is a 20 ms PCMU packet with its RTP header.
const benchPacketSize = 12 + 160

func binaryPutSeq(pkt []byte, seq uint16, ssrc uint32) {
	pkt[2], pkt[3] = byte(seq>>8), byte(seq)
	pkt[8], pkt[9], pkt[10], pkt[11] = byte(ssrc>>24), byte(ssrc>>16), byte(ssrc>>8), byte(ssrc)
}

type benchErr string

func (e benchErr) Error() string { return string(e) }

const errBenchSend = benchErr("the sender's ring refused a packet")

// benchRx is a receive ring over some sockets: a multishot recvmsg on each, rounds every
// 5 ms as uringRx's. With byAddr, datagrams are told apart by their source (the shared
// socket); otherwise the socket's index is the call.
type benchRx struct {
	ring   *ioRing
	bufs   *bufRing
	msg    unix.Msghdr
	fds    []int
	byAddr map[netip.AddrPort]int32
	counts []benchCount // by call: one cache line each, as a session's received counter
	rearm  []int
	got    int64
	alien  int64 // datagrams from no call's address (the foreign count of a shared socket)
	empty  int64 // completions without a buffer (a receive ended)
}

type benchCount struct {
	n int64
	_ [56]byte
}

func (r *benchRx) arm(i int) {
	for {
		e := r.ring.sqe()
		if e == nil {
			r.ring.enter(0, false, false)
			continue
		}
		e.opcode = uringOpRecvmsg
		e.fd = int32(r.fds[i])
		e.addr = uint64(uintptr(unsafe.Pointer(&r.msg)))
		e.len = 1
		e.ioprio = uringRecvMultishot
		e.flags = uringSQEBufferSelect
		e.bufIndex = r.bufs.bgid
		e.userData = uint64(i)
		return
	}
}

func (r *benchRx) complete(c *uringCQE) {
	i := int(c.userData)
	if c.flags&uringCQEFBuffer != 0 {
		bid := uint16(c.flags >> uringCQEBufferShift)
		buf := r.bufs.buf(bid)
		n := min(max(int(c.res), 0), len(buf))
		if n >= uringRxHeadRoom {
			call := i
			if r.byAddr != nil {
				src := sockaddrAddrPort((*unix.RawSockaddrInet6)(unsafe.Pointer(&buf[unsafe.Sizeof(uringRecvmsgOut{})])))
				k, ok := r.byAddr[src]
				call = int(k)
				if !ok {
					call = -1
				}
			}
			if call >= 0 {
				r.counts[call].n++
				r.got++
			} else {
				r.alien++
			}
		}
		clear(buf[:n])
		r.bufs.put(bid)
	} else {
		r.empty++
	}
	if c.flags&uringCQEFMore == 0 {
		r.rearm = append(r.rearm, i)
	}
}

func (r *benchRx) run(p *benchPhase, out *threadUse, evict []byte, ready chan<- error) {
	defer p.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ring, err := newIORing(uringRxSQ, uringRxCQ, uringSetupSubmitAll|uringSetupCoopTaskrun|uringSetupSingleIssuer|uringSetupDeferTaskrun)
	if err != nil {
		ready <- err
		return
	}
	defer ring.close()
	bufs, err := newBufRing(ring, 0, uringRxBufs, uringRxBufSize)
	if err != nil {
		ready <- err
		return
	}
	defer bufs.free()
	r.ring, r.bufs = ring, bufs
	r.msg.Namelen = uringRxNameRoom
	for i := range r.fds {
		r.arm(i)
	}
	ready <- nil
	w := window{p: p, out: out, evict: evict}
	for w.turn(r.got) {
		for range 4 {
			rearm := r.rearm
			r.rearm = nil
			for _, i := range rearm {
				r.arm(i)
			}
			for range 256 {
				r.bufs.publish()
				if err := r.ring.enter(0, true, false); err != nil {
					break
				}
				if r.ring.reap(r.complete) < uringLocalWorkBatch {
					break
				}
			}
			r.bufs.publish()
			if len(r.rearm) == 0 {
				break
			}
		}
		w.pause(rxPollDelay)
	}
}

func benchSharedSocket(b *testing.B, calls int, shape string) {
	// serve's sockets
	var serveFDs []int
	var serveTo []unix.RawSockaddrInet6 // where the callers send
	switch shape {
	case "percall":
		for range calls {
			fd, ap := benchSock(b, 0, false, DefaultRTPReceiveBuffer)
			serveFDs = append(serveFDs, fd)
			serveTo = append(serveTo, rawInet4(ap))
		}
	case "shared", "reuseport2":
		reuse := shape == "reuseport2"
		fd, ap := benchSock(b, 0, reuse, 4<<20)
		serveFDs = append(serveFDs, fd)
		serveTo = append(serveTo, rawInet4(ap))
		if reuse {
			fd2, _ := benchSock(b, ap.Port(), true, 4<<20)
			serveFDs = append(serveFDs, fd2)
		}
	}
	// the callers' sockets: one per call, distinct sources
	callerFDs := make([]int, calls)
	callerTo := make([]unix.RawSockaddrInet6, calls)
	byAddr := make(map[netip.AddrPort]int32, calls)
	for i := range calls {
		fd, ap := benchSock(b, 0, false, 0)
		callerFDs[i], callerTo[i] = fd, rawInet4(ap)
		byAddr[ap] = int32(i)
	}
	socks := func(fds []int) []*rawSock {
		out := make([]*rawSock, len(fds))
		for i, fd := range fds {
			out[i] = &rawSock{fd: fd}
		}
		return out
	}
	serveRx := &benchRx{fds: serveFDs, counts: make([]benchCount, calls)}
	if shape != "percall" {
		serveRx.byAddr = byAddr
	}
	callerRx := &benchRx{fds: callerFDs, counts: make([]benchCount, calls)}

	p := &benchPhase{}
	var use [4]threadUse // serve rx, serve tx, caller tx, caller rx
	fail := make(chan error, 8)
	ready := make(chan error, 2)
	p.wg.Add(4)
	evictKB, _ := strconv.Atoi(os.Getenv("PAYBRIDGE_BENCH_EVICT_KB"))
	evict := func() []byte { return make([]byte, max(evictKB, 0)<<10) }
	go serveRx.run(p, &use[0], evict(), ready)
	go callerRx.run(p, &use[3], nil, ready)
	for range 2 {
		if err := <-ready; err != nil {
			p.v.Store(phaseStop)
			p.wg.Wait()
			b.Fatalf("io_uring: %v", err)
		}
	}
	go benchSender(p, &use[1], evict(), os.Getenv("PAYBRIDGE_BENCH_TX") == "sendto", 10*time.Millisecond, calls, socks(serveFDs), callerTo, fail)
	go benchSender(p, &use[2], nil, false, 2*time.Millisecond, calls, socks(callerFDs), serveTo, fail)
	time.Sleep(time.Second)
	b.ResetTimer()
	p.v.Store(phaseMeasure)
	start := time.Now()
	for b.Loop() {
		time.Sleep(20 * time.Millisecond)
		select {
		case err := <-fail:
			p.v.Store(phaseStop)
			p.wg.Wait()
			b.Fatal(err)
		default:
		}
	}
	p.v.Store(phaseStop)
	wall := time.Since(start)
	b.StopTimer()
	p.wg.Wait()
	select {
	case err := <-fail:
		b.Fatal(err)
	default:
	}
	if serveRx.alien != 0 {
		b.Fatalf("%d datagrams from no call's address", serveRx.alien)
	}
	per := func(u threadUse) float64 { return float64(u.cpu) / float64(max(u.n, 1)) }
	perSys := func(u threadUse) float64 { return float64(u.sys) / float64(max(u.n, 1)) }
	b.ReportMetric(per(use[0]), "serve-rx-ns/dgram")
	b.ReportMetric(perSys(use[0]), "serve-rx-sys-ns/dgram")
	b.ReportMetric(per(use[1]), "serve-tx-ns/dgram")
	b.ReportMetric(perSys(use[1]), "serve-tx-sys-ns/dgram")
	b.ReportMetric(per(use[2]), "caller-tx-ns/dgram")
	b.ReportMetric(per(use[3]), "caller-rx-ns/dgram")
	b.ReportMetric((per(use[0])+per(use[1]))*50/1e6, "serve-ms/call-s")
	b.ReportMetric((per(use[2])+per(use[3]))*50/1e6, "caller-ms/call-s")
	b.ReportMetric(float64(use[0].n)/wall.Seconds()/float64(calls), "rx-pkts/call-s")
	b.ReportMetric(float64(use[2].n-use[0].n+use[1].n-use[3].n)/float64(b.N), "lost/op")
	b.ReportMetric(float64(serveRx.empty)/float64(max(serveRx.got, 1))*1000, "serve-rx-ends/1000dgram")
}
