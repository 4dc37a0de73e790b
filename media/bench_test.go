package media

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
)

func BenchmarkSDPAnswer(b *testing.B) {
	offer := readSDP(b, "baresip-pcmu-101.sdp")
	local := LocalMedia{IP: netip.MustParseAddr("192.0.2.1"), Port: 12000, SessionID: 42, Version: 1}
	b.ReportAllocs()
	for b.Loop() {
		s, err := ParseSDP(offer)
		if err != nil {
			b.Fatal(err)
		}
		p, err := Negotiate(s)
		if err != nil {
			b.Fatal(err)
		}
		BuildAnswer(s, p, local)
	}
}

// BenchmarkRTPReceive is one incoming 20 ms PCMU packet: checks, G.711 decode and the DTMF
// stream (in-band detector and RFC 4733 receiver).
func BenchmarkRTPReceive(b *testing.B) {
	m := newSession(nil, nil)
	m.stream = dtmf.NewStream(dtmf.StreamConfig{OnDigit: func(dtmf.Event) {}})
	m.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv, Remote: farEnd})
	p := &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 7}, Payload: make([]byte, 160)}
	b.ReportAllocs()
	var seq uint16
	for b.Loop() {
		seq++
		p.SequenceNumber = seq
		p.Timestamp += 160
		m.receive(p, farEnd)
	}
}

// BenchmarkRTPSend is one outgoing 20 ms PCMU packet: prompt samples, G.711 encode, header,
// and the sendto on a real loopback socket.
func BenchmarkRTPSend(b *testing.B) {
	sink := drainingSink(b, 0)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	m := newSession(conn, NewScheduler())
	m.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv,
		Remote: sink.LocalAddr().(*net.UDPAddr).AddrPort()})
	p := m.Params()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(keepAlive) // a packet goes out every frame
		m.sendFrame(&p, 160, now)
	}
}

// BenchmarkCallMediaSecond is the media cost of one call for one second: 50 packets in
// (decode + detection) and 50 out (encode + send). ns/op divided into 1 s is the number of
// calls one core can carry.
func BenchmarkCallMediaSecond(b *testing.B) {
	sink := drainingSink(b, 0)
	conn, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer conn.Close()
	m := newSession(conn, NewScheduler())
	m.stream = dtmf.NewStream(dtmf.StreamConfig{OnDigit: func(dtmf.Event) {}})
	m.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv,
		Remote: sink.LocalAddr().(*net.UDPAddr).AddrPort()})
	params := m.Params()
	in := &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 7}, Payload: make([]byte, 160)}
	b.ReportAllocs()
	var seq uint16
	now := time.Now()
	for b.Loop() {
		for i := 0; i < 50; i++ {
			seq++
			in.SequenceNumber = seq
			m.receive(in, sink.LocalAddr().(*net.UDPAddr).AddrPort())
			now = now.Add(keepAlive) // worst case: a prompt plays the whole second
			m.sendFrame(&params, 160, now)
		}
	}
	b.ReportMetric(float64(time.Second)/(float64(b.Elapsed())/float64(b.N)), "calls/core")
}

// benchCallMedia is one call-second of media through the session's real paths, for plain RTP
// (suite SuiteNone) and SRTP alike: 50 datagrams in (datagram: SRTP authentication and
// decryption when encrypted, the RTP checks, G.711 decoding, the in-band detector and RFC 4733
// receiver) and 50 out (sendFrame: G.711 encoding, SRTP encryption when encrypted, the sendto
// on a loopback socket). The far end's packets are prepared before the timer starts, so only
// this end's work is measured. ns/op divided into 1 s is the calls one core carries.
func benchCallMedia(b *testing.B, suite SRTPSuite) {
	sink := drainingSink(b, 0)
	conn, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer conn.Close()
	m := newSession(conn, NewScheduler())
	m.stream = dtmf.NewStream(dtmf.StreamConfig{OnDigit: func(dtmf.Event) {}})
	farEnd := sink.LocalAddr().(*net.UDPAddr).AddrPort()
	params := Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv, Remote: farEnd}
	var peer *SRTP
	var farKey *Crypto
	if suite != SuiteNone {
		farKey, _ = NewCrypto(1, suite)
		params.Proto, params.Crypto = "RTP/SAVP", farKey
	}
	if err := m.SetParams(params); err != nil {
		b.Fatal(err)
	}
	if suite != SuiteNone {
		var err error
		if peer, err = NewSRTP(farKey, m.LocalCrypto()); err != nil {
			b.Fatal(err)
		}
	}
	// A ring of the far end's packets (20 ms of speech-level noise each), protected when
	// encrypted. When it wraps, the receive context and sequence state start over, so the
	// same packets are fresh again (a new context costs a few µs per 4096 packets).
	const ring = 4096
	pkts := make([][]byte, ring)
	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = int16((i*7919)%4000 - 2000)
	}
	for i := range pkts {
		h := rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i), Timestamp: uint32(i * 160), SSRC: 7}
		raw, _ := h.Marshal()
		raw = append(raw, make([]byte, 160)...)
		PCMU.Encode(raw[12:], pcm)
		if peer != nil {
			raw, _ = peer.Protect(nil, raw)
		}
		pkts[i] = raw
	}
	buf := make([]byte, 2048)
	var pkt rtp.Packet
	p := m.Params()
	b.ReportAllocs()
	i := 0
	now := time.Now()
	for b.Loop() {
		for j := 0; j < 50; j++ {
			if i == ring {
				i = 0
				m.rxStarted, m.rxStartedSSRC = false, false
				if suite != SuiteNone {
					rx, _ := newSRTPRx(farKey.clone())
					m.rx.Store(rx)
				}
			}
			n := copy(buf, pkts[i])
			i++
			m.datagram(buf[:n], farEnd, &pkt)
			now = now.Add(keepAlive) // worst case: a prompt plays the whole second
			m.sendFrame(&p, 160, now)
		}
	}
	b.ReportMetric(float64(time.Second)/(float64(b.Elapsed())/float64(b.N)), "calls/core")
	if st := m.Stats(); st.SRTPAuthFailed != 0 || st.Received == 0 {
		b.Fatalf("stats %+v", st)
	}
}

// BenchmarkCallMediaSecondRTP and BenchmarkCallMediaSecondSRTP are the same call-second, plain
// and encrypted with the suite paybridge prefers (AES_CM_128_HMAC_SHA1_80); their ratio is what
// SRTP costs per call (docs/sip.md).
func BenchmarkCallMediaSecondRTP(b *testing.B)  { benchCallMedia(b, SuiteNone) }
func BenchmarkCallMediaSecondSRTP(b *testing.B) { benchCallMedia(b, AES_CM_128_HMAC_SHA1_80) }

// BenchmarkCallMediaSecondSRTPGCM is the same with AEAD_AES_128_GCM.
func BenchmarkCallMediaSecondSRTPGCM(b *testing.B) { benchCallMedia(b, AEAD_AES_128_GCM) }

// drainingSink is a loopback socket that reads and drops whatever reaches it until the test
// ends: the far end of the send benchmarks. rcvbuf, if not 0, is its SO_RCVBUF request.
func drainingSink(tb testing.TB, rcvbuf int) *net.UDPConn {
	tb.Helper()
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sink.Close() })
	if rcvbuf > 0 {
		sink.SetReadBuffer(rcvbuf)
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := sink.ReadFromUDP(buf); err != nil {
				return
			}
		}
	}()
	return sink
}

// benchCalls is the number of calls of the many-call benchmarks: PAYBRIDGE_BENCH_CALLS, or 500.
func benchCalls() int {
	if v, err := strconv.Atoi(os.Getenv("PAYBRIDGE_BENCH_CALLS")); err == nil && v >= 10 {
		return v
	}
	return 500
}
