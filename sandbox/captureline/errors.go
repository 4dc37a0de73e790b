package captureline

import "errors"

// ErrConfig: the line's configuration is incomplete.
var ErrConfig = errors.New("captureline: invalid configuration")
