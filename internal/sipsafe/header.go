package sipsafe

import "strings"

// CheckHeaderValue refuses a header value that would let plan, provider or command-line data
// inject SIP headers or truncate the message: CR, LF and NUL (ErrBadHeaderValue). Every
// value paybridge builds from data (a transfer target, the User-Agent, a caller's From user)
// passes through it.
func CheckHeaderValue(v string) error {
	if strings.ContainsAny(v, "\r\n\x00") {
		return ErrBadHeaderValue
	}
	return nil
}
