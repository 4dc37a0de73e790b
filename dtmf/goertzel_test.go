package dtmf

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paybridge/paybridge/dtmf/dtmftest"
)

// Joining two half blocks gives the same tone powers as filtering the whole block.
func TestHalfBlocksJoinExactly(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	b := sharedBank
	for trial := 0; trial < 50; trial++ {
		x := make([]float32, blockLen)
		f := 600 + 1100*r.Float64()
		for i := range x {
			x[i] = float32(8000*math.Sin(2*math.Pi*f*float64(i)/SampleRate+r.Float64()*0.01) + 500*r.NormFloat64())
		}
		var h0, h1 half
		b.run(x[:blockHop], &h0)
		b.run(x[blockHop:], &h1)
		var p [8]float32
		var blk half
		b.join(&h0, &h1, &blk, &p)
		e := blk.energy
		var want float32
		for _, v := range x {
			want += v * v
		}
		if math.Abs(float64(e-want)) > 1e-4*float64(want) {
			t.Fatalf("energy %g, want %g", e, want)
		}
		for k := 0; k < 8; k++ {
			direct := b.tone[k].power(x)
			if math.Abs(float64(p[k]-direct)) > 1e-3*float64(direct)+1 {
				t.Fatalf("trial %d tone %d: joined %g, direct %g", trial, k, p[k], direct)
			}
		}
	}
}

func TestAtanSmall(t *testing.T) {
	for x := -1.0; x <= 1.0; x += 0.001 {
		if d := math.Abs(atanSmall(x) - math.Atan(x)); d > 2e-5 {
			t.Fatalf("atanSmall(%g) off by %g", x, d)
		}
	}
}

// The integer sum of squares the blocker counts while it converts samples gives the very
// half (energy and filter sums, bit for bit) that the float loop does, at every level: exact
// below exactBelow, the float loop itself above. Detection results cannot move.
func TestSquaresGiveTheSameHalf(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	b := sharedBank
	exact := 0
	for trial := 0; trial < 20000; trial++ {
		amp := math.Pow(10, r.Float64()*4.6) // 1 to 40000: silence, noise, tones, clipping
		pcm := make([]int16, blockHop)
		x := make([]float32, blockHop)
		var sq int64
		for i := range pcm {
			v := math.Round(amp*math.Sin(2*math.Pi*(697+r.Float64()*900)*float64(i)/SampleRate) + amp/4*r.NormFloat64())
			pcm[i] = int16(max(-32768, min(32767, v)))
			x[i] = float32(pcm[i])
			sq += int64(pcm[i]) * int64(pcm[i])
		}
		if trial%7 == 0 {
			clear(pcm[:r.IntN(blockHop)]) // partly digital silence
			sq = 0
			for i, v := range pcm {
				x[i] = float32(v)
				sq += int64(v) * int64(v)
			}
		}
		if sq < exactBelow {
			exact++
		}
		var want, got half
		b.run(x, &want)
		b.runEnergy(x, &got, energyOf(x, sq))
		if math.Float32bits(got.energy) != math.Float32bits(want.energy) || got != want {
			t.Fatalf("trial %d (Σx² %d): half %+v, the float loop's %+v", trial, sq, got, want)
		}
	}
	if exact < 2000 || exact > 18000 {
		t.Fatalf("%d of 20000 halves below exactBelow: the levels do not cover both paths", exact)
	}
}

// A blocker fed in frames of any size counts each half's squares from its own samples only.
func TestBlockerSquaresAcrossFrames(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	pcm := make([]int16, 8000)
	for i := range pcm {
		pcm[i] = int16(r.IntN(601) - 300) // quiet: every half below exactBelow
	}
	whole, split := &blocker{b: sharedBank}, &blocker{b: sharedBank}
	var a, c []half
	feed := func(bl *blocker, in []int16, out *[]half) {
		for len(in) > 0 {
			n, full := bl.take(in)
			in = in[n:]
			if full {
				bl.sums(0)
				bl.sums(1)
				*out = append(*out, bl.h[0], bl.h[1])
				bl.shift()
			}
		}
	}
	feed(whole, pcm, &a)
	for i := 0; i < len(pcm); {
		n := min(1+r.IntN(200), len(pcm)-i)
		feed(split, pcm[i:i+n], &c)
		i += n
	}
	if len(a) != len(c) || len(a) == 0 {
		t.Fatalf("%d halves whole, %d split", len(a), len(c))
	}
	run := func(k int) (h half) { // the float loop over half k of the stream
		x := make([]float32, blockHop)
		for i := range x {
			x[i] = float32(pcm[k*blockHop+i])
		}
		sharedBank.run(x, &h)
		return h
	}
	for i := range a {
		if a[i] != c[i] {
			t.Fatalf("half %d differs between frame sizes", i)
		}
		if want := run(i/2 + i%2); a[i] != want {
			t.Fatalf("half %d: %+v, the float loop over its samples gives %+v", i, a[i], want)
		}
	}
}

// The blocker's lazy filter sums decide every block as the eager bank does: over the
// conformance matrix, music and noise at levels from digital silence to full scale, each
// block of the stream analysed under the strict and the mask limits (held or not) gives the
// same key as analyzeHalves over halves computed eagerly from the same samples.
func TestLazySumsDecideAsEager(t *testing.T) {
	var pcm []int16
	for _, c := range dtmftest.Matrix(5) {
		pcm = append(pcm, dtmftest.Quantize(c.Audio)...)
	}
	pcm = append(pcm, dtmftest.Music(20, 5)...)
	g := dtmftest.New(6)
	for _, dbm0 := range []float64{-90, -70, -60, -55, -50, -45, -40, -30, -20} {
		for _, snr := range []float64{3, 10, 20} {
			pcm = append(pcm, make([]int16, 1000+int(snr))...) // digital silence, at every phase
			noise := make([]float64, 4000)
			g.AddNoise(noise, dbm0)
			pcm = append(pcm, dtmftest.Quantize(noise)...)
			// a key in the noise: its onset block follows quiet ones (lazy sums for prev)
			tone := GenerateDigit(Digit('5'), ToneOptions{Level: dbm0 + snr, Duration: 60 * time.Millisecond})
			noisy := make([]float64, len(tone))
			g.AddNoise(noisy, dbm0)
			for i, v := range tone {
				noisy[i] += float64(v)
			}
			pcm = append(pcm, dtmftest.Quantize(noisy)...)
		}
	}
	halfAt := func(k int) (h half) {
		x := make([]float32, blockHop)
		for i := range x {
			x[i] = float32(pcm[k*blockHop+i])
		}
		sharedBank.run(x, &h)
		return h
	}
	bl := &blocker{b: sharedBank}
	in, blocks, keys := pcm, 0, 0
	for j := 0; len(in) > 0; {
		n, full := bl.take(in[:min(len(in), 160)])
		in = in[n:]
		if !full {
			continue
		}
		x := make([]float32, blockLen)
		for i := range x {
			x[i] = float32(pcm[j*blockHop+i])
		}
		for _, lim := range []*limits{&strictLimits, &maskLimits} {
			for _, held := range []Digit{0, '5'} {
				h0, h1 := halfAt(j), halfAt(j+1)
				var prev *half
				if j > 0 {
					var p [8]float32
					var pb half
					a, c := halfAt(j-1), halfAt(j)
					sharedBank.join(&a, &c, &pb, &p)
					prev = &pb
				}
				var blk half
				want := sharedBank.analyzeHalves(&h0, &h1, prev, &blk, x, lim, held)
				if got := bl.analyze(lim, held); got != want {
					t.Fatalf("block %d (held %v): lazy %v, eager %v", j, held, got, want)
				}
				// and the sums it used are the eager ones
				if bl.hOK[0] && bl.h[0] != h0 || bl.hOK[1] && bl.h[1] != h1 {
					t.Fatalf("block %d: lazy half sums differ from the eager ones", j)
				}
				if prev != nil && bl.blkOK[0] && bl.blk[0] != *prev {
					t.Fatalf("block %d: the last block's lazy sums differ from the eager ones", j)
				}
				if want != 0 {
					keys++
				}
			}
		}
		bl.shift()
		blocks++
		j++
	}
	if keys < 1000 || blocks < 10000 {
		t.Fatalf("%d blocks, %d with a key: the stimulus does not exercise the bank", blocks, keys)
	}
}
