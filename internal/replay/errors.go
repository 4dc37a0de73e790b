package replay

import "errors"

// Sentinel errors of the replay package.
var (
	ErrBadDigits = errors.New("replay: bad --digits string")
	ErrInput     = errors.New("replay: cannot read input")
	ErrOptions   = errors.New("replay: a plan and an input are required")
)
