//go:build linux && (amd64 || arm64)

package media

import (
	"bytes"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
)

// pcmuPacket is one RTP packet of PCMU whose payload is filled with fill.
func pcmuPacket(t *testing.T, seq uint16, fill byte) []byte {
	t.Helper()
	h := rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 0x5eed}
	raw, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return append(raw, bytes.Repeat([]byte{fill}, 160)...)
}

// TestStartedSessionsHaveNoReaderGoroutine: on Linux the shared receiver reads every started
// session's socket; a call costs no goroutine (before: one reader each).
func TestStartedSessionsHaveNoReaderGoroutine(t *testing.T) {
	sched := NewScheduler()
	defer sched.Close()
	peer := listenLoopback(t)
	defer peer.Close()
	warm := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched}) // the scheduler's and receiver's own goroutines start
	warm.SetParams(Params{Codec: PCMU, EventPT: -1, PTime: 20, Direction: SendRecv, Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort()})
	warm.Start()
	defer warm.Close()
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()
	const n = 40
	ss := startSessions(t, sched, n, peer)
	// every one of them receives
	for i, s := range ss {
		if _, err := peer.WriteToUDPAddrPort(pcmuPacket(t, uint16(i), 0xFF), netip.AddrPortFrom(lo, uint16(s.Port()))); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, s := range ss {
		for s.Stats().Received == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if s.Stats().Received != 1 {
			t.Fatalf("session on port %d received %d packets, want 1", s.Port(), s.Stats().Received)
		}
	}
	if grown := runtime.NumGoroutine() - before; grown >= n/2 {
		t.Fatalf("%d started sessions added %d goroutines", n, grown)
	}
}

// TestSharedReceiveBufferCleared: the receiver's buffers carry every call's datagrams (in-band
// key tones, RFC 4733 payloads); each datagram's bytes are cleared once its session handled
// it. Control: the same scan finds the payload in a buffer filled by recv alone.
func TestSharedReceiveBufferCleared(t *testing.T) {
	peer := listenLoopback(t)
	defer peer.Close()
	conn := listenLoopback(t)
	port := conn.LocalAddr().(*net.UDPAddr).Port
	heard := &sampleStream{}
	m := NewSession(conn, SessionConfig{DTMF: heard})
	m.SetParams(Params{Codec: PCMU, EventPT: -1, PTime: 20, Direction: SendRecv, Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort()})
	s, err := takeSocket(conn)
	if err != nil {
		t.Fatal(err)
	}
	m.sock.Store(s)
	defer s.close()
	marker := bytes.Repeat([]byte{0x5a}, 160) // stands for a keyed tone's audio
	send := func(seq uint16) {
		if _, err := peer.WriteToUDPAddrPort(pcmuPacket(t, seq, 0x5a), netip.AddrPortFrom(lo, uint16(port))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // on loopback the datagram is queued at once
	}
	holds := func(b *rxBatch) bool {
		for i := range b.bufs {
			if bytes.Contains(b.bufs[i][:], marker) {
				return true
			}
		}
		return false
	}

	control := new(rxBatch)
	send(1)
	if n := control.recv(s.fd); n != 1 || !holds(control) {
		t.Fatalf("control: recv took %d datagrams; the scan cannot find the payload it should", n)
	}

	b := new(rxBatch)
	send(2)
	send(3)
	if !m.pollRead(b) {
		t.Fatal("pollRead: the session stopped receiving")
	}
	if got := m.Stats().Received; got != 2 {
		t.Fatalf("received %d packets, want 2", got)
	}
	if holds(b) {
		t.Fatal("the shared receive buffer still holds a handled datagram's payload")
	}
	for i := range b.bufs {
		if !bytes.Equal(b.bufs[i][:200], make([]byte, 200)) {
			t.Fatalf("buffer %d not cleared", i)
		}
	}
	// the audio was decoded into the receiver's own buffer, handed on, and cleared there too
	want := dtmf.ULawToLinear(0x5a)
	if len(heard.pcm) != 320 || heard.pcm[0] != want || heard.pcm[319] != want || want == 0 {
		t.Fatalf("the stream heard %d samples (first %v), want 320 of %d", len(heard.pcm), heard.pcm[:min(1, len(heard.pcm))], want)
	}
	if b.pcm != [rxPCMLen]int16{} {
		t.Fatal("the shared decode buffer still holds a handled datagram's audio")
	}
	if m.rxPCM != nil {
		t.Fatal("the session made a decode buffer of its own")
	}
}

// sampleStream is a DTMFStream that keeps the audio it is fed.
type sampleStream struct{ pcm []int16 }

func (r *sampleStream) Audio(pcm []int16)                           { r.pcm = append(r.pcm, pcm...) }
func (r *sampleStream) Gap(int)                                     {}
func (r *sampleStream) TelephoneEvent(uint32, uint16, []byte) error { return nil }
func (r *sampleStream) Info(string, []byte) error                   { return nil }
func (r *sampleStream) Advance(time.Duration)                       {}

// TestDualStackSocketTalksIPv4: a session on a dual-stack socket (bound to the IPv6 wildcard,
// as an RTP address of 0.0.0.0 or :: gives) receives from an IPv4 peer and sends back to it
// (a v4-mapped sendto).
func TestDualStackSocketTalksIPv4(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6unspecified})
	if err != nil {
		t.Skipf("no IPv6 socket here: %v", err)
	}
	peer := listenLoopback(t)
	defer peer.Close()
	sched := NewScheduler()
	defer sched.Close()
	m := NewSession(conn, SessionConfig{Scheduler: sched})
	m.SetParams(Params{Codec: PCMU, EventPT: -1, PTime: 20, Direction: SendRecv, Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort()})
	m.Start()
	defer m.Close()
	if s := m.sock.Load(); s == nil || !s.inet6 {
		t.Fatalf("want the session on the shared receiver with an AF_INET6 socket, have %+v", s)
	}
	dst := netip.AddrPortFrom(lo, uint16(m.Port()))
	for i := range 3 {
		if _, err := peer.WriteToUDPAddrPort(pcmuPacket(t, uint16(i), 0xFF), dst); err != nil {
			t.Fatal(err)
		}
	}
	// Our keep-alive (the first packet of the stream goes out at once) arrives from the
	// session's port.
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	n, from, err := peer.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("nothing sent to the IPv4 peer: %v", err)
	}
	var p rtp.Packet
	if err := p.Unmarshal(buf[:n]); err != nil || from.Port() != uint16(m.Port()) {
		t.Fatalf("from %v: %v", from, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for m.Stats().Received < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := m.Stats(); st.Received != 3 || st.Foreign != 0 {
		t.Fatalf("stats %+v: want 3 received from the IPv4 peer, none foreign", st)
	}
}
