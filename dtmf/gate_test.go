package dtmf

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/paybridge/paybridge/dtmf/dtmftest"
)

// The energy gate's bound (gateMargin) holds for what the float32 filters compute, and it is
// tight: over each key's worst signal — the top eigenvector of its tones' Gram matrix, the
// block that puts the most of its energy into the two filters — at levels from the gate up
// to full scale, p_r + p_c never exceeds pairGain·Σx², and the worst key reaches 95 % of it.
// Random blocks (noise, tone pairs, detuned and mixed) stay under it as well.
func TestEnergyGateBound(t *testing.T) {
	b := sharedBank
	powers := func(x []float32) (p [8]float32, e float64) {
		var h0, h1, blk half
		b.run(x[:blockHop], &h0)
		b.run(x[blockHop:], &h1)
		b.join(&h0, &h1, &blk, &p)
		for _, v := range x {
			e += float64(v) * float64(v)
		}
		return p, e
	}
	worst := 0.0
	check := func(x []float32, r, c int) float64 {
		p, e := powers(x)
		ratio := (float64(p[r]) + float64(p[c])) / e
		if ratio > pairGain*(1+1e-4) {
			t.Fatalf("tones %d+%d: p_r+p_c = %.2f·Σx², above the bound %.2f", r, c, ratio, pairGain)
		}
		return ratio
	}
	for r := 0; r < 4; r++ {
		for c := 4; c < 8; c++ {
			top := topEigenvector(b.freq[r], b.freq[c])
			for _, amp := range []float64{30, 100, 300, 1000, 3000, 10000, 30000} {
				x := make([]float32, blockLen)
				for n := range x {
					x[n] = float32(math.Round(amp * top[n]))
				}
				worst = max(worst, check(x, r, c))
			}
		}
	}
	if worst < 0.95*pairGain {
		t.Fatalf("the worst signal reaches %.2f·Σx², the bound %.2f is loose", worst, pairGain)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 20000; trial++ {
		x := make([]float32, blockLen)
		fr := b.freq[rng.IntN(4)] * (1 + 0.04*(rng.Float64()-0.5))
		fc := b.freq[4+rng.IntN(4)] * (1 + 0.04*(rng.Float64()-0.5))
		a, noise := math.Pow(10, rng.Float64()*4), math.Pow(10, rng.Float64()*4)*rng.Float64()
		for n := range x {
			v := a*math.Sin(2*math.Pi*fr*float64(n)/SampleRate+1) +
				a*rng.Float64()*math.Sin(2*math.Pi*fc*float64(n)/SampleRate) + noise*rng.NormFloat64()
			x[n] = float32(math.Round(max(-32768, min(32767, v))))
		}
		for r := 0; r < 4; r++ {
			for c := 4; c < 8; c++ {
				check(x, r, c)
			}
		}
	}
}

// topEigenvector returns the unit block that maximises p_r + p_c / Σx² for tones fr and fc:
// the top eigenvector of M = Σ v·vᵀ over their cosines and sines (power iteration).
func topEigenvector(fr, fc float64) []float64 {
	var vs [4][]float64
	for i, f := range []float64{fr, fr, fc, fc} {
		w := 2 * math.Pi * f / SampleRate
		vs[i] = make([]float64, blockLen)
		for n := range vs[i] {
			if i%2 == 0 {
				vs[i][n] = math.Cos(w * float64(n))
			} else {
				vs[i][n] = math.Sin(w * float64(n))
			}
		}
	}
	x := make([]float64, blockLen)
	for n := range x {
		x[n] = vs[0][n] + vs[2][n]
	}
	for it := 0; it < 200; it++ {
		y := make([]float64, blockLen)
		for _, v := range vs {
			var d float64
			for n := range v {
				d += v[n] * x[n]
			}
			for n := range y {
				y[n] += d * v[n]
			}
		}
		var norm float64
		for _, v := range y {
			norm += v * v
		}
		norm = math.Sqrt(norm)
		for n := range y {
			x[n] = y[n] / norm
		}
	}
	return x
}

// gateStimulus is audio that puts many blocks on both sides of the energy gate: the
// conformance matrix, white noise from −75 to −30 dBm0, every key at −30 … −46 dBm0 per tone
// (the strict limits' minimum is −42) with twist, detuning and noise, a minute of speech at
// three levels, and music.
func gateStimulus(t *testing.T, seed uint64) []int16 {
	t.Helper()
	var pcm []int16
	for _, c := range dtmftest.Matrix(seed) {
		pcm = append(pcm, laws[int(seed)%2].companded(c.Audio)...)
	}
	g := dtmftest.New(seed + 100)
	for dbm0 := -75.0; dbm0 <= -30; dbm0++ {
		noise := make([]float64, 4000)
		g.AddNoise(noise, dbm0)
		pcm = append(pcm, laws[0].companded(noise)...)
	}
	for level := -30.0; level >= -46; level -= 1 {
		for _, k := range "123A456B789C*0#D" {
			tone := GenerateDigit(Digit(k), ToneOptions{Level: level, Twist: 4*g.R.Float64() - 2,
				Duration:  time.Duration(40+g.R.IntN(40)) * time.Millisecond,
				LowOffset: 0.03*g.R.Float64() - 0.015, HighOffset: 0.03*g.R.Float64() - 0.015,
				LowPhase: 6 * g.R.Float64(), HighPhase: 6 * g.R.Float64()})
			a := make([]float64, len(tone)+g.R.IntN(300))
			g.AddNoise(a, level-15-10*g.R.Float64())
			for i, v := range tone {
				a[i] += float64(v)
			}
			pcm = append(pcm, laws[0].companded(a)...)
		}
	}
	sp := speech(t, 1)
	for _, gain := range []float64{1, 0.03, 0.01} { // as spoken, −30 dB and −40 dB
		a := make([]float64, 8000*20)
		for i := range a {
			a[i] = float64(sp[(int(seed)*8000+i)%len(sp)]) * gain
		}
		pcm = append(pcm, laws[1].companded(a)...)
	}
	pcm = append(pcm, dtmftest.Music(10, seed)...)
	return pcm
}

// blockDecisions feeds pcm to a gated blocker and to a reference one (wideGate) and compares
// every block's decision under lim, held or not; the gated blocker uses gated (lim, or a
// broken copy). It returns how many decisions differed, and how many blocks the gate
// refused that the reference analysed.
func blockDecisions(pcm []int16, lim, gated *limits) (differ, refused int) {
	bl, ref := &blocker{b: sharedBank}, &blocker{b: sharedBank, wideGate: true}
	for len(pcm) > 0 {
		n, full := bl.take(pcm[:min(len(pcm), 160)])
		ref.take(pcm[:n])
		pcm = pcm[n:]
		if !full {
			continue
		}
		e := bl.h[0].energy + bl.h[1].energy
		if e < gated.minEnergy && e*blockLen >= lim.minPower {
			refused++
		}
		for _, held := range []Digit{0, '5'} {
			if bl.analyze(gated, held) != ref.analyze(lim, held) {
				differ++
			}
		}
		bl.shift()
		ref.shift()
	}
	return differ, refused
}

// The energy gate decides every block as the detector without it: on gateStimulus, under
// the strict and the mask limits, each block's key (held or not) is the one the reference
// blocker (wideGate: analyzeHalves' own Cauchy–Schwarz test only) finds, while the gate
// refuses tens of thousands of blocks the reference runs the filters on. A gate 6 dB too
// high (minEnergy × 4) is caught: it loses keys at the threshold levels.
func TestEnergyGateDecidesAsWithout(t *testing.T) {
	pcm := gateStimulus(t, 1)
	for _, lim := range []*limits{&strictLimits, &maskLimits} {
		differ, refused := blockDecisions(pcm, lim, lim)
		if differ != 0 {
			t.Fatalf("minPower %g: %d block decisions differ with the gate", lim.minPower, differ)
		}
		if refused < 1500 {
			t.Fatalf("minPower %g: the gate refused only %d blocks the reference analysed", lim.minPower, refused)
		}
		t.Logf("minPower %g: gate refused %d blocks the reference analysed", lim.minPower, refused)
		broken := *lim
		broken.minEnergy *= 4
		if differ, _ := blockDecisions(pcm, lim, &broken); differ == 0 {
			t.Fatalf("minPower %g: a gate 6 dB too high decides every block the same: the stimulus cannot tell", lim.minPower)
		}
	}
}

// The detector with the gate reports the very events (key, start, end) of the detector
// without it, over gateStimulus and the conformance matrix fed in random frames with random
// gaps.
func TestEnergyGateSameEvents(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		pcm := gateStimulus(t, seed)
		g := dtmftest.New(seed + 200)
		d, ref := NewDetector(), NewDetector()
		ref.bl.wideGate = true
		var got, want []Event
		keys := 0
		for pos := 0; pos < len(pcm); {
			n := min(1+g.R.IntN(400), len(pcm)-pos)
			if g.R.IntN(50) == 0 {
				got = append(got, d.Gap(n)...)
				want = append(want, ref.Gap(n)...)
			} else {
				got = append(got, d.Process(pcm[pos:pos+n])...)
				want = append(want, ref.Process(pcm[pos:pos+n])...)
			}
			pos += n
		}
		got, want = append(got, d.Flush()...), append(want, ref.Flush()...)
		for _, e := range want {
			if e.End == 0 {
				keys++
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d: %d events with the gate, %d without, or at other times", seed, len(got), len(want))
		}
		if keys < 300 {
			t.Fatalf("seed %d: only %d keys in the stimulus", seed, keys)
		}
	}
}
