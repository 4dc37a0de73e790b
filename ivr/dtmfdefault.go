package ivr

import (
	"time"

	"github.com/paybridge/paybridge/dtmf"
)

// defaultDTMF is used until dtmf.NewStream is available: no detection at all.
// TODO(ivr): switch to dtmf.NewStream(dtmf.StreamConfig{OnDigit: onDigit}).
func defaultDTMF(onDigit func(dtmf.Event)) DTMFStream { return nopStream{} }

type nopStream struct{}

func (nopStream) Audio([]int16)                         {}
func (nopStream) Gap(int)                               {}
func (nopStream) TelephoneEvent(uint32, uint16, []byte) {}
func (nopStream) Info(string, []byte) error             { return nil }
func (nopStream) Advance(time.Duration)                 {}
