//go:build linux && (amd64 || arm64)

package media

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
)

// BenchmarkRxDatagrams is the receive path both shared receivers run per datagram
// (datagramAt, decoding into the receiver's buffer) at 1,000 calls: packets spread over
// the sessions in a shuffled order, one each per round, so each packet's session state is
// seldom still in the cache. ns/op is ns per datagram; "dtmf" feeds every session's
// dtmf.Stream, "bare" has none (the media package's part alone); cpu-ns/op is the thread's
// CPU time per datagram.
func BenchmarkRxDatagrams(b *testing.B) {
	for _, withDTMF := range []bool{false, true} {
		name := "bare"
		if withDTMF {
			name = "dtmf"
		}
		b.Run(name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			const calls = 1000
			ss := rxBenchSessions(calls, withDTMF)
			pkts := make([][]byte, calls)
			for i := range pkts {
				pkts[i] = rxBenchPacket(i)
			}
			order := rxBenchOrder(calls)
			seq := make([]uint16, calls)
			buf := make([]byte, 2048)
			var pcm [rxPCMLen]int16
			var pkt rtp.Packet
			k := 0
			b.ReportAllocs()
			b.ResetTimer()
			t0 := threadCPU()
			for b.Loop() {
				i := order[k]
				if k++; k == len(order) {
					k = 0
				}
				n := copy(buf, pkts[i])
				seq[i]++
				binary.BigEndian.PutUint16(buf[2:], seq[i])
				binary.BigEndian.PutUint32(buf[4:], uint32(seq[i])*160)
				ss[i].datagramAt(buf[:n], rxBenchPeer(i), &pkt, pcm[:], time.Now())
				clear(buf[:n])
				clear(pcm[:])
			}
			b.StopTimer()
			b.ReportMetric(float64(threadCPU()-t0)/float64(b.N), "cpu-ns/op")
			rxBenchCheck(b, ss)
		})
	}
}

// rxBenchPeer is the far end of benchmark session i: a distinct address and port per call.
func rxBenchPeer(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, byte(100 + i/250), byte(1 + i%250)}), uint16(20000+2*i))
}

// rxBenchPacket is a 20 ms PCMU packet of session i (speech-level noise; sequence number and
// timestamp are set per datagram).
func rxBenchPacket(i int) []byte {
	h := rtp.Header{Version: 2, PayloadType: 0, SSRC: uint32(0x1000 + i)}
	raw, _ := h.Marshal()
	pcm := make([]int16, 160)
	for j := range pcm {
		pcm[j] = int16((j*7919+i*131)%4000 - 2000)
	}
	raw = append(raw, make([]byte, 160)...)
	PCMU.Encode(raw[12:], pcm)
	return raw
}

// rxBenchSessions are calls sessions as a call has them when media flows: parameters from an
// answer naming the far end, started.
func rxBenchSessions(calls int, withDTMF bool) []*Session {
	ss := make([]*Session, calls)
	for i := range ss {
		m := newSession(nil, nil)
		if withDTMF {
			m.stream = dtmf.NewStream(dtmf.StreamConfig{OnDigit: func(dtmf.Event) {}})
		}
		m.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv, Remote: rxBenchPeer(i)})
		ss[i] = m
	}
	return ss
}

// rxBenchOrder is the order in which one round's datagrams reach their sessions: shuffled,
// fixed.
func rxBenchOrder(calls int) []int {
	r := rand.New(rand.NewPCG(1, 2))
	return r.Perm(calls)
}

// rxBenchCheck fails the benchmark unless every datagram was accepted as in-sequence media.
func rxBenchCheck(b *testing.B, ss []*Session) {
	var got int64
	for _, m := range ss {
		st := m.Stats()
		if st.Dropped != 0 || st.Lost != 0 || st.Foreign != 0 {
			b.Fatalf("session stats %+v: the benchmark's datagrams were not all accepted", st)
		}
		got += st.Received
	}
	if got == 0 {
		b.Fatal("no datagram was received")
	}
}
