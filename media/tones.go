package media

import (
	"math"
	"sync"
	"time"

	"github.com/paybridge/paybridge/dtmf"
)

// Ring-back tones: what a caller hears while a leg placed for them rings and the far end sends
// no early media of its own (ITU-T E.180 and national practice).
const (
	RingUS = "us" // 440 + 480 Hz, 2 s on, 4 s off (North America)
	RingUK = "uk" // 400 + 450 Hz, 0.4 s on, 0.2 s off, 0.4 s on, 2 s off
	RingEU = "eu" // 425 Hz, 1 s on, 4 s off (most of Europe)
)

// RingTones are the ring-back styles RingbackTone knows.
var RingTones = []string{RingUS, RingUK, RingEU}

// RingbackTone returns one cadence of the ring-back tone style (8 kHz PCM, about −19 dBm0 per
// frequency), to be played in a loop; false for a style it does not know. The samples are
// rendered once per style and shared by every caller (so every leg ringing with a style plays
// one slice, and shares its encoding: encoded.go): do not modify them.
func RingbackTone(style string) ([]int16, bool) {
	t, ok := ringbacks[style]
	if !ok {
		return nil, false
	}
	t.once.Do(func() { t.pcm, _ = renderRingback(style) })
	return t.pcm, true
}

type ringback struct {
	once sync.Once
	pcm  []int16
}

var ringbacks = map[string]*ringback{RingUS: {}, RingUK: {}, RingEU: {}}

// renderRingback renders one cadence of style.
func renderRingback(style string) ([]int16, bool) {
	type seg struct {
		on     bool
		length time.Duration
	}
	var freqs []float64
	var cadence []seg
	switch style {
	case RingUS:
		freqs, cadence = []float64{440, 480}, []seg{{true, 2 * time.Second}, {false, 4 * time.Second}}
	case RingUK:
		freqs, cadence = []float64{400, 450}, []seg{{true, 400 * time.Millisecond}, {false, 200 * time.Millisecond},
			{true, 400 * time.Millisecond}, {false, 2 * time.Second}}
	case RingEU:
		freqs, cadence = []float64{425}, []seg{{true, time.Second}, {false, 4 * time.Second}}
	default:
		return nil, false
	}
	var out []int16
	amp := dtmf.DBm0ToPeak(-19)
	for _, s := range cadence {
		n := samples(s.length)
		start := len(out)
		out = append(out, make([]int16, n)...)
		if !s.on {
			continue
		}
		for i := 0; i < n; i++ {
			v := 0.0
			for _, f := range freqs {
				v += math.Sin(2 * math.Pi * f * float64(start+i) / 8000)
			}
			out[start+i] = int16(amp * v)
		}
	}
	return out, true
}
