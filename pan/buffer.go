package pan

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// MaxDigits is the capacity of a SecureBuffer: the longest PAN (19) with room to spare.
const MaxDigits = 24

// SecureBuffer is the one type in paybridge that may hold card digits (a PAN, an expiry, a
// security code, a postal code keyed on the card form). Digits enter it one at a time and
// leave it only through Use and AppendTo, which a connector calls to write them into a
// provider request body; Wipe zeroes them afterwards.
//
// Every way of printing a SecureBuffer — String, GoString, Format (%v, %+v, %#v, %s, %q, %x,
// %d …), slog's LogValue, JSON and text marshalling, an error that wraps it, a panic with it —
// shows only the mask (see Mask): the last four digits of a buffer of a card number's length,
// everything else '*'. The digits live behind a pointer, so even a copied SecureBuffer value
// (which has none of these methods) prints an address, never a digit.
//
// The zero value is an empty buffer ready to use. A SecureBuffer is not safe for concurrent
// use; copies of one share its digits.
type SecureBuffer struct {
	s *secret
}

// secret is the buffer's state. The digits are allocated once, at the first Append, and never
// grown (so no append ever leaves a stale copy behind); Wipe zeroes them. They sit behind a
// second pointer because fmt dereferences a pointer it meets at the top of a value it cannot
// format ("%s" of a copied SecureBuffer prints the secret it points to): one level down, a
// pointer prints as an address.
type secret struct {
	d *[MaxDigits]byte
	n int
}

// Len returns the number of digits held: safe to log, publish and count.
func (b *SecureBuffer) Len() int {
	if b == nil || b.s == nil {
		return 0
	}
	return b.s.n
}

// Append adds one digit, the ASCII character '0'–'9' (a dtmf.Digit converts with byte(d)).
// Anything else is refused with ErrNotDigit; a full buffer with ErrFull.
func (b *SecureBuffer) Append(c byte) error {
	if c < '0' || c > '9' {
		return ErrNotDigit
	}
	if b.s == nil {
		b.s = &secret{d: new([MaxDigits]byte)}
	}
	if b.s.n >= len(b.s.d) {
		return ErrFull
	}
	b.s.d[b.s.n] = c
	b.s.n++
	return nil
}

// Use calls fn with the digits held. fn must not keep, copy out, print or return the slice:
// it is the buffer's own memory, valid only during the call.
func (b *SecureBuffer) Use(fn func(digits []byte)) {
	if b == nil || b.s == nil {
		fn(nil)
		return
	}
	fn(b.s.d[:b.s.n])
}

// AppendTo appends the digits to dst and returns it. It exists for exactly one caller: a
// connector building a provider request body, which must zero that body (Zero) once the
// request has been sent.
func (b *SecureBuffer) AppendTo(dst []byte) []byte {
	if b == nil || b.s == nil {
		return dst
	}
	return append(dst, b.s.d[:b.s.n]...)
}

// Last4 returns the last four digits when the buffer holds a card number's length (12–19
// digits), and "" otherwise: the only part of a PAN that may be shown or stored.
func (b *SecureBuffer) Last4() string {
	if n := b.Len(); n >= minCardLen && n <= maxCardLen {
		return string(b.s.d[n-4 : n])
	}
	return ""
}

// Mask returns the canonical mask of the digits held: "************4242" for a PAN, all '*'
// for a shorter or longer buffer, "" for an empty one.
func (b *SecureBuffer) Mask() string {
	if b.Len() == 0 {
		return ""
	}
	return Mask(b.s.d[:b.s.n])
}

// Wipe zeroes every digit and empties the buffer. The buffer can be used again.
func (b *SecureBuffer) Wipe() {
	if b == nil || b.s == nil {
		return
	}
	Zero(b.s.d[:])
	b.s.n = 0
}

// String returns the mask.
func (b *SecureBuffer) String() string { return b.Mask() }

// GoString returns the mask for %#v.
func (b *SecureBuffer) GoString() string { return "pan.SecureBuffer(" + b.Mask() + ")" }

// Format prints the mask for every verb and flag, so no formatting directive reveals a digit.
func (b *SecureBuffer) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, b.GoString())
		return
	}
	fmt.Fprint(f, b.Mask())
}

// LogValue prints the mask in structured logs.
func (b *SecureBuffer) LogValue() slog.Value { return slog.StringValue(b.Mask()) }

// MarshalText returns the mask (encoding/xml, flag packages, map keys).
func (b *SecureBuffer) MarshalText() ([]byte, error) { return []byte(b.Mask()), nil }

// MarshalJSON returns the mask as a JSON string.
func (b *SecureBuffer) MarshalJSON() ([]byte, error) { return json.Marshal(b.Mask()) }
