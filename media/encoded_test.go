package media

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
)

// wirePrompt is 1.0125 s of audio: 50 whole frames and a last one of 100 samples, which the
// sender pads with silence.
func wirePrompt() []int16 { return benchPrompt(2 * time.Second)[:8100] }

// referencePackets is what the sender put on the wire for pcm before prompts were encoded
// once (each frame's samples copied out, zero-padded, encoded by the codec, behind a header
// marshalled by pion): the packets of one prompt from sequence number seq and timestamp ts,
// the first one marked.
func referencePackets(t *testing.T, c Codec, pcm []int16, ssrc uint32, seq uint16, ts uint32) [][]byte {
	t.Helper()
	var out [][]byte
	for i := 0; i*160 < len(pcm); i++ {
		frame := make([]int16, 160)
		copy(frame, pcm[i*160:])
		payload := make([]byte, 160)
		switch c.Name() {
		case "PCMU":
			dtmf.EncodeULaw(payload, frame)
		case "PCMA":
			dtmf.EncodeALaw(payload, frame)
		}
		h := rtp.Header{Version: 2, PayloadType: c.PayloadType(), SequenceNumber: seq + uint16(i),
			Timestamp: ts + uint32(i*160), SSRC: ssrc, Marker: i == 0}
		b, err := h.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append(b, payload...))
	}
	return out
}

// playOnWire plays pcm on sessions of codecs cs at once (frames driven one by one, as the
// scheduler's ticks would), each to its own loopback socket, and returns the datagrams
// each socket received and the sessions.
func playOnWire(t *testing.T, pcm []int16, cs ...Codec) ([][][]byte, []*Session) {
	t.Helper()
	ctx := context.Background()
	sessions := make([]*Session, len(cs))
	sinks := make([]*net.UDPConn, len(cs))
	played := make([]chan error, len(cs))
	for i, c := range cs {
		sinks[i] = listenLoopback(t)
		t.Cleanup(func() { sinks[i].Close() })
		m := newSession(listenLoopback(t), nil)
		t.Cleanup(m.Close)
		if err := m.SetParams(Params{Codec: c, EventPT: 101, PTime: 20, Direction: SendRecv,
			Remote: sinks[i].LocalAddr().(*net.UDPAddr).AddrPort()}); err != nil {
			t.Fatal(err)
		}
		played[i] = make(chan error, 1)
		go func() { played[i] <- m.Play(ctx, pcm) }()
		waitPlaying(t, m)
		sessions[i] = m
	}
	now := time.Now()
	for f := 0; f*160 < len(pcm); f++ {
		for _, m := range sessions {
			if !m.sendFrame(m.curParams(), 160, now) {
				t.Fatalf("frame %d not sent", f)
			}
		}
		now = now.Add(20 * time.Millisecond)
	}
	for i := range sessions {
		if err := <-played[i]; err != nil {
			t.Fatalf("Play: %v", err)
		}
	}
	got := make([][][]byte, len(cs))
	for i, s := range sinks {
		buf := make([]byte, 1500)
		for range (len(pcm) + 159) / 160 {
			s.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := s.Read(buf)
			if err != nil {
				t.Fatalf("codec %s: after %d packets: %v", cs[i], len(got[i]), err)
			}
			got[i] = append(got[i], bytes.Clone(buf[:n]))
		}
	}
	return got, sessions
}

func comparePackets(t *testing.T, c Codec, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d packets, want %d", c, len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%s: packet %d differs from the per-frame encoding:\n got %x\nwant %x", c, i, got[i], want[i])
		}
	}
}

// TestPromptWireBytes: a prompt played on PCMU and on PCMA at the same time (one shared
// slice, encoded once per law) puts on the wire byte for byte what encoding each frame did —
// headers, payloads and the silence-padded last frame — and nothing of the encoding is left
// once the plays have ended.
func TestPromptWireBytes(t *testing.T) {
	pcm := wirePrompt()
	codecs := []Codec{PCMU, PCMA, PCMU.WithPayloadType(96)}
	got, sessions := playOnWire(t, pcm, codecs...)
	for i, c := range codecs {
		m := sessions[i]
		h := rtp.Header{}
		if _, err := h.Unmarshal(got[i][0]); err != nil {
			t.Fatal(err)
		}
		if h.SSRC != m.ssrc {
			t.Fatalf("%s: SSRC %08x, the session's is %08x", c, h.SSRC, m.ssrc)
		}
		comparePackets(t, c, got[i], referencePackets(t, c, pcm, m.ssrc, h.SequenceNumber, h.Timestamp))
	}
	if n := encodingsHeld(); n != 0 {
		t.Fatalf("%d shared encodings left after every play ended", n)
	}
}

// TestPromptCodecChangeMidPlay: a re-negotiation from PCMU to PCMA in the middle of a prompt
// sends the rest as PCMA (encoded frame by frame, the shared bytes being μ-law), byte for
// byte.
func TestPromptCodecChangeMidPlay(t *testing.T) {
	pcm := wirePrompt()
	sink := listenLoopback(t)
	defer sink.Close()
	m := newSession(listenLoopback(t), nil)
	defer m.Close()
	p := Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv, Remote: sink.LocalAddr().(*net.UDPAddr).AddrPort()}
	if err := m.SetParams(p); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Play(context.Background(), pcm) }()
	waitPlaying(t, m)
	now := time.Now()
	frames := (len(pcm) + 159) / 160
	for f := range frames {
		if f == 20 {
			p.Codec = PCMA
			if err := m.SetParams(p); err != nil {
				t.Fatal(err)
			}
		}
		m.sendFrame(m.curParams(), 160, now)
		now = now.Add(20 * time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := readPackets(t, sink, frames)
	var h rtp.Header
	if _, err := h.Unmarshal(got[0]); err != nil {
		t.Fatal(err)
	}
	want := referencePackets(t, PCMU, pcm, m.ssrc, h.SequenceNumber, h.Timestamp)[:20]
	// the PCMA frames continue the stream: the same sequence, no new marker
	alaw := referencePackets(t, PCMA, pcm, m.ssrc, h.SequenceNumber, h.Timestamp)[20:]
	alaw[0][1] &^= 1 << 7
	comparePackets(t, PCMA, got, append(want, alaw...))
}

// TestPromptEncodingReleased: the shared encoding goes when the last playback of the slice
// ends however it ends — played out, barged in (ctx), replaced by another Play, or the
// session closed — and is shared while two sessions play the same slice.
func TestPromptEncodingReleased(t *testing.T) {
	pcm := wirePrompt()
	sink := listenLoopback(t)
	defer sink.Close()
	newPlaying := func(ctx context.Context, pcm []int16) (*Session, chan error) {
		m := newSession(listenLoopback(t), nil)
		if err := m.SetParams(Params{Codec: PCMA, EventPT: 101, PTime: 20, Direction: SendRecv,
			Remote: sink.LocalAddr().(*net.UDPAddr).AddrPort()}); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- m.Play(ctx, pcm) }()
		waitPlaying(t, m)
		return m, done
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, aDone := newPlaying(ctx, pcm)
	defer a.Close()
	b, bDone := newPlaying(context.Background(), pcm)
	if n := encodingsHeld(); n != 1 {
		t.Fatalf("two sessions playing one slice hold %d encodings, want 1", n)
	}
	cancel() // barge-in on a
	if err := <-aDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("a's Play: %v", err)
	}
	if n := encodingsHeld(); n != 1 {
		t.Fatalf("b still plays: %d encodings held, want 1", n)
	}
	b.Close()
	if err := <-bDone; !errors.Is(err, ErrClosed) {
		t.Fatalf("b's Play after Close: %v", err)
	}
	if n := encodingsHeld(); n != 0 {
		t.Fatalf("%d encodings held after the barge-in and the close", n)
	}
	c, cDone := newPlaying(context.Background(), pcm)
	defer c.Close()
	other := wirePrompt()
	go c.Play(context.Background(), other) // replaces the first playback
	if err := <-cDone; err != nil {
		t.Fatalf("replaced Play: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for encodingsHeld() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d encodings held while one slice plays", encodingsHeld())
		}
		time.Sleep(time.Millisecond)
	}
}
