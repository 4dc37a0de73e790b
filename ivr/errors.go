package ivr

import "errors"

// Sentinel errors of the ivr package. They never carry card data: DTMF bodies, digits and RTP
// payloads are never part of an error message.
var (
	// ErrSDPMalformed: the body is not SDP even after the lenient fallback parser.
	ErrSDPMalformed = errors.New("ivr: malformed SDP")
	// ErrNoAudio: the offer has no usable audio m-line.
	ErrNoAudio = errors.New("ivr: no audio stream offered")
	// ErrNoCommonCodec: no offered audio format is PCMU or PCMA at 8 kHz.
	ErrNoCommonCodec = errors.New("ivr: no common codec (PCMU/PCMA)")
	// ErrUnsupportedTransport: the audio m-line is not RTP/AVP (SRTP, DTLS, TCP media).
	ErrUnsupportedTransport = errors.New("ivr: unsupported media transport")

	// ErrNoPorts: every RTP port of the pool is in use.
	ErrNoPorts = errors.New("ivr: RTP port pool exhausted")

	// ErrBadHeaderValue: a value built from plan or provider data contains CR, LF or NUL.
	ErrBadHeaderValue = errors.New("ivr: header value contains CR, LF or NUL")

	// ErrMediaTimeout: no RTP arrived within Config.MediaTimeout.
	ErrMediaTimeout = errors.New("ivr: media timeout")

	// ErrCallEnded: an operation was attempted on a call that has ended.
	ErrCallEnded = errors.New("ivr: call ended")

	// ErrDraining: the server is draining and refuses new calls.
	ErrDraining = errors.New("ivr: server draining")

	// ErrTransferRejected: the far end refused or failed the REFER.
	ErrTransferRejected = errors.New("ivr: transfer rejected")

	// ErrUnknownPrompt: the prompt source does not know the prompt name.
	ErrUnknownPrompt = errors.New("ivr: unknown prompt")

	// ErrBadRTP: a datagram on the media port is not an RTP packet we accept.
	ErrBadRTP = errors.New("ivr: bad RTP packet")
)
