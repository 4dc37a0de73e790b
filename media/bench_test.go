package media

import (
	"net"
	"net/netip"
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
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := sink.ReadFromUDP(buf); err != nil {
				return
			}
		}
	}()
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
		m.sendFrame(p, 160, now)
	}
}

// BenchmarkCallMediaSecond is the media cost of one call for one second: 50 packets in
// (decode + detection) and 50 out (encode + send). ns/op divided into 1 s is the number of
// calls one core can carry.
func BenchmarkCallMediaSecond(b *testing.B) {
	sink, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer sink.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := sink.ReadFromUDP(buf); err != nil {
				return
			}
		}
	}()
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
			m.sendFrame(params, 160, now)
		}
	}
	b.ReportMetric(float64(time.Second)/(float64(b.Elapsed())/float64(b.N)), "calls/core")
}
