package prompts

import "errors"

// Sentinel errors of the prompts package.
var (
	ErrNotFound = errors.New("prompts: no such prompt")
	ErrBadName  = errors.New("prompts: invalid prompt name")
	ErrFormat   = errors.New("prompts: unreadable WAV")
	ErrNoPack   = errors.New("prompts: no bundled pack for the language")
)
