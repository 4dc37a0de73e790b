package dtmf

import (
	"fmt"
	"time"
)

// Sender builds the RFC 4733 packets of one keypress for an RTP stream whose telephone-event
// clock runs at the rate given to NewSender.
type Sender struct {
	rate int
	// Volume is the power the packets report, in −dBm0 (default 10).
	Volume uint8
}

// NewSender returns a sender for clockRate Hz (≤ 0 means 8000).
func NewSender(clockRate int) *Sender {
	if clockRate <= 0 {
		clockRate = 8000
	}
	return &Sender{rate: clockRate, Volume: 10}
}

// SenderPacket is one packet to send: its payload, the RTP timestamp and marker bit to put
// in the header, and when to send it relative to the key going down.
type SenderPacket struct {
	Payload   []byte
	Timestamp uint32
	Marker    bool
	End       bool
	Offset    time.Duration
}

// Packets returns the packets of key d held for dur, starting at RTP timestamp ts, with one
// packet every interval. Every packet of the event carries the same timestamp (a new segment
// every 65535 units for events longer than that); the first has the marker bit. Packet k is
// sent at the end of its interval, (k+1)·interval after the key went down, and reports the
// duration so far, so a receiver can date the key's start exactly. The end packet is sent
// three times, one interval apart, from the moment the key is released.
func (s *Sender) Packets(d Digit, ts uint32, dur, interval time.Duration) ([]SenderPacket, error) {
	code := d.EventCode()
	if code < 0 {
		return nil, ErrNotDigit
	}
	if dur <= 0 || interval <= 0 {
		return nil, ErrBadTiming
	}
	total := int64(dur) * int64(s.rate) / int64(time.Second)
	step := int64(interval) * int64(s.rate) / int64(time.Second)
	if total < 1 || step < 1 {
		return nil, ErrBadTiming
	}
	var out []SenderPacket
	add := func(k int, elapsed int64, end bool) error {
		seg := (elapsed - 1) / 0xFFFF
		if elapsed == 0 {
			seg = 0
		}
		te := TelephoneEvent{Event: uint8(code), End: end, Volume: s.Volume, Duration: uint16(elapsed - seg*0xFFFF)}
		p, err := te.Marshal()
		if err != nil {
			return fmt.Errorf("dtmf: sender: %w", err)
		}
		out = append(out, SenderPacket{Payload: p, Timestamp: ts + uint32(seg*0xFFFF), Marker: k == 0,
			End: end, Offset: time.Duration(k+1) * interval})
		return nil
	}
	k := 0
	for ; int64(k+1)*step < total; k++ {
		if err := add(k, int64(k+1)*step, false); err != nil {
			return nil, err
		}
	}
	for i := 0; i < 3; i++ {
		if err := add(k+i, total, true); err != nil {
			return nil, err
		}
	}
	// the end packets go out from the release on, not a whole interval after it
	last := time.Duration(total) * time.Second / time.Duration(s.rate)
	for i := len(out) - 3; i < len(out); i++ {
		out[i].Offset = last + time.Duration(i-(len(out)-3))*interval
	}
	return out, nil
}
