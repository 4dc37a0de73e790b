package dtmf

import "errors"

// Sentinel errors of the dtmf package. They never carry a digit.
var (
	ErrNotNumeric = errors.New("dtmf: only the keys 0-9 can enter a secure buffer")
	ErrBufferFull = errors.New("dtmf: secure buffer is full")
)

// Sentinel errors of the decoders. Wrapped errors add position and size, never content.
var (
	ErrShortPayload    = errors.New("dtmf: telephone-event payload shorter than 4 bytes")
	ErrBadRED          = errors.New("dtmf: malformed RFC 2198 redundancy payload")
	ErrInfoContentType = errors.New("dtmf: unsupported SIP INFO content type")
	ErrInfoBody        = errors.New("dtmf: malformed SIP INFO DTMF body")
	ErrBadClockRate    = errors.New("dtmf: clock rate must be positive")
	ErrBadTiming       = errors.New("dtmf: duration and packet interval must be positive")
	ErrNotDigit        = errors.New("dtmf: not a DTMF key")
)
