package dtmf

import "math"

// Block analysis: the Goertzel filter bank that both the Detector and the Masker run over
// 102-sample (12.75 ms) blocks.

const (
	blockLen = 102 // 12.75 ms at 8 kHz: bins ~78 Hz wide, narrow enough to separate the rows
	blockHop = 51  // blocks overlap by half, so a block starts every 6.4 ms
	sideStep = 0.05
)

// goertzel is one precomputed Goertzel filter.
type goertzel struct{ coef float32 }

func newGoertzel(f float64) goertzel {
	return goertzel{coef: float32(2 * math.Cos(2*math.Pi*f/SampleRate))}
}

// power returns |X(f)|² over x.
func (g goertzel) power(x []float32) float32 {
	var s1, s2 float32
	c := g.coef
	for _, v := range x {
		s1, s2 = v+c*s1-s2, s1
	}
	return s1*s1 + s2*s2 - c*s1*s2
}

// bank holds the filters for the eight DTMF tones and their ±5 % neighbours.
type bank struct {
	tone [8]goertzel
	low  [8]goertzel // f × 0.95
	high [8]goertzel // f × 1.05
}

func newBank() *bank {
	b := new(bank)
	for i := 0; i < 8; i++ {
		f := rowFreqs[i%4]
		if i >= 4 {
			f = colFreqs[i-4]
		}
		b.tone[i] = newGoertzel(f)
		b.low[i] = newGoertzel(f * (1 - sideStep))
		b.high[i] = newGoertzel(f * (1 + sideStep))
	}
	return b
}

var sharedBank = newBank()

// limits are the acceptance rules of one block.
type limits struct {
	minPower    float32 // |X|² of a full-block tone at the minimum level
	maxNormal   float32 // low louder than high by at most this power ratio
	maxReverse  float32 // high louder than low by at most this power ratio
	relPeak     float32 // other tones of the group at least this ratio down
	minFraction float32 // the two tones carry at least this share of the block energy
	checkFreq   bool    // refuse tones nearer ±5 % than the nominal frequency
}

func dbRatio(db float64) float32 { return float32(math.Pow(10, db/10)) }

func levelPower(dbm0 float64) float32 {
	a := DBm0ToPeak(dbm0) * blockLen / 2
	return float32(a * a)
}

// strictLimits decide digits. Tuned by measurement against the DTMF.md rows (see docs/dtmf.md).
var strictLimits = limits{
	minPower:    levelPower(-42),
	maxNormal:   dbRatio(10.5),
	maxReverse:  dbRatio(6.5),
	relPeak:     dbRatio(8),
	minFraction: 0.70,
	checkFreq:   true,
}

// maskLimits find anything that might be heard as a tone by any decoder: the Masker removes
// these blocks, so they are wide on purpose.
var maskLimits = limits{
	minPower:    levelPower(-50),
	maxNormal:   dbRatio(20),
	maxReverse:  dbRatio(20),
	relPeak:     dbRatio(3),
	minFraction: 0.35,
}

// analyze returns the key whose tone pair block x carries under lim, or 0.
func (b *bank) analyze(x []float32, lim *limits) Digit {
	var energy float32
	for _, v := range x {
		energy += v * v
	}
	if energy == 0 {
		return 0
	}
	var p [8]float32
	for i := range p {
		p[i] = b.tone[i].power(x)
	}
	r, c := 0, 4
	for i := 1; i < 4; i++ {
		if p[i] > p[r] {
			r = i
		}
		if p[i+4] > p[c] {
			c = i + 4
		}
	}
	if p[r] < lim.minPower || p[c] < lim.minPower {
		return 0
	}
	for i := 0; i < 4; i++ {
		if i != r && p[i]*lim.relPeak > p[r] {
			return 0
		}
		if i+4 != c && p[i+4]*lim.relPeak > p[c] {
			return 0
		}
	}
	pr, pc := p[r], p[c]
	if lim.checkFreq {
		var ok bool
		if pr, ok = b.peak(x, r, pr); !ok {
			return 0
		}
		if pc, ok = b.peak(x, c, pc); !ok {
			return 0
		}
	}
	if pr > pc*lim.maxNormal || pc > pr*lim.maxReverse {
		return 0
	}
	// A full-block sine of power P in |X|² carries 2P/N of the block's energy.
	if 2*(pr+pc) < lim.minFraction*blockLen*energy {
		return 0
	}
	return Digit(keypad[r*4+c-4])
}

// peak checks that tone i is nearer its nominal frequency than ±5 % (so within about
// ±2.5 %), and returns its power interpolated to the spectral peak.
func (b *bank) peak(x []float32, i int, p0 float32) (float32, bool) {
	pl, ph := b.low[i].power(x), b.high[i].power(x)
	if pl > p0 || ph > p0 {
		return 0, false
	}
	m0 := math.Sqrt(float64(p0))
	ml, mh := math.Sqrt(float64(pl)), math.Sqrt(float64(ph))
	den := ml - 2*m0 + mh
	if den >= 0 {
		return p0, true
	}
	d := 0.5 * (ml - mh) / den
	m := m0 - 0.25*(ml-mh)*d
	if m > 1.5*m0 {
		m = 1.5 * m0
	}
	return float32(m * m), true
}
