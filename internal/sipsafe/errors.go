package sipsafe

import "errors"

// ErrBadHeaderValue: a value built from data contains CR, LF or NUL. It never carries the
// value.
var ErrBadHeaderValue = errors.New("sipsafe: header value contains CR, LF or NUL")
