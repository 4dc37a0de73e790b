//go:build linux && (amd64 || arm64)

package media

import (
	"encoding/binary"
	"os"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BenchmarkRxRound is the io_uring receiver's own work per datagram at 1,000 calls: each
// iteration is one completion as a round reaps it — the datagram written into a ring buffer
// (what the kernel's receive does, a copy of 216 bytes), uringRx.complete finding the socket by
// its key, handing the datagram to the session (source, payload type, SSRC and sequence
// checks, G.711 decoding, the DTMF stream when there is one), clearing the buffer and giving it
// back. The packets are spread over the 1,000 sessions in a shuffled order, one each per round
// as their 20 ms frames arrive, so what one packet touches of its session is seldom still in
// the cache: ns/op is ns per datagram. The clock is read once per 20 datagrams, as a round
// reads it once per io_uring_enter (which brings 20 sockets' work). "dtmf" feeds every session's dtmf.Stream (the real
// detector state of 1,000 calls), "bare" has none: the media package's part alone. No system
// call is made: the ring exists only for its buffers. cpu-ns/op is the benchmark thread's CPU
// time per datagram (CLOCK_THREAD_CPUTIME_ID): on a shared machine it moves far less than ns/op.
func BenchmarkRxRound(b *testing.B) {
	if os.Getenv(rtpIOEnv) == "epoll" {
		b.Skip("the epoll run")
	}
	for _, withDTMF := range []bool{false, true} {
		name := "bare"
		if withDTMF {
			name = "dtmf"
		}
		b.Run(name, func(b *testing.B) { benchRxRound(b, 1000, withDTMF) })
	}
}

func benchRxRound(b *testing.B, calls int, withDTMF bool) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	u := &uringRx{nbufs: uringRxBufs}
	if err := u.setup(); err != nil {
		b.Fatalf("io_uring: %v", err)
	}
	defer u.ring.close()
	defer u.bufs.free()
	ss := rxBenchSessions(calls, withDTMF)
	keys := make([]uint64, calls)
	for i, m := range ss {
		reg := &uringReg{id: uint64(i + 1), u: u, m: m, done: make(chan struct{})}
		u.register(reg)
		keys[i] = reg.key
	}
	// what the kernel writes for each session's datagram: io_uring_recvmsg_out, the source
	// (sockaddr_in6 room holding a sockaddr_in) and the RTP packet
	tmpl := make([][]byte, calls)
	for i := range ss {
		t := make([]byte, uringRxHeadRoom+12+160)
		out := (*uringRecvmsgOut)(unsafe.Pointer(&t[0]))
		out.namelen, out.payloadlen = unix.SizeofSockaddrInet4, 12+160
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&t[unsafe.Sizeof(uringRecvmsgOut{})]))
		peer := rxBenchPeer(i)
		sa.Family, sa.Addr = unix.AF_INET, peer.Addr().As4()
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], peer.Port())
		copy(t[uringRxHeadRoom:], rxBenchPacket(i))
		tmpl[i] = t
	}
	order := rxBenchOrder(calls)
	seq := make([]uint16, calls)
	var bid uint16
	k := 0
	rxBenchClock(u)
	b.ReportAllocs()
	b.ResetTimer()
	t0 := threadCPU()
	for b.Loop() {
		i := order[k]
		if k++; k == len(order) {
			k = 0
		}
		if k%uringLocalWorkBatch == 0 {
			rxBenchClock(u)
		}
		buf := u.bufs.buf(bid)
		n := copy(buf, tmpl[i])
		seq[i]++
		rtpHdr := buf[uringRxHeadRoom:]
		binary.BigEndian.PutUint16(rtpHdr[2:], seq[i])
		binary.BigEndian.PutUint32(rtpHdr[4:], uint32(seq[i])*160)
		u.complete(&uringCQE{userData: keys[i], res: int32(n), flags: uringCQEFBuffer | uringCQEFMore | uint32(bid)<<uringCQEBufferShift})
		bid = (bid + 1) & (uringRxBufs - 1)
	}
	b.StopTimer()
	b.ReportMetric(float64(threadCPU()-t0)/float64(b.N), "cpu-ns/op")
	rxBenchCheck(b, ss)
}
