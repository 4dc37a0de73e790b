package dtmf

import (
	"math"
	"math/rand/v2"
	"testing"
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
		b.runSquares(x, &got, sq)
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
