package ivr

import "errors"

// Sentinel errors of the ivr package. They never carry card data: DTMF bodies, digits and RTP
// payloads are never part of an error message. The media layer's own (SDP refused, ports
// exhausted, media timeout) are package media's; a header value with CR, LF or NUL is
// sipsafe.ErrBadHeaderValue.
var (
	// ErrTransferRejected: the far end refused or failed the REFER.
	ErrTransferRejected = errors.New("ivr: transfer rejected")

	// ErrUnknownPrompt: the prompt source does not know the prompt name.
	ErrUnknownPrompt = errors.New("ivr: unknown prompt")
)
