package prompts

import "errors"

// Sentinel errors of the prompts package.
var (
	ErrNotFound = errors.New("prompts: no such prompt")
	ErrBadName  = errors.New("prompts: invalid prompt name")
	ErrFormat   = errors.New("prompts: unsupported WAV (want 8 kHz mono 16-bit PCM)")
)
