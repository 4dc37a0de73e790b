//go:build linux && (amd64 || arm64)

package media

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/pion/rtp"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/paybridge/paybridge/dtmf"
)

// needUring returns the io_uring receiver, or skips the test in the epoll run
// (PAYBRIDGE_RTP_IO=epoll: make test's test-media-io). Everywhere else io_uring is the
// process's path, and a process that could not set it up fails: a kernel without it has to be
// tested with PAYBRIDGE_RTP_IO=epoll, said so.
func needUring(t *testing.T) *uringRx {
	t.Helper()
	if os.Getenv(rtpIOEnv) == "epoll" {
		t.Skip("the epoll run (" + rtpIOEnv + "=epoll, make test-media-io): these tests are of the io_uring path")
	}
	u := uringRxShared()
	if u == nil {
		t.Fatalf("io_uring is the default path, but it could not be set up here: %v (on such a kernel test with %s=epoll)", sharedURx.err, rtpIOEnv)
	}
	return u
}

// TestRTPIOChoice: io_uring unless the environment chooses epoll (RTPIO tells which).
func TestRTPIOChoice(t *testing.T) {
	for v, want := range map[string]int{"": rtpIOUring, "uring": rtpIOUring, "epoll": rtpIOEpoll, "io_uring": rtpIOUring} {
		if got := rtpIOFor(v); got != want {
			t.Errorf("%s=%q chooses %d, want %d", rtpIOEnv, v, got, want)
		}
	}
	got := RTPIO()
	if os.Getenv(rtpIOEnv) != "epoll" {
		if got != "io_uring" || uringTxShared() == nil {
			t.Fatalf("%s=%q, RTPIO %q (receiver: %v, sender: %v)", rtpIOEnv, os.Getenv(rtpIOEnv), got, sharedURx.err, sharedUTx.err)
		}
		return
	}
	if got != "epoll" || uringTxShared() != nil {
		t.Fatalf("%s=epoll: RTPIO %q, want the epoll path", rtpIOEnv, got)
	}
}

// newKeyStream is a DTMF stream and what it detected so far.
func newKeyStream() (*dtmf.Stream, func() string) {
	var mu sync.Mutex
	var keys []byte
	st := dtmf.NewStream(dtmf.StreamConfig{OnDigit: func(e dtmf.Event) {
		mu.Lock()
		keys = append(keys, byte(e.Digit))
		mu.Unlock()
	}})
	return st, func() string { mu.Lock(); defer mu.Unlock(); return string(keys) }
}

// keyedDatagrams are a far end's RTP datagrams keying '5' in-band (200 ms of the tone pair in
// PCMU, silence around it) and '7' as RFC 4733 telephone-events, from SSRC ssrc.
func keyedDatagrams(t *testing.T, ssrc uint32) [][]byte {
	t.Helper()
	opt := dtmf.DefaultToneOptions()
	opt.Duration = 200 * time.Millisecond
	pcm := append(make([]int16, 160*3), dtmf.GenerateDigit('5', opt)...)
	pcm = append(pcm, make([]int16, 160*10)...)
	var out [][]byte
	seq, ts := uint16(1), uint32(0)
	for i := 0; i+160 <= len(pcm); i += 160 {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc},
			Payload: make([]byte, 160)}
		PCMU.Encode(p.Payload, pcm[i:i+160])
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
		seq++
		ts += 160
	}
	// '7': event 7, volume 10, durations 160…960, the end packet three times
	for i, d := range []uint16{160, 320, 480, 640, 800, 960, 960, 960} {
		flags := byte(10)
		if i >= 5 {
			flags |= 0x80
		}
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc, Marker: i == 0},
			Payload: []byte{7, flags, byte(d >> 8), byte(d)}}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
		seq++
	}
	return out
}

// holdsAny reports whether mem contains any of the datagrams (whole: header with the SSRC
// and payload).
func holdsAny(mem []byte, dgs [][]byte) int {
	n := 0
	for _, d := range dgs {
		if bytes.Contains(mem, d) {
			n++
		}
	}
	return n
}

// TestUringReceiveBuffersCleared: the io_uring receiver's provided buffers carry every call's
// datagrams — in-band key tones, RFC 4733 payloads naming keys. After a far end keyed '5'
// in-band and '7' over RFC 4733 and the session detected both, no byte of any of those
// datagrams is left in the ring's memory. Control: with clearing off the same scan finds them.
func TestUringReceiveBuffersCleared(t *testing.T) {
	u := needUring(t)
	run := func(ssrc uint32) [][]byte {
		peer := listenLoopback(t)
		defer peer.Close()
		sched := NewScheduler()
		defer sched.Close()
		st, keys := newKeyStream()
		m := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched, DTMF: st})
		m.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv, Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort()})
		m.Start()
		defer m.Close()
		dgs := keyedDatagrams(t, ssrc)
		dst := netip.AddrPortFrom(lo, uint16(m.Port()))
		for _, d := range dgs {
			if _, err := peer.WriteToUDPAddrPort(d, dst); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond)
		}
		deadline := time.Now().Add(10 * time.Second)
		for m.Stats().Received < int64(len(dgs)) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if got := m.Stats().Received; got != int64(len(dgs)) {
			t.Fatalf("received %d of %d datagrams", got, len(dgs))
		}
		for keys() != "57" && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if keys() != "57" {
			t.Fatalf("keys detected %q, want 57", keys())
		}
		return dgs
	}

	uringKeepBytes = true
	control := run(0xC0FFEE01)
	uringKeepBytes = false
	if n := holdsAny(u.bufs.bufs, control); n == 0 {
		t.Fatal("control: with clearing off the scan finds none of the datagrams; it cannot find what it should")
	}
	dgs := run(0xC0FFEE02)
	if n := holdsAny(u.bufs.bufs, dgs); n != 0 {
		t.Fatalf("%d of the %d keyed datagrams are still in the receive ring's buffers", n, len(dgs))
	}
	clear(u.bufs.bufs) // the control's bytes go too (the ring is idle between rounds' handling only; the test owns these bytes' content)
}

// TestUringSendSlotsCleared: the io_uring sender copies each packet into a slot until its
// completion; then the slot is cleared. After a session sent an in-band key as a prompt and
// an RFC 4733 key, the slots hold none of the packets the peer received. Control: with
// clearing off the scan finds them. Both ways of sending run where the kernel has both: a
// send naming its destination (IORING_OP_SEND with addr2, the probe found it) and a sendmsg.
func TestUringSendSlotsCleared(t *testing.T) {
	needUring(t)
	tx := uringTxShared()
	if tx == nil {
		t.Fatalf("io_uring receiver up, sender not: %v", sharedUTx.err)
	}
	probed := tx.sendTo
	t.Logf("the kernel sends IORING_OP_SEND to a destination: %v", probed)
	defer func() { tx.mu.Lock(); tx.sendTo = probed; tx.mu.Unlock() }()
	for _, sendTo := range []bool{false, true} {
		if sendTo && !probed {
			continue
		}
		tx.mu.Lock()
		tx.sendTo = sendTo
		tx.mu.Unlock()
		t.Run(map[bool]string{false: "sendmsg", true: "send"}[sendTo], func(t *testing.T) { sendSlotsCleared(t, tx) })
	}
}

func sendSlotsCleared(t *testing.T, tx *uringTx) {
	run := func() [][]byte {
		peer := listenLoopback(t)
		defer peer.Close()
		sched := NewScheduler()
		defer sched.Close()
		m := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched})
		m.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv, Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort()})
		m.Start()
		defer m.Close()
		opt := dtmf.DefaultToneOptions()
		opt.Duration = 100 * time.Millisecond
		if err := m.Play(context.Background(), dtmf.GenerateDigit('3', opt)); err != nil {
			t.Fatal(err)
		}
		if err := m.SendDigit('9', 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		var got [][]byte
		var events int
		buf := make([]byte, 2048)
		peer.SetReadDeadline(time.Now().Add(10 * time.Second))
		for events < 3 { // the key's end packet goes three times
			n, _, err := peer.ReadFromUDPAddrPort(buf)
			if err != nil {
				t.Fatalf("after %d packets: %v", len(got), err)
			}
			d := append([]byte(nil), buf[:n]...)
			got = append(got, d)
			var p rtp.Packet
			if p.Unmarshal(d) == nil && p.PayloadType == 101 && len(p.Payload) == 4 && p.Payload[1]&0x80 != 0 {
				events++
			}
		}
		tx.flush() // nothing of the session's is queued any more (Close would also have done it)
		return got
	}

	uringKeepBytes = true
	control := run()
	uringKeepBytes = false
	if n := holdsAny(tx.slots, control); n == 0 {
		t.Fatal("control: with clearing off the scan finds none of the sent packets; it cannot find what it should")
	}
	tx.mu.Lock()
	clear(tx.slots) // the control's bytes
	tx.mu.Unlock()
	pkts := run()
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if n := holdsAny(tx.slots, pkts); n != 0 {
		t.Fatalf("%d of the %d sent packets (an in-band key, an RFC 4733 key) are still in the send slots", n, len(pkts))
	}
}

// TestUringCloseReleasesSocket: Close waits until the ring holds no receive of the session's
// socket. The kernel holds a socket while a request on it lives, so its port could not be
// bound again if the multishot receive outlived Close; and nothing sent after stopReceiving
// reaches the session.
func TestUringCloseReleasesSocket(t *testing.T) {
	needUring(t)
	peer := listenLoopback(t)
	defer peer.Close()
	sched := NewScheduler()
	defer sched.Close()
	m := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched})
	m.SetParams(Params{Codec: PCMU, EventPT: -1, PTime: 20, Direction: SendRecv, Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort()})
	m.Start()
	port := m.Port()
	dst := netip.AddrPortFrom(lo, uint16(port))
	peer.WriteToUDPAddrPort(pcmuPacket(t, 1, 0xFF), dst)
	deadline := time.Now().Add(5 * time.Second)
	for m.Stats().Received == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if m.Stats().Received != 1 {
		t.Fatal("the session received nothing")
	}
	m.stopReceiving()
	for i := range 5 {
		peer.WriteToUDPAddrPort(pcmuPacket(t, uint16(2+i), 0xFF), dst)
	}
	time.Sleep(4 * rxPollDelay)
	if got := m.Stats().Received; got != 1 {
		t.Fatalf("after stopReceiving the session received %d more", got-1)
	}
	reg := m.sock.Load().rx
	m.Close()
	select {
	case <-reg.done:
	default:
		t.Fatal("Close returned while the ring still held the socket's receive")
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatalf("the port of a closed session is still bound: %v", err)
	}
	c.Close()
}

// startSessions starts n sessions on loopback sending to peer.
func startSessions(t *testing.T, sched *Scheduler, n int, peer *net.UDPConn) []*Session {
	t.Helper()
	var ss []*Session
	for range n {
		s := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched})
		s.SetParams(Params{Codec: PCMU, EventPT: -1, PTime: 20, Direction: SendRecv, Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort()})
		s.Start()
		ss = append(ss, s)
	}
	t.Cleanup(func() {
		for _, s := range ss {
			s.Close()
		}
	})
	return ss
}

// sendEach writes count packets (sequence numbers from seq) to every session, many to a
// sendmmsg.
func sendEach(t *testing.T, peer *net.UDPConn, ss []*Session, seq uint16, count int) {
	t.Helper()
	pc := ipv4.NewPacketConn(peer)
	var msgs []ipv4.Message
	for k := range count {
		for _, s := range ss {
			msgs = append(msgs, ipv4.Message{Buffers: [][]byte{pcmuPacket(t, seq+uint16(k), 0xFF)},
				Addr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: s.Port()}})
		}
	}
	for len(msgs) > 0 {
		n, err := pc.WriteBatch(msgs, 0)
		if err != nil {
			t.Fatal(err)
		}
		msgs = msgs[n:]
	}
}

func waitAllReceived(t *testing.T, ss []*Session, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range ss {
		for s.Stats().Received < want && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		if got := s.Stats().Received; got != want {
			t.Fatalf("session on port %d received %d, want %d", s.Port(), got, want)
		}
	}
}

// TestUringBurstBeyondBuffers: more datagrams wait than the ring has buffers (a receiver
// with 16 of them here): the receives that find none end (ENOBUFS) and are armed again, and
// every datagram still reaches its session, in order, none lost.
func TestUringBurstBeyondBuffers(t *testing.T) {
	needUring(t)
	u, err := startUringRx(16)
	if err != nil {
		t.Fatal(err)
	}
	defer close(u.quit)
	peer := listenLoopback(t)
	defer peer.Close()
	sched := NewScheduler()
	defer sched.Close()
	const calls, each = 10, 40 // 400 datagrams for 16 buffers
	var ss []*Session
	for range calls {
		conn := listenLoopback(t)
		m := NewSession(conn, SessionConfig{Scheduler: sched})
		m.SetParams(Params{Codec: PCMU, EventPT: -1, PTime: 20, Direction: SendRecv, Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort()})
		s, err := takeSocket(conn)
		if err != nil {
			t.Fatal(err)
		}
		m.sock.Store(s)
		u.add(m, s) // this receiver, not the process's
		ss = append(ss, m)
	}
	defer func() {
		for _, m := range ss {
			m.stopReceiving()
			m.sock.Load().close()
		}
	}()
	sendEach(t, peer, ss, 10, each)
	waitAllReceived(t, ss, each)
	for _, s := range ss {
		if st := s.Stats(); st.Lost != 0 || st.Dropped != 0 {
			t.Fatalf("session on port %d: %+v", s.Port(), st)
		}
	}
	if u.disarmed.Load() == 0 {
		t.Fatalf("%d datagrams for 16 buffers ended no receive: the test did not reach the case", calls*each)
	}
}

// TestUringOneRoundServesManySockets: the receive work of many sockets runs in one round's
// single system call — not 20 sockets a call, the kernel's default for deferred work.
func TestUringOneRoundServesManySockets(t *testing.T) {
	u := needUring(t)
	peer := listenLoopback(t)
	defer peer.Close()
	sched := NewScheduler()
	defer sched.Close()
	const calls = 300
	ss := startSessions(t, sched, calls, peer)
	time.Sleep(4 * rxPollDelay)
	best := int64(1 << 62)
	for k := range 3 { // on a busy machine one try may straddle rounds
		r0 := u.rounds.Load()
		sendEach(t, peer, ss, uint16(10+k), 1)
		waitAllReceived(t, ss, int64(k+1))
		best = min(best, u.rounds.Load()-r0)
		time.Sleep(2 * rxPollDelay)
	}
	// 300 sockets at 20 (or 40) a call would take 8 rounds or more
	if best > 3 {
		t.Fatalf("%d sockets' datagrams took %d rounds at best", calls, best)
	}
}

// BenchmarkUringSendTick is the io_uring sender's cost per packet: a tick's worth of packets
// (200 sockets, one 172-byte packet each, to a sink on loopback that another goroutine drains)
// queued and sent with one flush — the scheduler's tick without the session's own work. The
// sub-benchmarks are the two ways a slot's packet goes: a sendmsg SQE (msghdr, iovec), and a
// send naming its destination (where the kernel takes one); and, for comparison, the epoll
// path's sendto per packet. cpu-ns/pkt is the flushing
// thread's CPU time (CLOCK_THREAD_CPUTIME_ID: user and kernel, the loopback delivery
// included) per packet; a busy machine moves it less than ns/op.
func BenchmarkUringSendTick(b *testing.B) {
	if os.Getenv(rtpIOEnv) == "epoll" {
		b.Skip("the epoll run")
	}
	tx := uringTxShared()
	if tx == nil {
		b.Fatalf("no io_uring sender: %v", sharedUTx.err)
	}
	sink := drainingSink(b, 4<<20)
	const socks = 200
	var ss []*rawSock
	for range socks {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		s, err := takeSocket(c)
		if err != nil {
			b.Fatal(err)
		}
		ss = append(ss, s)
	}
	defer func() {
		for _, s := range ss {
			s.close()
		}
	}()
	var sa unix.RawSockaddrInet6
	in4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa))
	in4.Family = unix.AF_INET
	port := sink.LocalAddr().(*net.UDPAddr).Port
	in4.Port = uint16(port>>8) | uint16(port&0xff)<<8
	in4.Addr = [4]byte{127, 0, 0, 1}
	pkt := make([]byte, 172)
	probed := tx.sendTo
	defer func() { tx.mu.Lock(); tx.sendTo = probed; tx.mu.Unlock() }()
	for _, sendTo := range []bool{false, true} {
		if sendTo && !probed {
			continue
		}
		b.Run(map[bool]string{false: "sendmsg", true: "send"}[sendTo], func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			tx.mu.Lock()
			tx.sendTo = sendTo
			tx.mu.Unlock()
			t0 := threadCPU()
			for b.Loop() {
				for _, s := range ss {
					s.mu.Lock()
					ok := tx.queue(s, pkt, &sa, unix.SizeofSockaddrInet4)
					s.mu.Unlock()
					if !ok {
						b.Fatal("the sender did not take the packet")
					}
				}
				tx.flush()
			}
			b.ReportMetric(float64(threadCPU()-t0)/float64(b.N*socks), "cpu-ns/pkt")
		})
	}
	// the epoll path's way, for comparison: one sendto per packet
	b.Run("sendto", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		t0 := threadCPU()
		for b.Loop() {
			for _, s := range ss {
				if _, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(unsafe.Pointer(&pkt[0])), uintptr(len(pkt)),
					unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&sa)), unix.SizeofSockaddrInet4); e != 0 && e != unix.EAGAIN {
					b.Fatal(e)
				}
			}
		}
		b.ReportMetric(float64(threadCPU()-t0)/float64(b.N*socks), "cpu-ns/pkt")
	})
}

// TestUringRegistrySlots: a completion finds its socket by the slot in its user_data, and one
// that names a socket since finished — its slot taken by another — reaches neither.
func TestUringRegistrySlots(t *testing.T) {
	u := &uringRx{}
	a := &uringReg{id: 1, done: make(chan struct{})}
	b := &uringReg{id: 2, done: make(chan struct{})}
	u.register(a)
	u.register(b)
	if u.lookup(a.key) != a || u.lookup(b.key) != b || a.slot == b.slot {
		t.Fatalf("lookup of two sockets: slots %d, %d", a.slot, b.slot)
	}
	u.finish(a)
	c := &uringReg{id: 3, done: make(chan struct{})}
	u.register(c)
	if c.slot != a.slot {
		t.Fatalf("a finished socket's slot %d is not reused (got %d)", a.slot, c.slot)
	}
	if got := u.lookup(a.key); got != nil {
		t.Fatalf("a completion of the finished socket reached socket %d", got.id)
	}
	if u.lookup(c.key) != c || u.lookup(b.key) != b {
		t.Fatal("the live sockets are not found")
	}
	if u.lookup(uint64(99)<<uringSlotBits|77) != nil {
		t.Fatal("a key beyond the table found a socket")
	}
	u.finish(a) // twice: nothing freed again
	if len(u.free) != 0 {
		t.Fatalf("finishing twice freed slot(s) %v", u.free)
	}
}
