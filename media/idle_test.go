package media

import (
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
)

// TestReaderStallMidToneIsNotIdle is the regression for one keypress counted twice under
// load: the reader goroutine stalled for more than idleAfter in the middle of a tone while
// the caller's packets waited in the socket; the scheduler took the silence for an idle far
// end and advanced the DTMF clock by wall time, which reached the in-band detector as a gap
// inside the tone, so the rest of the tone, read late, was a second key. Time whose packets
// are still queued is not idle.
func TestReaderStallMidToneIsNotIdle(t *testing.T) {
	m, _ := newTestMedia(t)
	var keys []dtmf.Event
	st := dtmf.NewStream(dtmf.StreamConfig{OnDigit: func(e dtmf.Event) { keys = append(keys, e) }})
	m.stream = st

	opt := dtmf.DefaultToneOptions()
	opt.Duration = 200 * time.Millisecond
	key := dtmf.GenerateDigit(dtmf.Digit('5'), opt)
	pcm := append(make([]int16, 160*5), key...)
	pcm = append(pcm, make([]int16, 160*20)...)
	frames := len(pcm) / 160
	packet := func(i int) *rtp.Packet {
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(100 + i),
			Timestamp: uint32(i * 160), SSRC: 7}, Payload: make([]byte, 160)}
		PCMU.Encode(p.Payload, pcm[i*160:(i+1)*160])
		return p
	}

	// the silence before the key and its first 60 ms are read on time
	split := 5 + 3
	for i := range split {
		m.receive(packet(i), farEnd)
	}
	if len(keys) != 1 {
		t.Fatalf("after 60 ms of tone: %d keys, want the key down", len(keys))
	}

	// the rest waits in the socket while the reader is descheduled for longer than dtmf.StallLimit
	tx, err := net.DialUDP("udp", nil, m.conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	for i := split; i < frames; i++ {
		b, _ := packet(i).Marshal()
		if _, err := tx.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	waitQueued(t, m)
	stalled := time.Now().Add(-(dtmf.StallLimit + 500*time.Millisecond))
	m.lastRx.Store(stalled.UnixNano())
	m.advanceIdle(time.Now())

	// the reader wakes and drains the burst
	buf := make([]byte, 2048)
	m.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := split; i < frames; i++ {
		n, _, err := m.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		m.receive(&p, farEnd)
	}
	st.Flush()
	if len(keys) != 1 {
		t.Fatalf("one 200 ms keypress read after a reader stall longer than dtmf.StallLimit gave %d keys, want 1", len(keys))
	}
}

// waitQueued waits until the kernel has the sent datagrams in m's receive queue.
func waitQueued(t *testing.T, m *Session) {
	t.Helper()
	for range 500 {
		if st, err := socketState(m.conn); err != nil || st.Queued > 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("datagrams never reached the socket's queue")
}
