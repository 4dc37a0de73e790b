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
	// ErrUnsupportedTransport: the audio m-line's transport is not one paybridge speaks
	// (DTLS-SRTP, TCP media), or is RTP/SAVP while SRTP is off.
	ErrUnsupportedTransport = errors.New("media: unsupported media transport")

	// ErrSRTPRequired: the policy requires SRTP and the description has no encrypted audio
	// stream (a plain RTP/AVP offer).
	ErrSRTPRequired = errors.New("media: SRTP required, the offer has no RTP/SAVP stream with a usable a=crypto")
	// ErrNoCommonCrypto: an encrypted stream whose a=crypto lines are none paybridge can use.
	ErrNoCommonCrypto = errors.New("media: no usable a=crypto (AES_CM_128_HMAC_SHA1_80/_32, AES_256_CM_HMAC_SHA1_80/_32, AEAD_AES_128_GCM, AEAD_AES_256_GCM)")
	// ErrCryptoMalformed: an a=crypto attribute that does not follow RFC 4568.
	ErrCryptoMalformed = errors.New("media: malformed a=crypto")
	// ErrCryptoSuite: an SDES crypto suite paybridge does not speak.
	ErrCryptoSuite = errors.New("media: unsupported crypto suite")
	// ErrCryptoUnsupported: an a=crypto line with parameters paybridge does not support.
	ErrCryptoUnsupported = errors.New("media: unsupported a=crypto parameters")
	// ErrCryptoMismatch: an answer whose a=crypto does not match a line of our offer.
	ErrCryptoMismatch = errors.New("media: a=crypto does not match the offer")
	// ErrEncryptionChange: new parameters that would turn a session's encryption on or off
	// (a re-INVITE may change keys, not whether the media is encrypted).
	ErrEncryptionChange = errors.New("media: a re-offer must keep the call's media encryption")
	// ErrSRTPPolicy: not an SRTP policy name.
	ErrSRTPPolicy = errors.New("media: bad SRTP policy")
	// ErrSRTPAuth: an SRTP packet failed authentication (a wrong key, a tampered or forged
	// packet). Counted, never logged per packet.
	ErrSRTPAuth = errors.New("media: SRTP authentication failed")
	// ErrSRTPReplay: an SRTP packet already received (or older than the replay window).
	ErrSRTPReplay = errors.New("media: SRTP packet replayed")

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
