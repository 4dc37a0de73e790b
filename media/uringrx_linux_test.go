//go:build linux && (amd64 || arm64)

package media

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
)

// TestUringDecodesIntoItsOwnBuffer: the io_uring receiver decodes every datagram's audio into
// one buffer of its own, hot in the cache, and clears it after each — a session makes no
// decode buffer (the 960 bytes it kept, and the last packet's audio in them, until Close).
func TestUringDecodesIntoItsOwnBuffer(t *testing.T) {
	u := needUring(t)
	peer := listenLoopback(t)
	defer peer.Close()
	sched := NewScheduler()
	defer sched.Close()
	heard := &lockedSamples{}
	m := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched, DTMF: heard})
	m.SetParams(Params{Codec: PCMU, EventPT: -1, PTime: 20, Direction: SendRecv, Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort()})
	m.Start()
	defer m.Close()
	dst := netip.AddrPortFrom(lo, uint16(m.Port()))
	for seq := range uint16(3) {
		if _, err := peer.WriteToUDPAddrPort(pcmuPacket(t, seq+1, 0x5a), dst); err != nil {
			t.Fatal(err)
		}
	}
	waitAllReceived(t, []*Session{m}, 3)
	want := dtmf.ULawToLinear(0x5a)
	if n, first := heard.get(); n != 480 || first != want || want == 0 {
		t.Fatalf("the stream heard %d samples (first %d), want 480 of %d", n, first, want)
	}
	if m.rxPCM != nil {
		t.Fatal("the session made a decode buffer of its own")
	}
	// The receiver's buffer is its goroutine's: read it once a round has passed and the
	// session's datagrams are long handled (the test's socket sees no more).
	time.Sleep(4 * rxPollDelay)
	if u.pcm != [rxPCMLen]int16{} {
		t.Fatal("the receiver's decode buffer still holds a handled datagram's audio")
	}
}

// TestUringStoppedSessionGetsNothing: once a session stopped receiving (the scheduler does it
// when the far end's RTP timed out; Close does it first), no datagram reaches it, though its
// socket stays open and the far end goes on sending; and Close after it returns.
func TestUringStoppedSessionGetsNothing(t *testing.T) {
	needUring(t)
	peer := listenLoopback(t)
	defer peer.Close()
	sched := NewScheduler()
	defer sched.Close()
	m := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched})
	m.SetParams(Params{Codec: PCMU, EventPT: -1, PTime: 20, Direction: SendRecv, Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort()})
	m.Start()
	dst := netip.AddrPortFrom(lo, uint16(m.Port()))
	send := func(seq uint16) {
		if _, err := peer.WriteToUDPAddrPort(pcmuPacket(t, seq, 0x11), dst); err != nil {
			t.Fatal(err)
		}
	}
	send(1)
	waitAllReceived(t, []*Session{m}, 1)
	m.stopReceiving()
	for seq := uint16(2); seq < 12; seq++ {
		send(seq)
		time.Sleep(rxPollDelay)
	}
	time.Sleep(4 * rxPollDelay)
	if st := m.Stats(); st.Received != 1 || st.Dropped != 0 {
		t.Fatalf("after stopReceiving: %+v, want the one datagram before it and nothing after", st)
	}
	done := make(chan struct{})
	go func() { m.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close after stopReceiving did not return")
	}
}

// lockedSamples is a DTMFStream that counts the audio it is fed (from the receiver's
// goroutine) and keeps its first sample.
type lockedSamples struct {
	sampleStream
	mu sync.Mutex
}

func (r *lockedSamples) Audio(pcm []int16) {
	r.mu.Lock()
	r.pcm = append(r.pcm, pcm...)
	r.mu.Unlock()
}

func (r *lockedSamples) get() (int, int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pcm) == 0 {
		return 0, 0
	}
	return len(r.pcm), r.pcm[0]
}

// TestULawAudioReachesTheDetectorUndecoded: PCMU audio that only the DTMF stream hears goes to
// the detector as the bytes came (dtmf.Stream.AudioULaw): an in-band key is detected as before,
// and no decoded copy of the audio is made — the session makes no decode buffer of its own, as
// it does for a stream that takes samples only.
func TestULawAudioReachesTheDetectorUndecoded(t *testing.T) {
	st, keys := newKeyStream()
	m := newSession(nil, nil)
	m.stream = st
	m.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv, Remote: farEnd})
	var pkt rtp.Packet
	for _, d := range keyedDatagrams(t, 0xABCD) {
		m.datagram(d, farEnd, &pkt)
	}
	if got := keys(); got != "57" {
		t.Fatalf("keys %q, want 57 (in-band 5, RFC 4733 7)", got)
	}
	if m.rxPCM != nil {
		t.Fatal("the session decoded μ-law audio the detector takes as it came")
	}
	if st := m.Stats(); st.Dropped != 0 || st.Lost != 0 {
		t.Fatalf("%+v", st)
	}

	// The control: a stream that takes samples only is fed decoded audio.
	m2 := newSession(nil, nil)
	heard := &sampleStream{}
	m2.stream = heard
	m2.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv, Remote: farEnd})
	for _, d := range keyedDatagrams(t, 0xABCE)[:3] {
		m2.datagram(d, farEnd, &pkt)
	}
	if m2.rxPCM == nil || len(heard.pcm) != 480 {
		t.Fatalf("a samples-only stream heard %d samples (decode buffer made: %v)", len(heard.pcm), m2.rxPCM != nil)
	}
}
