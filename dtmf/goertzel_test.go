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
