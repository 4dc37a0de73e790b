package media

import "errors"

// Sentinel errors of the media package. They never carry card data: RTP payloads, DTMF
// bodies and digits are never part of an error message. The SDP errors' texts are fit for the
// reason of a SIP 488 answer.
var (
	// ErrSDPMalformed: the body is not SDP even after the lenient fallback parser.
	ErrSDPMalformed = errors.New("media: malformed SDP")
	// ErrNoAudio: the description has no usable audio m-line.
	ErrNoAudio = errors.New("media: no audio stream offered")
	// ErrNoCommonCodec: no offered audio format is PCMU or PCMA at 8 kHz.
	ErrNoCommonCodec = errors.New("media: no common codec (PCMU/PCMA)")
	// ErrUnsupportedTransport: the audio m-line is not RTP/AVP (SRTP, DTLS, TCP media).
	ErrUnsupportedTransport = errors.New("media: unsupported media transport")

	// ErrPortRange: an RTP port range that holds no usable port.
	ErrPortRange = errors.New("media: bad RTP port range")
	// ErrNoPorts: every RTP port of the pool is in use.
	ErrNoPorts = errors.New("media: RTP port pool exhausted")

	// ErrTimeout: no RTP arrived within SessionConfig.Timeout while the far end should send.
	ErrTimeout = errors.New("media: no RTP within the media timeout")
	// ErrClosed: the session has been closed.
	ErrClosed = errors.New("media: session closed")

	// ErrNoTelephoneEvent: the far end negotiated no telephone-event payload type, so keys
	// cannot be sent to it as RFC 4733 events.
	ErrNoTelephoneEvent = errors.New("media: the far end negotiated no telephone-event")
	// ErrDigitQueueFull: too many keys are waiting to be sent.
	ErrDigitQueueFull = errors.New("media: too many keys queued")
	// ErrNotBridged: the session is not a leg of the bridge.
	ErrNotBridged = errors.New("media: session is not a leg of this bridge")
)
