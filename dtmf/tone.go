package dtmf

import (
	"math"
	"time"
)

// SampleRate is the audio rate of every sample slice in this package: 8 kHz, G.711's rate.
const SampleRate = 8000

// The DTMF frequency grid: rows are the low group, columns the high group.
var (
	rowFreqs = [4]float64{697, 770, 852, 941}
	colFreqs = [4]float64{1209, 1336, 1477, 1633}
)

// keypad lays the sixteen keys out by row and column.
const keypad = "123A456B789C*0#D"

// Freqs returns the low-group and high-group frequencies of d in Hz (ok false for a non-key).
func (d Digit) Freqs() (low, high float64, ok bool) {
	for i := 0; i < len(keypad); i++ {
		if keypad[i] == byte(d) {
			return rowFreqs[i/4], colFreqs[i%4], true
		}
	}
	return 0, 0, false
}

// DBm0ToPeak converts a sine level in dBm0 to its peak amplitude in 16-bit linear units
// (G.711: a 0 dBm0 sine peaks at 3.14 dB below full scale).
func DBm0ToPeak(dbm0 float64) float64 { return 32767 * math.Pow(10, (dbm0-3.14)/20) }

// ToneOptions shapes generated DTMF tones.
type ToneOptions struct {
	// Level of the low-group tone in dBm0 (0 is loud; −10 is typical of a phone).
	Level float64
	// Twist is the high-group level minus the low-group level in dB.
	Twist float64
	// Duration of each tone; zero means 60 ms.
	Duration time.Duration
	// Gap is the silence after each tone in GenerateDigits; zero means 60 ms, negative none.
	Gap time.Duration
	// LowOffset and HighOffset detune the tones by a fraction (0.015 is +1.5 %).
	LowOffset, HighOffset float64
	// LowPhase and HighPhase are the start phases in radians.
	LowPhase, HighPhase float64
}

// DefaultToneOptions are a phone's typical tones: −10 dBm0 per tone, no twist, 60 ms on/off.
func DefaultToneOptions() ToneOptions {
	return ToneOptions{Level: -10, Duration: 60 * time.Millisecond, Gap: 60 * time.Millisecond}
}

func samplesOf(d time.Duration) int {
	return int((d*SampleRate + time.Second/2) / time.Second)
}

// GenerateDigit returns the tone pair of d at 8 kHz, or nil when d is not a key. Samples
// saturate at the 16-bit limits rather than wrap.
func GenerateDigit(d Digit, opt ToneOptions) []int16 {
	lo, hi, ok := d.Freqs()
	if !ok {
		return nil
	}
	dur := opt.Duration
	if dur == 0 {
		dur = 60 * time.Millisecond
	}
	n := samplesOf(dur)
	out := make([]int16, n)
	addTone(out, lo*(1+opt.LowOffset), DBm0ToPeak(opt.Level), opt.LowPhase)
	addTone(out, hi*(1+opt.HighOffset), DBm0ToPeak(opt.Level+opt.Twist), opt.HighPhase)
	return out
}

// GenerateDigits returns the keys of s, each followed by opt.Gap of silence. Characters that
// are not keys (spaces, commas) become a tone-length pause.
func GenerateDigits(s string, opt ToneOptions) []int16 {
	gap := opt.Gap
	if gap == 0 {
		gap = 60 * time.Millisecond
	}
	if gap < 0 {
		gap = 0
	}
	var out []int16
	for i := 0; i < len(s); i++ {
		d, ok := ParseDigit(s[i])
		var t []int16
		if ok {
			t = GenerateDigit(d, opt)
		} else {
			t = make([]int16, len(GenerateDigit('1', opt)))
		}
		out = append(out, t...)
		out = append(out, make([]int16, samplesOf(gap))...)
	}
	return out
}

// addTone adds a sine of frequency f and peak amplitude a to buf, with saturation.
func addTone(buf []int16, f, a, phase float64) {
	w := 2 * math.Pi * f / SampleRate
	for i := range buf {
		v := float64(buf[i]) + a*math.Sin(w*float64(i)+phase)
		buf[i] = saturate(v)
	}
}

func saturate(v float64) int16 {
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(math.Round(v))
}
