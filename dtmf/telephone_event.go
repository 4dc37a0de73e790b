package dtmf

import "fmt"

// TelephoneEvent is the 4-byte payload of an RFC 4733 telephone-event RTP packet:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Duration counts RTP clock units since the event's timestamp; Volume is the power in −dBm0
// (0–63). Events 0–15 are the DTMF keys; others (flash, tones) are not digits.
type TelephoneEvent struct {
	Event    uint8
	End      bool
	Volume   uint8
	Duration uint16
}

// Unmarshal decodes the first four bytes of b. Extra bytes are ignored (RFC 4733 allows
// several events in one payload only through RFC 2198; see UnpackRED). The reserved bit is
// ignored as the RFC asks.
func (e *TelephoneEvent) Unmarshal(b []byte) error {
	if len(b) < 4 {
		return fmt.Errorf("%w (got %d)", ErrShortPayload, len(b))
	}
	e.Event = b[0]
	e.End = b[1]&0x80 != 0
	e.Volume = b[1] & 0x3F
	e.Duration = uint16(b[2])<<8 | uint16(b[3])
	return nil
}

// Marshal encodes the payload. Volume above 63 is an error.
func (e TelephoneEvent) Marshal() ([]byte, error) {
	if e.Volume > 63 {
		return nil, fmt.Errorf("dtmf: telephone-event volume %d out of range 0-63", e.Volume)
	}
	b := []byte{e.Event, e.Volume, byte(e.Duration >> 8), byte(e.Duration)}
	if e.End {
		b[1] |= 0x80
	}
	return b, nil
}
