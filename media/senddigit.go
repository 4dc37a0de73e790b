package media

import (
	"net/netip"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
)

// digitQueue is a session's outgoing RFC 4733 keys (playMu guards it; the scheduler sends).
type digitQueue struct {
	keys    []queuedDigit
	pkts    []dtmf.SenderPacket // the key being sent
	next    int
	pending int // keys queued or being sent
}

type queuedDigit struct {
	d   dtmf.Digit
	dur time.Duration
}

// maxQueuedDigits bounds the keys waiting to be sent.
const maxQueuedDigits = 64

// SendDigit queues key d, held for dur, as RFC 4733 telephone-events of this session's own
// stream: its negotiated event payload type, its SSRC and sequence, the timestamp of the frame
// the key starts on. While a key is sent no audio frame goes out (one packet a frame, the end
// packet three times). ErrNoTelephoneEvent when the far end negotiated none.
func (m *Session) SendDigit(d dtmf.Digit, dur time.Duration) error {
	if d.EventCode() < 0 {
		return dtmf.ErrNotDigit
	}
	if m.Params().EventPT < 0 {
		return ErrNoTelephoneEvent
	}
	if dur <= 0 {
		dur = regenDuration
	}
	m.playMu.Lock()
	defer m.playMu.Unlock()
	if len(m.digits.keys) >= maxQueuedDigits {
		return ErrDigitQueueFull
	}
	m.digits.keys = append(m.digits.keys, queuedDigit{d, dur})
	m.digits.pending++
	m.sched.wake(m)
	return nil
}

// DigitsPending is how many keys queued with SendDigit have not been sent completely.
func (m *Session) DigitsPending() int {
	m.playMu.Lock()
	defer m.playMu.Unlock()
	return m.digits.pending
}

// nextDigitPacket returns the telephone-event packet to send in place of the audio frame that
// starts at timestamp ts, if a key is being sent (scheduler, playMu held).
func (m *Session) nextDigitPacket(p *Params, ts uint32) (dtmf.SenderPacket, bool) {
	q := &m.digits
	if q.next >= len(q.pkts) {
		q.pkts, q.next = nil, 0
		if len(q.keys) == 0 || p.EventPT < 0 {
			return dtmf.SenderPacket{}, false
		}
		k := q.keys[0]
		q.keys = q.keys[1:]
		frame := time.Duration(p.PTime) * time.Millisecond
		if frame <= 0 {
			frame = 20 * time.Millisecond
		}
		pkts, err := dtmf.NewSender(8000).Packets(k.d, ts, k.dur, frame)
		if err != nil {
			q.pending--
			return dtmf.SenderPacket{}, false
		}
		q.pkts = pkts
	}
	pk := q.pkts[q.next]
	q.next++
	if q.next >= len(q.pkts) {
		q.pending--
	}
	return pk, true
}

// digitPacket builds one telephone-event packet for the scheduler to send.
func (m *Session) digitPacket(p *Params, pk dtmf.SenderPacket, now time.Time) ([]byte, netip.AddrPort, bool) {
	dst := m.remote.Load()
	if dst == nil || !usableAddr(*dst) || !p.Sends() {
		return nil, netip.AddrPort{}, false
	}
	h := rtp.Header{Version: 2, PayloadType: uint8(p.EventPT), SequenceNumber: m.seq, Timestamp: pk.Timestamp,
		SSRC: m.ssrc, Marker: pk.Marker}
	n, err := h.MarshalTo(m.outBuf[:])
	if err != nil {
		return nil, netip.AddrPort{}, false
	}
	n += copy(m.outBuf[n:], pk.Payload)
	m.seq++
	m.lastSent = now
	m.seqSent.Store(true)
	m.talkspurt = false
	return m.outBuf[:n], *dst, true
}
