package callplan

import "errors"

// Sentinel errors shared by the engine and the channels that implement Channel.
var (
	// ErrHangup: the call ended while a step was running.
	ErrHangup = errors.New("callplan: call ended")
)
