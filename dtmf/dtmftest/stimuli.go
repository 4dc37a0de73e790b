// Package dtmftest builds the conformance matrix of docs/dtmf.md (rows D1–D14) as plain 8 kHz linear
// audio, seeded and reproducible, so that paybridge's detector tests and the side-by-side
// comparison with spandsp run on exactly the same samples.
//
// It depends on nothing (not even package dtmf), so dtmf's own tests can import it.
package dtmftest

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Rate is the sample rate of every stimulus.
const Rate = 8000

// Keys are the sixteen DTMF keys in keypad order.
const Keys = "123A456B789C*0#D"

var (
	rowF = [4]float64{697, 770, 852, 941}
	colF = [4]float64{1209, 1336, 1477, 1633}
)

// Freqs returns the row and column frequency of key k.
func Freqs(k byte) (lo, hi float64) {
	for i := 0; i < len(Keys); i++ {
		if Keys[i] == k {
			return rowF[i/4], colF[i%4]
		}
	}
	panic(fmt.Sprintf("dtmftest: %q is not a key", k))
}

// Peak converts dBm0 to a sine's peak amplitude in 16-bit units.
func Peak(dbm0 float64) float64 { return 32767 * math.Pow(10, (dbm0-3.14)/20) }

// Case is one stimulus with the keys a correct detector reports for it.
type Case struct {
	Row  string // "D1" … "D14"
	Name string
	Must bool // a MUST row of the conformance matrix (false: SHOULD)
	// Audio is linear 8 kHz audio before G.711; Gaps lists lost-packet spans for D13.
	Audio []float64
	Gaps  []Span
	Want  string
	// MinScore < 1 allows misses: score = (matched − extra) / len(Want).
	MinScore float64
	// Onsets are the sample offsets where each wanted key's tone begins (for latency).
	Onsets []int
}

// Span is a half-open sample range.
type Span struct{ From, To int }

// Gen builds stimuli from one seed.
type Gen struct{ R *rand.Rand }

// New returns a generator seeded with seed.
func New(seed uint64) *Gen { return &Gen{R: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

// Tone describes one keypress.
type Tone struct {
	Key             byte
	LowDB, HighDB   float64 // level per tone, dBm0
	LowDev, HighDev float64 // frequency deviation (fraction)
	OnMS, OffMS     float64
}

// Std is a standard −10 dBm0 keypress of on/off milliseconds.
func Std(k byte, on, off float64) Tone {
	return Tone{Key: k, LowDB: -10, HighDB: -10, OnMS: on, OffMS: off}
}

// Append adds t (random phases) to buf and returns it with the tone's onset offset.
func (g *Gen) Append(buf []float64, t Tone) ([]float64, int) {
	lo, hi := Freqs(t.Key)
	lo *= 1 + t.LowDev
	hi *= 1 + t.HighDev
	on := int(math.Round(t.OnMS * Rate / 1000))
	off := int(math.Round(t.OffMS * Rate / 1000))
	al, ah := Peak(t.LowDB), Peak(t.HighDB)
	pl, ph := g.R.Float64()*2*math.Pi, g.R.Float64()*2*math.Pi
	onset := len(buf)
	for i := 0; i < on; i++ {
		ti := float64(i) / Rate
		buf = append(buf, al*math.Sin(2*math.Pi*lo*ti+pl)+ah*math.Sin(2*math.Pi*hi*ti+ph))
	}
	return append(buf, make([]float64, off)...), onset
}

// Lead returns 0–101 samples of silence: a random alignment against 102-sample blocks.
func (g *Gen) Lead() []float64 { return make([]float64, g.R.IntN(102)) }

func (g *Gen) seq(row, name string, must bool, tones []Tone) Case {
	c := Case{Row: row, Name: name, Must: must, Audio: g.Lead()}
	for _, t := range tones {
		var on int
		c.Audio, on = g.Append(c.Audio, t)
		c.Onsets = append(c.Onsets, on)
		c.Want += string(t.Key)
	}
	c.Audio = append(c.Audio, make([]float64, 800)...)
	return c
}

func (g *Gen) rejected(row, name string, must bool, t Tone) Case {
	c := g.seq(row, name, must, []Tone{t})
	c.Want, c.Onsets = "", nil
	return c
}

// AddNoise adds white Gaussian noise of power dbm0 (as the power of a sine of that level).
func (g *Gen) AddNoise(buf []float64, dbm0 float64) {
	rms := Peak(dbm0) / math.Sqrt2
	for i := range buf {
		buf[i] += rms * g.R.NormFloat64()
	}
}

// Matrix returns every stimulus of the conformance matrix's rows D1–D10, D13 and D14
// (docs/dtmf.md), seeded.
func Matrix(seed uint64) []Case {
	g := New(seed)
	var cs []Case

	// D1: 16 keys × 10, −10 dBm0, 50/50 ms.
	var d1 []Tone
	for r := 0; r < 10; r++ {
		for i := 0; i < len(Keys); i++ {
			d1 = append(d1, Std(Keys[i], 50, 50))
		}
	}
	cs = append(cs, g.seq("D1", "16 keys x10 50/50ms -10dBm0", true, d1))

	// D2, D3: frequency deviation of one tone, then both.
	for i := 0; i < len(Keys); i++ {
		k := Keys[i]
		for _, dev := range []float64{0.015, -0.015} {
			lo, hi := Std(k, 50, 50), Std(k, 50, 50)
			lo.LowDev, hi.HighDev = dev, dev
			both := Std(k, 50, 50)
			both.LowDev, both.HighDev = dev, dev
			cs = append(cs, g.seq("D2", fmt.Sprintf("%c low %+.1f%%", k, dev*100), true, []Tone{lo}),
				g.seq("D2", fmt.Sprintf("%c high %+.1f%%", k, dev*100), true, []Tone{hi}),
				g.seq("D2", fmt.Sprintf("%c both %+.1f%%", k, dev*100), false, []Tone{both}))
		}
		for _, dev := range []float64{0.05, -0.05, 0.035, -0.035} {
			must := math.Abs(dev) >= 0.05
			lo, hi := Std(k, 50, 50), Std(k, 50, 50)
			lo.LowDev, hi.HighDev = dev, dev
			cs = append(cs, g.rejected("D3", fmt.Sprintf("%c low %+.1f%%", k, dev*100), must, lo),
				g.rejected("D3", fmt.Sprintf("%c high %+.1f%%", k, dev*100), must, hi))
		}
	}

	// D4: twist = high − low, the louder tone at −3 dBm0... but accepted cases at −10 dBm0 low.
	for i := 0; i < len(Keys); i++ {
		k := Keys[i]
		for tw := -8.0; tw <= 4.0; tw += 0.5 {
			t := Std(k, 50, 50)
			if tw < 0 {
				t.LowDB, t.HighDB = -6, -6+tw
			} else {
				t.LowDB, t.HighDB = -6-tw, -6
			}
			must := tw >= -7 && tw <= 3.5
			cs = append(cs, g.seq("D4", fmt.Sprintf("%c twist %+.1fdB", k, tw), must, []Tone{t}))
		}
		for _, tw := range []float64{-12, -14, 8, 10} {
			t := Std(k, 50, 50)
			if tw < 0 {
				t.LowDB, t.HighDB = -6, -6+tw
			} else {
				t.LowDB, t.HighDB = -6-tw, -6
			}
			cs = append(cs, g.rejected("D4", fmt.Sprintf("%c twist %+.0fdB", k, tw), true, t))
		}
	}

	// D5: level.
	for i := 0; i < len(Keys); i++ {
		k := Keys[i]
		for lvl := 3.0; lvl >= -30; lvl-- {
			t := Std(k, 50, 50)
			t.LowDB, t.HighDB = lvl, lvl
			cs = append(cs, g.seq("D5", fmt.Sprintf("%c %+.0fdBm0", k, lvl), true, []Tone{t}))
		}
		for _, lvl := range []float64{-55, -60} {
			t := Std(k, 50, 50)
			t.LowDB, t.HighDB = lvl, lvl
			cs = append(cs, g.rejected("D5", fmt.Sprintf("%c %+.0fdBm0", k, lvl), true, t))
		}
	}

	// D6: duration in 1 ms steps, 20 alignments each.
	for ms := 5; ms <= 60; ms++ {
		for a := 0; a < 20; a++ {
			k := Keys[g.R.IntN(16)]
			name := fmt.Sprintf("%c %dms #%d", k, ms, a)
			switch {
			case ms >= 40:
				cs = append(cs, g.seq("D6", name, true, []Tone{Std(k, float64(ms), 100)}))
			case ms <= 20:
				cs = append(cs, g.rejected("D6", name, true, Std(k, float64(ms), 100)))
			}
		}
	}

	// D7: the same key twice with a gap; one tone with a dropout.
	for i := 0; i < len(Keys); i++ {
		k := Keys[i]
		for _, gap := range []float64{40, 50, 60} {
			cs = append(cs, g.seq("D7", fmt.Sprintf("%c%c gap %.0fms", k, k, gap), true,
				[]Tone{Std(k, 50, gap), Std(k, 50, 50)}))
		}
		for _, drop := range []float64{5, 10, 15} {
			c := g.seq("D7", fmt.Sprintf("%c dropout %.0fms", k, drop), drop <= 10,
				[]Tone{Std(k, 50, drop), Std(k, 50, 60)})
			c.Want, c.Onsets = string(k), c.Onsets[:1]
			cs = append(cs, c)
		}
	}

	// D8: 16 keys at 93 ms per key.
	var d8 []Tone
	for i := 0; i < len(Keys); i++ {
		d8 = append(d8, Std(Keys[i], 45, 48))
	}
	cs = append(cs, g.seq("D8", "16 keys 45on/48off", true, d8))

	// D9: white noise at S/N (DTMF power / noise power) 15 and 12 dB, 1000 keys each.
	for _, snr := range []float64{15, 12} {
		var ts []Tone
		for i := 0; i < 1000; i++ {
			ts = append(ts, Std(Keys[g.R.IntN(16)], 50, 50))
		}
		c := g.seq("D9", fmt.Sprintf("S/N %.0fdB x1000", snr), true, ts)
		// two tones at −10 dBm0 carry the power of one sine at −7 dBm0
		g.AddNoise(c.Audio, -10+10*math.Log10(2)-snr)
		c.MinScore = 1
		if snr < 15 {
			c.MinScore = 0.995
		}
		cs = append(cs, c)
	}

	// D10: things that are not digits.
	sec := func() []float64 { return make([]float64, Rate*2) }
	noise := func(db float64) []float64 { b := sec(); g.AddNoise(b, db); return b }
	sines := func(db float64, fs ...float64) []float64 {
		b := sec()
		for _, f := range fs {
			ph := g.R.Float64() * 2 * math.Pi
			for i := range b {
				b[i] += Peak(db) * math.Sin(2*math.Pi*f*float64(i)/Rate+ph)
			}
		}
		return b
	}
	busy := func() []float64 { // 480+620 Hz, 500 ms on/off
		b := sines(-13, 480, 620)
		for i := range b {
			if (i/4000)%2 == 1 {
				b[i] = 0
			}
		}
		return b
	}
	d10 := []struct {
		name string
		a    []float64
	}{
		{"idle noise -60dBm0", noise(-60)}, {"idle noise -40dBm0", noise(-40)}, {"idle noise -20dBm0", noise(-20)},
		{"dial tone 350+440", sines(-13, 350, 440)}, {"busy tone 480+620", busy()},
		{"1004 Hz -10dBm0", sines(-10, 1004)}, {"2100 Hz -10dBm0", sines(-10, 2100)},
	}
	for _, f := range append(rowF[:], colF[:]...) {
		d10 = append(d10, struct {
			name string
			a    []float64
		}{fmt.Sprintf("single %.0f Hz", f), sines(-10, f)})
	}
	for _, grp := range [][4]float64{rowF, colF} {
		for i := 0; i < 4; i++ {
			for j := i + 1; j < 4; j++ {
				d10 = append(d10, struct {
					name string
					a    []float64
				}{fmt.Sprintf("same group %.0f+%.0f", grp[i], grp[j]), sines(-10, grp[i], grp[j])})
			}
		}
	}
	for _, x := range d10 {
		cs = append(cs, Case{Row: "D10", Name: x.name, Must: true, Audio: x.a})
	}

	// D13: one 20 ms frame lost inside a 100 ms tone (the media layer reports the gap).
	for i := 0; i < len(Keys); i++ {
		c := g.seq("D13", fmt.Sprintf("%c 100ms, 20ms lost", Keys[i]), true, []Tone{Std(Keys[i], 100, 100)})
		from := c.Onsets[0] + 160 + g.R.IntN(480)
		c.Gaps = []Span{{from, from + 160}}
		cs = append(cs, c)
	}

	// D14: latency, measured on a run of keys at 60/60 ms.
	var d14 []Tone
	for i := 0; i < 64; i++ {
		d14 = append(d14, Std(Keys[i%16], 60, 60))
	}
	cs = append(cs, g.seq("D14", "latency 64 keys", true, d14))
	return cs
}

// Score compares the keys found with the keys wanted: (matched − extra) / len(want), where
// matched is the longest common subsequence. An empty want scores 1 only when got is empty.
func Score(got, want string) float64 {
	if want == "" {
		if got == "" {
			return 1
		}
		return 0
	}
	m := lcs(got, want)
	extra := len(got) - m
	return float64(m-extra) / float64(len(want))
}

func lcs(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			switch {
			case a[i-1] == b[j-1]:
				cur[j] = prev[j-1] + 1
			case prev[j] >= cur[j-1]:
				cur[j] = prev[j]
			default:
				cur[j] = cur[j-1]
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Quantize converts to int16 with saturation.
func Quantize(a []float64) []int16 {
	out := make([]int16, len(a))
	for i, v := range a {
		switch {
		case v > 32767:
			out[i] = 32767
		case v < -32768:
			out[i] = -32768
		default:
			out[i] = int16(math.Round(v))
		}
	}
	return out
}

// Frames splits n samples into frame lengths: fixed size, or random 1–400 when size is 0.
func (g *Gen) Frames(n, size int) []int {
	var fs []int
	for n > 0 {
		f := size
		if f == 0 {
			f = 1 + g.R.IntN(400)
		}
		if f > n {
			f = n
		}
		fs = append(fs, f)
		n -= f
	}
	return fs
}

// LeakStimulus builds the masker leak test's input: n keypresses with random level
// (−26…−4 dBm0 for the louder tone), twist (−8…+4 dB), ±1 % frequency, 40–140 ms on and
// 40–200 ms off, random phases. It returns linear audio (before G.711) and each tone's span.
func LeakStimulus(n int, seed uint64) ([]float64, []Span) {
	g := New(seed)
	buf := make([]float64, 400)
	var spans []Span
	for i := 0; i < n; i++ {
		lo := -26 + 22*g.R.Float64()
		tw := -8 + 12*g.R.Float64()
		hi := lo + tw
		if hi > -4 {
			lo, hi = lo-(hi+4), -4
		}
		t := Tone{Key: Keys[g.R.IntN(16)], LowDB: lo, HighDB: hi,
			LowDev: -0.01 + 0.02*g.R.Float64(), HighDev: -0.01 + 0.02*g.R.Float64(),
			OnMS: float64(40 + g.R.IntN(100)), OffMS: float64(40 + g.R.IntN(160))}
		var on int
		buf, on = g.Append(buf, t)
		spans = append(spans, Span{on, on + int(math.Round(t.OnMS*Rate/1000))})
	}
	return buf, spans
}
