package dtmf

import (
	"fmt"
	"log/slog"
)

// SecureBuffer is the one type in paybridge that may hold card digits (a PAN, an expiry, a
// security code). Digits enter it one keypress at a time and leave it only through Use and
// AppendTo, which a connector calls to write them into a provider request body; Wipe zeroes
// them afterwards.
//
// Every way of printing a SecureBuffer — String, GoString, Format (%v, %s, %q, %x, %d …),
// slog's LogValue, JSON and text marshalling — shows only the mask: the last four digits of a
// buffer of twelve or more, everything else '*'. Shorter buffers (a security code, an expiry)
// are all '*'. The zero value is an empty buffer ready to use.
type SecureBuffer struct {
	d []byte // digits '0'–'9'; cap fixed at creation so appends never copy the secret
	n int    // digits held
}

// MaxSecureDigits is the capacity of a SecureBuffer: the longest PAN (19) with room to spare.
const MaxSecureDigits = 24

// Len returns the number of digits held: safe to log, publish and count.
func (b *SecureBuffer) Len() int {
	if b == nil {
		return 0
	}
	return b.n
}

// Append adds one numeric key. Non-numeric keys are refused with ErrNotNumeric; a full buffer
// with ErrBufferFull.
func (b *SecureBuffer) Append(d Digit) error {
	if !d.IsNumeric() {
		return ErrNotNumeric
	}
	if b.d == nil {
		b.d = make([]byte, MaxSecureDigits)
	}
	if b.n >= len(b.d) {
		return ErrBufferFull
	}
	b.d[b.n] = byte(d)
	b.n++
	return nil
}

// Use calls fn with the digits held. fn must not keep, copy out, print or return the slice:
// it is the buffer's own memory, valid only during the call.
func (b *SecureBuffer) Use(fn func(digits []byte)) {
	if b == nil {
		fn(nil)
		return
	}
	fn(b.d[:b.n])
}

// AppendTo appends the digits to dst and returns it. It exists for exactly one caller: a
// connector building a provider request body, which must zero that body (see Zero) once the
// request has been sent.
func (b *SecureBuffer) AppendTo(dst []byte) []byte {
	if b == nil {
		return dst
	}
	return append(dst, b.d[:b.n]...)
}

// Last4 returns the last four digits of a buffer of twelve digits or more, and "" otherwise:
// the only part of a PAN that may be shown or stored.
func (b *SecureBuffer) Last4() string {
	if b.Len() < 12 {
		return ""
	}
	return string(b.d[b.n-4 : b.n])
}

// Mask returns the canonical mask: "************4242" for a PAN, all '*' for shorter buffers.
func (b *SecureBuffer) Mask() string {
	return MaskLen(b.Len(), b.Last4())
}

// MaskLen builds the canonical mask for n digits whose last four (when n ≥ 12) are last4.
// It is the single mask format of paybridge; every package that shows a card uses it.
func MaskLen(n int, last4 string) string {
	if n <= 0 {
		return ""
	}
	out := make([]byte, n)
	for i := range out {
		out[i] = '*'
	}
	if n >= 12 && len(last4) == 4 {
		copy(out[n-4:], last4)
	}
	return string(out)
}

// Wipe zeroes every digit and empties the buffer.
func (b *SecureBuffer) Wipe() {
	if b == nil {
		return
	}
	Zero(b.d)
	b.n = 0
}

// Zero overwrites p with zero bytes (for request bodies that held digits).
func Zero(p []byte) {
	for i := range p {
		p[i] = 0
	}
}

// String returns the mask.
func (b *SecureBuffer) String() string { return b.Mask() }

// GoString returns the mask for %#v.
func (b *SecureBuffer) GoString() string { return "dtmf.SecureBuffer(" + b.Mask() + ")" }

// Format prints the mask for every verb, so no formatting directive reveals a digit.
func (b *SecureBuffer) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, b.GoString())
		return
	}
	fmt.Fprint(f, b.Mask())
}

// LogValue prints the mask in structured logs.
func (b *SecureBuffer) LogValue() slog.Value { return slog.StringValue(b.Mask()) }

// MarshalText returns the mask (used by encoding/json and friends).
func (b *SecureBuffer) MarshalText() ([]byte, error) { return []byte(b.Mask()), nil }
