package dtmf

import "errors"

// Sentinel errors of the dtmf package. They never carry a digit.
var (
	ErrNotNumeric = errors.New("dtmf: only the keys 0-9 can enter a secure buffer")
	ErrBufferFull = errors.New("dtmf: secure buffer is full")
)
