package media

import (
	"strings"

	"github.com/paybridge/paybridge/dtmf"
)

// Codec is an audio payload format a session speaks: an encoding (G.711 μ-law or A-law at
// 8 kHz, one byte per sample) and the RTP payload type the SDP bound it to. It is a small
// comparable value: two sessions agree when their codecs are ==. The zero Codec is no codec.
//
// Every place that turns samples into a payload or back goes through Encode and Decode; no
// caller chooses the law by comparing names.
type Codec struct {
	pt  uint8
	law law
}

type law uint8

const (
	lawNone law = iota
	lawU
	lawA
)

// The two static G.711 payload formats (RFC 3551): PCMU on payload type 0, PCMA on 8. An
// offer may bind either to another payload type (WithPayloadType).
var (
	PCMU = Codec{pt: 0, law: lawU}
	PCMA = Codec{pt: 8, law: lawA}
)

// CodecByName returns the codec an rtpmap encoding name and clock rate stand for ("PCMU/8000",
// "pcma/8000"), bound to payload type pt; false for anything paybridge cannot speak.
func CodecByName(name string, rate int, pt uint8) (Codec, bool) {
	if rate != 8000 || pt > 127 {
		return Codec{}, false
	}
	switch strings.ToUpper(name) {
	case "PCMU":
		return Codec{pt: pt, law: lawU}, true
	case "PCMA":
		return Codec{pt: pt, law: lawA}, true
	}
	return Codec{}, false
}

// IsZero reports whether c is no codec.
func (c Codec) IsZero() bool { return c.law == lawNone }

// Name is the rtpmap encoding name: "PCMU", "PCMA", or "" for the zero Codec.
func (c Codec) Name() string {
	switch c.law {
	case lawU:
		return "PCMU"
	case lawA:
		return "PCMA"
	}
	return ""
}

// String is Name.
func (c Codec) String() string { return c.Name() }

// PayloadType is the RTP payload type the codec is bound to.
func (c Codec) PayloadType() uint8 { return c.pt }

// ClockRate is the RTP clock rate (8000 for G.711; 0 for the zero Codec).
func (c Codec) ClockRate() int {
	if c.law == lawNone {
		return 0
	}
	return 8000
}

// WithPayloadType is the same encoding bound to payload type pt (a dynamic rtpmap).
func (c Codec) WithPayloadType(pt uint8) Codec {
	c.pt = pt
	return c
}

// Encode writes len(pcm) 8 kHz samples as the codec's payload into dst (which must be at
// least as long; G.711 is one byte a sample) and returns the payload length. The zero Codec
// encodes nothing.
func (c Codec) Encode(dst []byte, pcm []int16) int {
	switch c.law {
	case lawU:
		dtmf.EncodeULaw(dst, pcm)
	case lawA:
		dtmf.EncodeALaw(dst, pcm)
	default:
		return 0
	}
	return len(pcm)
}

// Decode writes the samples of payload into dst (which must be at least len(payload) long)
// and returns how many. The zero Codec decodes nothing.
func (c Codec) Decode(dst []int16, payload []byte) int {
	switch c.law {
	case lawU:
		dtmf.DecodeULaw(dst, payload)
	case lawA:
		dtmf.DecodeALaw(dst, payload)
	default:
		return 0
	}
	return len(payload)
}
