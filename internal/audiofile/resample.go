package audiofile

import (
	"math"
	"sync"
)

// Resampling: a band-limited (windowed-sinc) rational resampler in fixed point.
//
// Output sample n lies at input position n·from/to. Its value is the sum of the input samples
// within ±halfZeros zero crossings of a sinc low-pass at cutoff·min(from, to)/2, shaped by a
// Kaiser window. The cutoff sits below the lower Nyquist frequency, so downsampling does not
// alias (22 050 Hz speech → 8 kHz keeps 0–3.5 kHz and attenuates ≥ 4 kHz by more than 70 dB).
// Coefficients are Q30 integers and the sums int64, so the output is bit-identical on every
// platform — prompt packs regenerated from text come out byte for byte the same.
const (
	resampleCutoff    = 0.90 // of the lower Nyquist frequency
	resampleHalfZeros = 24   // sinc zero crossings on each side of the centre
	resampleBeta      = 8.0  // Kaiser window shape (≈ 80 dB side lobes)
	resampleMaxPhases = 2048 // larger up-factors compute their coefficients per sample
	resampleQ         = 30
)

// MinRate and MaxRate bound the sample rates Resample and ConvertWAV accept.
const (
	MinRate = 1000
	MaxRate = 384000
)

type kernel struct {
	up, down int     // reduced ratio: to = up·g, from = down·g
	taps     int     // coefficients per output sample
	first    int     // offset of the first tap relative to the input index ⌊pos⌋
	scale    float64 // 2·fc/from (gain of the discrete low-pass)
	fcn      float64 // cutoff in cycles per input sample
	half     float64 // window half-width in input samples
	table    []int32 // up × taps coefficients, phase-major; nil when computed per sample
}

var kernels sync.Map // [2]int{from, to} → *kernel

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func kernelFor(from, to int) *kernel {
	key := [2]int{from, to}
	if k, ok := kernels.Load(key); ok {
		return k.(*kernel)
	}
	g := gcd(from, to)
	k := &kernel{up: to / g, down: from / g}
	fc := resampleCutoff * float64(min(from, to)) / 2 // Hz
	k.fcn = fc / float64(from)
	k.scale = 2 * k.fcn
	k.half = resampleHalfZeros / (2 * k.fcn)
	k.first = -int(math.Floor(k.half))
	k.taps = 2*int(math.Floor(k.half)) + 2
	if k.up <= resampleMaxPhases {
		k.table = make([]int32, k.up*k.taps)
		for p := 0; p < k.up; p++ {
			frac := float64(p) / float64(k.up)
			for j := 0; j < k.taps; j++ {
				k.table[p*k.taps+j] = k.coef(frac - float64(k.first+j))
			}
		}
	}
	actual, _ := kernels.LoadOrStore(key, k)
	return actual.(*kernel)
}

// coef is the Q30 coefficient for an input sample d input samples before the output position.
func (k *kernel) coef(d float64) int32 {
	if math.Abs(d) >= k.half {
		return 0
	}
	x := 2 * k.fcn * d
	s := 1.0
	if x != 0 {
		s = math.Sin(math.Pi*x) / (math.Pi * x)
	}
	r := d / k.half
	w := besselI0(resampleBeta*math.Sqrt(1-r*r)) / besselI0(resampleBeta)
	return int32(math.Round(k.scale * s * w * (1 << resampleQ)))
}

// besselI0 is the modified Bessel function of the first kind, order 0 (power series).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for i := 1; i < 64; i++ {
		term *= q / float64(i*i)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

// Resample converts 16-bit mono audio from one sample rate to another with an anti-aliasing
// low-pass filter. Equal rates return a copy of in; a rate outside MinRate…MaxRate returns
// nil (callers check rates first: ConvertWAV reports them as ErrUnsupported).
func Resample(in []int16, from, to int) []int16 {
	if from == to {
		return append([]int16(nil), in...)
	}
	if from < MinRate || from > MaxRate || to < MinRate || to > MaxRate {
		return nil
	}
	k := kernelFor(from, to)
	n := (len(in)*k.up + k.down - 1) / k.down
	out := make([]int16, n)
	var dyn []int32
	if k.table == nil {
		dyn = make([]int32, k.taps)
	}
	for i := range out {
		num := i * k.down
		base, phase := num/k.up, num%k.up
		var c []int32
		if k.table != nil {
			c = k.table[phase*k.taps : (phase+1)*k.taps]
		} else {
			frac := float64(phase) / float64(k.up)
			for j := range dyn {
				dyn[j] = k.coef(frac - float64(k.first+j))
			}
			c = dyn
		}
		start := base + k.first
		lo, hi := 0, len(c)
		if start < 0 {
			lo = -start
		}
		if start+hi > len(in) {
			hi = len(in) - start
		}
		out[i] = clip16((dot(c[lo:hi], in[start+lo:start+hi]) + 1<<(resampleQ-1)) >> resampleQ)
	}
	return out
}

// dot is Σ c[j]·x[j] over len(x) ≤ len(c), four at a time (the resampler's inner loop).
func dot(c []int32, x []int16) int64 {
	c = c[:len(x)]
	var a0, a1, a2, a3 int64
	j := 0
	for ; j+4 <= len(x); j += 4 {
		a0 += int64(c[j]) * int64(x[j])
		a1 += int64(c[j+1]) * int64(x[j+1])
		a2 += int64(c[j+2]) * int64(x[j+2])
		a3 += int64(c[j+3]) * int64(x[j+3])
	}
	for ; j < len(x); j++ {
		a0 += int64(c[j]) * int64(x[j])
	}
	return a0 + a1 + a2 + a3
}

func clip16(v int64) int16 {
	if v > math.MaxInt16 {
		return math.MaxInt16
	}
	if v < math.MinInt16 {
		return math.MinInt16
	}
	return int16(v)
}
