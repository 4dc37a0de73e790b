package media

import (
	"math"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
)

// recordingStream is a DTMFStream that records what the media layer fed it.
type recordingStream struct {
	mu     sync.Mutex
	audio  int // samples
	gaps   []int
	events []uint16 // sequence numbers of telephone-events
}

func (r *recordingStream) Audio(pcm []int16) { r.mu.Lock(); r.audio += len(pcm); r.mu.Unlock() }
func (r *recordingStream) Gap(n int)         { r.mu.Lock(); r.gaps = append(r.gaps, n); r.mu.Unlock() }
func (r *recordingStream) TelephoneEvent(ts uint32, seq uint16, p []byte) error {
	r.mu.Lock()
	r.events = append(r.events, seq)
	r.mu.Unlock()
	return nil
}
func (r *recordingStream) Info(string, []byte) error { return nil }
func (r *recordingStream) Advance(time.Duration)     {}

func newTestMedia(t *testing.T) (*Session, *recordingStream) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	m := newSession(conn, NewScheduler())
	m.source.sigIP = netip.MustParseAddr("127.0.0.1")
	st := &recordingStream{}
	m.stream = st
	m.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv,
		Remote: netip.MustParseAddrPort("127.0.0.1:40000")})
	t.Cleanup(func() { conn.Close() })
	return m, st
}

func pkt(pt uint8, seq uint16, ssrc uint32) *rtp.Packet {
	return &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: ssrc}, Payload: make([]byte, 160)}
}

var farEnd = netip.MustParseAddrPort("127.0.0.1:40000")

// tone returns a 440 Hz prompt of d.
func tone(d time.Duration) []int16 {
	out := make([]int16, int(d.Seconds()*8000))
	for i := range out {
		out[i] = int16(4000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	return out
}

func TestSequenceWrapAndGaps(t *testing.T) {
	m, st := newTestMedia(t)
	for _, seq := range []uint16{65533, 65534, 65535, 0, 1, 4, 4, 3, 5} { // wrap, loss of 2-3, dup, late
		m.receive(pkt(0, seq, 7), farEnd)
	}
	if st.audio != 7*160 {
		t.Errorf("audio fed: %d samples, want %d (dup and late dropped)", st.audio, 7*160)
	}
	if len(st.gaps) != 1 || st.gaps[0] != 2*160 {
		t.Errorf("gaps %v, want one of 320 samples (seq 2 and 3 lost)", st.gaps)
	}
	if got := m.lost.Load(); got != 2 {
		t.Errorf("lost %d, want 2", got)
	}
}

func TestPayloadTypeAndSSRCChecks(t *testing.T) {
	m, st := newTestMedia(t)
	m.receive(pkt(0, 10, 7), farEnd)
	m.receive(pkt(96, 11, 7), farEnd) // not negotiated
	m.receive(pkt(0, 12, 99), farEnd) // another SSRC, once: ignored
	m.receive(pkt(101, 13, 7), farEnd)
	if st.audio != 160 || len(st.events) != 1 {
		t.Fatalf("audio %d events %d", st.audio, len(st.events))
	}
	// A new SSRC that persists for learnAfter in-sequence packets is adopted (re-INVITE,
	// transfer) with a fresh sequence space.
	for seq := uint16(500); seq < 500+learnAfter+2; seq++ {
		m.receive(pkt(0, seq, 99), farEnd)
	}
	if st.audio <= 160 {
		t.Fatal("persistent new SSRC never adopted")
	}
}

// The reader keeps what it needs of the Params among its own state (rxView): every new
// Params is seen by the next packet — the payload types, the law that decodes the audio and
// the frame a loss is counted in — exactly as a per-packet read of curParams sees it.
func TestReceiveFollowsNewParams(t *testing.T) {
	m, st := newTestMedia(t)
	dtmfSt := func() (int, int) { st.mu.Lock(); defer st.mu.Unlock(); return st.audio, len(st.events) }
	m.receive(pkt(0, 1, 7), farEnd)
	m.receive(pkt(101, 2, 7), farEnd)
	if a, e := dtmfSt(); a != 160 || e != 1 {
		t.Fatalf("PCMU/101: audio %d events %d, want 160 and 1", a, e)
	}
	// a re-INVITE's answer: PCMA on 8, telephone-event on 96, 30 ms
	m.SetParams(Params{Codec: PCMA, EventPT: 96, PTime: 30, Direction: SendRecv, Remote: farEnd})
	m.receive(pkt(0, 3, 7), farEnd)   // PCMU's type: no longer audio
	m.receive(pkt(101, 4, 7), farEnd) // the old event type: dropped
	alaw := pkt(8, 5, 7)
	for i := range alaw.Payload {
		alaw.Payload[i] = 0x2a // A-law, not silence in either law
	}
	m.receive(alaw, farEnd)
	m.receive(pkt(96, 6, 7), farEnd)
	if a, e := dtmfSt(); a != 320 || e != 2 {
		t.Fatalf("after SetParams: audio %d events %d, want 320 and 2", a, e)
	}
	if want := dtmf.ALawToLinear(0x2a); m.rxPCM[0] != want {
		t.Fatalf("decoded %d, want A-law's %d", m.rxPCM[0], want)
	}
	if d := m.dropped.Load(); d != 2 {
		t.Fatalf("dropped %d, want 2", d)
	}
	// the frame a loss is counted in comes from the new Params too (no audio packet of its own
	// yet: a fresh session)
	m2, st2 := newTestMedia(t)
	m2.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 30, Direction: SendRecv, Remote: farEnd})
	m2.receive(pkt(101, 1, 7), farEnd)
	m2.receive(pkt(101, 3, 7), farEnd)
	if len(st2.gaps) != 1 || st2.gaps[0] != 240 {
		t.Fatalf("gaps %v, want one of 240 samples (30 ms)", st2.gaps)
	}
}

func TestBadRTPDropped(t *testing.T) {
	m, st := newTestMedia(t)
	m.Start()
	defer m.Close()
	c, _ := net.DialUDP("udp", nil, m.conn.LocalAddr().(*net.UDPAddr))
	defer c.Close()
	c.Write([]byte{0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7}) // version 1
	c.Write([]byte{0x80, 0})                               // short
	c.Write([]byte("INVITE sip:x SIP/2.0\r\n\r\n"))
	time.Sleep(100 * time.Millisecond)
	if st.audio != 0 || m.dropped.Load() != 3 {
		t.Fatalf("audio %d, dropped %d", st.audio, m.dropped.Load())
	}
}

func FuzzReceiveRTP(f *testing.F) {
	good, _ := pkt(0, 1, 7).Marshal()
	ev, _ := pkt(101, 2, 7).Marshal()
	f.Add(good)
	f.Add(ev)
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		m := newSession(nil, nil) // receive touches neither the socket nor the scheduler
		m.stream = dtmf.NewStream(dtmf.StreamConfig{OnDigit: func(dtmf.Event) {}})
		m.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv, Remote: farEnd})
		var p rtp.Packet
		if len(b) < 12 || b[0]>>6 != 2 || p.Unmarshal(b) != nil {
			return
		}
		m.receive(&p, farEnd)
	})
}

func TestSilenceSuppressionAndMarker(t *testing.T) {
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	m, _ := newTestMedia(t)
	m.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv,
		Remote: sink.LocalAddr().(*net.UDPAddr).AddrPort()})
	p := m.Params()
	now := time.Now()
	frame := func() bool { now = now.Add(20 * time.Millisecond); return m.sendFrame(&p, 160, now) }
	if !frame() {
		t.Fatal("the first frame must go out (it opens the stream)")
	}
	for i := 0; i < 10; i++ {
		if frame() {
			t.Fatal("silence between prompts must be suppressed")
		}
	}
	m.play = &playback{pcm: tone(100 * time.Millisecond), done: make(chan struct{})}
	for i := 0; i < 5; i++ {
		if !frame() {
			t.Fatal("prompt frames must go out")
		}
	}
	for i := 0; i < 60; i++ {
		frame()
	}
	buf := make([]byte, 2048)
	var pkts []rtp.Packet
	sink.SetReadDeadline(time.Now().Add(time.Second))
	for {
		n, _, err := sink.ReadFromUDP(buf)
		if err != nil {
			break
		}
		var pk rtp.Packet
		pk.Unmarshal(append([]byte(nil), buf[:n]...))
		pkts = append(pkts, pk)
		if len(pkts) == 7 {
			break
		}
	}
	// first packet, 5 prompt frames, one keep-alive about a second later
	if len(pkts) != 7 {
		t.Fatalf("%d packets, want 7", len(pkts))
	}
	for i, pk := range pkts {
		wantMarker := i == 0 || i == 1
		if pk.Marker != wantMarker {
			t.Errorf("packet %d marker %v, want %v", i, pk.Marker, wantMarker)
		}
		if i > 0 && pk.SequenceNumber != pkts[i-1].SequenceNumber+1 {
			t.Errorf("sequence not contiguous at %d", i)
		}
	}
	if d := pkts[1].Timestamp - pkts[0].Timestamp; d != 11*160 {
		t.Errorf("timestamp jump over the suppressed silence %d, want %d", d, 11*160)
	}
}
