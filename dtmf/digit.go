package dtmf

import (
	"log/slog"
	"time"
)

// Digit is one DTMF key: '0'–'9', '*', '#' or 'A'–'D', stored as its ASCII character.
//
// A Digit may be card data, so it does not print itself: String, and therefore %v, %s and
// slog, show "•". Code that must show the key (the offline `dtmf decode` tool, a Gather of
// non-card digits) asks for it explicitly with Char.
type Digit byte

// The sixteen keys in RFC 4733 event-code order (events 0–15).
const keys = "0123456789*#ABCD"

// Valid reports whether d is one of the sixteen DTMF keys.
func (d Digit) Valid() bool { return d.EventCode() >= 0 }

// Char returns the key's ASCII character. Use it only where showing the key is intended.
func (d Digit) Char() byte { return byte(d) }

// String masks the key so that a Digit never reaches a log or an error by accident.
func (d Digit) String() string { return "•" }

// GoString masks the key for %#v as well.
func (d Digit) GoString() string { return "dtmf.Digit(•)" }

// IsNumeric reports whether d is '0'–'9' (the only keys that can be card data).
func (d Digit) IsNumeric() bool { return d >= '0' && d <= '9' }

// EventCode returns the RFC 4733 event code (0–15) of d, or -1 when d is not a DTMF key.
func (d Digit) EventCode() int {
	for i := 0; i < len(keys); i++ {
		if keys[i] == byte(d) {
			return i
		}
	}
	return -1
}

// DigitFromEvent maps an RFC 4733 event code to its key; codes 16 and above are not keys.
func DigitFromEvent(code uint8) (Digit, bool) {
	if int(code) >= len(keys) {
		return 0, false
	}
	return Digit(keys[code]), true
}

// ParseDigit accepts a key character, case-insensitively for 'a'–'d'.
func ParseDigit(c byte) (Digit, bool) {
	if c >= 'a' && c <= 'd' {
		c -= 'a' - 'A'
	}
	d := Digit(c)
	return d, d.Valid()
}

// Source says where a keypress was heard.
type Source uint8

const (
	SourceInband  Source = iota + 1 // tones in the audio, found by the Goertzel detector
	SourceRFC4733                   // RTP telephone-event packets
	SourceINFO                      // SIP INFO bodies (application/dtmf-relay, application/dtmf)
)

// String returns the name used in JSON output: "inband", "rfc4733" or "info".
func (s Source) String() string {
	switch s {
	case SourceInband:
		return "inband"
	case SourceRFC4733:
		return "rfc4733"
	case SourceINFO:
		return "info"
	}
	return "unknown"
}

// Event is one keypress as a detector, a receiver or the merged stream reports it.
//
// Start and End are offsets on the stream's own clock (samples at 8 kHz for audio, the RTP
// timestamp for events, arrival time for INFO), so a replay on a virtual clock and a live call
// report the same numbers. End is zero while the key is still held.
type Event struct {
	Digit  Digit
	Source Source
	Start  time.Duration
	End    time.Duration
}

// LogValue keeps the key out of structured logs.
func (e Event) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("source", e.Source.String()),
		slog.Duration("start", e.Start),
		slog.Duration("end", e.End),
	)
}
