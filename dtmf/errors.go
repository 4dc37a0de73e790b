package dtmf

import "errors"

// Sentinel errors of the decoders. They never carry a digit: wrapped errors add position and
// size, never content.
var (
	ErrShortPayload    = errors.New("dtmf: telephone-event payload shorter than 4 bytes")
	ErrBadRED          = errors.New("dtmf: malformed RFC 2198 redundancy payload")
	ErrInfoContentType = errors.New("dtmf: unsupported SIP INFO content type")
	ErrInfoBody        = errors.New("dtmf: malformed SIP INFO DTMF body")
	ErrBadTiming       = errors.New("dtmf: duration and packet interval must be positive")
	ErrNotDigit        = errors.New("dtmf: not a DTMF key")
)
