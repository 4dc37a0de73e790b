package ivr

import (
	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/media"
)

// defaultDTMF is the per-call detector: dtmf's merged stream (in-band, RFC 4733, INFO).
func defaultDTMF(onDigit func(dtmf.Event)) media.DTMFStream {
	return dtmf.NewStream(dtmf.StreamConfig{OnDigit: onDigit})
}
