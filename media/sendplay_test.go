package media

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// startOnWire is a session that sends to its own loopback sink, not started (its frames are
// driven by the test, as the scheduler's ticks would).
func startOnWire(t *testing.T) (*Session, *net.UDPConn) {
	t.Helper()
	sink := listenLoopback(t)
	t.Cleanup(func() { sink.Close() })
	m := newSession(listenLoopback(t), nil)
	t.Cleanup(m.Close)
	if err := m.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv,
		Remote: sink.LocalAddr().(*net.UDPAddr).AddrPort()}); err != nil {
		t.Fatal(err)
	}
	return m, sink
}

func isDone(p *Playing) bool {
	select {
	case <-p.Done():
		return true
	default:
		return false
	}
}

// TestStartPlayWireBytes: a prompt started without a goroutine waiting for it puts on the wire
// what Play does, closes Done after its last frame and not before, and leaves no shared
// encoding once stopped.
func TestStartPlayWireBytes(t *testing.T) {
	pcm := wirePrompt()
	m, sink := startOnWire(t)
	p, err := m.StartPlay(pcm)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	frames := (len(pcm) + 159) / 160
	for f := range frames {
		if isDone(p) {
			t.Fatalf("Done closed after %d of %d frames", f, frames)
		}
		if !m.sendFrame(m.curParams(), 160, now) {
			t.Fatalf("frame %d not sent", f)
		}
		now = now.Add(20 * time.Millisecond)
	}
	if !isDone(p) {
		t.Fatal("Done still open after the prompt's last frame")
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop after the prompt played out: %v", err)
	}
	got := readPackets(t, sink, frames)
	h := rtp.Header{}
	if _, err := h.Unmarshal(got[0]); err != nil {
		t.Fatal(err)
	}
	comparePackets(t, PCMU, got, referencePackets(t, PCMU, pcm, m.ssrc, h.SequenceNumber, h.Timestamp))
	if n := encodingsHeld(); n != 0 {
		t.Fatalf("%d shared encodings left after Stop", n)
	}
}

// readPackets reads n datagrams from the far end (5 s for each at most).
func readPackets(t *testing.T, sink *net.UDPConn, n int) [][]byte {
	t.Helper()
	var got [][]byte
	buf := make([]byte, 1500)
	for range n {
		sink.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, err := sink.Read(buf)
		if err != nil {
			t.Fatalf("after %d packets: %v", len(got), err)
		}
		got = append(got, bytes.Clone(buf[:k]))
	}
	return got
}

// TestStartPlayStop: Stop mid-prompt closes Done, sends no further frame of the prompt and lets
// go of its encoding; a second Stop says the same.
func TestStartPlayStop(t *testing.T) {
	m, _ := startOnWire(t)
	p, err := m.StartPlay(wirePrompt())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for range 3 {
		if !m.sendFrame(m.curParams(), 160, now) {
			t.Fatal("frame not sent")
		}
		now = now.Add(20 * time.Millisecond)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !isDone(p) {
		t.Fatal("Done open after Stop")
	}
	if isPlaying(m) {
		t.Fatal("the session still plays after Stop")
	}
	if m.sendFrame(m.curParams(), 160, now) {
		t.Fatal("a frame went out after Stop (silence is suppressed; no keep-alive is due)")
	}
	if n := encodingsHeld(); n != 0 {
		t.Fatalf("%d shared encodings left after Stop", n)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

// TestStartPlayReplaced: a new prompt replaces one in progress — the first one's Done closes,
// its Stop says nil and does not stop the second.
func TestStartPlayReplaced(t *testing.T) {
	m, _ := startOnWire(t)
	a, err := m.StartPlay(wirePrompt())
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.StartPlay(benchPrompt(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !isDone(a) {
		t.Fatal("the replaced prompt's Done is open")
	}
	if isDone(b) {
		t.Fatal("the new prompt's Done is closed")
	}
	if err := a.Stop(); err != nil {
		t.Fatalf("Stop of the replaced prompt: %v", err)
	}
	if !isPlaying(m) {
		t.Fatal("stopping the replaced prompt stopped the new one")
	}
	b.Stop()
	if n := encodingsHeld(); n != 0 {
		t.Fatalf("%d shared encodings left", n)
	}
}

// TestStartPlayClosed: the session's end closes Done and Stop says ErrClosed (what Play
// returns); a prompt started on a closed session is refused and holds nothing.
func TestStartPlayClosed(t *testing.T) {
	m, _ := startOnWire(t)
	p, err := m.StartPlay(wirePrompt())
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done open after Close")
	}
	if err := p.Stop(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Stop after Close: %v, want ErrClosed", err)
	}
	if q, err := m.StartPlay(wirePrompt()); !errors.Is(err, ErrClosed) || q != nil {
		t.Fatalf("StartPlay on a closed session: %v, %v", q, err)
	}
	if n := encodingsHeld(); n != 0 {
		t.Fatalf("%d shared encodings left", n)
	}
}
