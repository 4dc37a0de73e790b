package dtmf

import (
	"fmt"
	"testing"
)

// Reference points of ITU-T G.711 (tables 1a/2a), in 16-bit units: μ-law levels ×4, A-law ×8.
func TestG711KnownValues(t *testing.T) {
	ulaw := []struct {
		code byte
		lin  int16
	}{
		{0xFF, 0}, {0x7F, 0}, {0xFE, 8}, {0x7E, -8}, {0xF0, 120}, {0xEF, 132},
		{0xE0, 372}, {0xDF, 396}, {0xCF, 924}, {0xBF, 1980}, {0xAF, 4092},
		{0x9F, 8316}, {0x8F, 16764}, {0x80, 32124}, {0x00, -32124}, {0x0F, -16764},
	}
	for _, c := range ulaw {
		if got := ULawToLinear(c.code); got != c.lin {
			t.Errorf("ULawToLinear(%#02x) = %d, want %d", c.code, got, c.lin)
		}
	}
	alaw := []struct {
		code byte
		lin  int16
	}{
		{0xD5, 8}, {0x55, -8}, {0xD4, 24}, {0xDA, 248}, {0xC5, 264}, {0xF5, 528},
		{0xE5, 1056}, {0x95, 2112}, {0x85, 4224}, {0xB5, 8448}, {0xA5, 16896},
		{0xAA, 32256}, {0x2A, -32256},
	}
	for _, c := range alaw {
		if got := ALawToLinear(c.code); got != c.lin {
			t.Errorf("ALawToLinear(%#02x) = %d, want %d", c.code, got, c.lin)
		}
	}
	enc := []struct {
		lin  int16
		u, a byte
	}{
		{0, 0xFF, 0xD5}, {-1, 0x7F, 0x55}, {32767, 0x80, 0xAA}, {-32768, 0x00, 0x2A},
		{1000, 0xCE, 0xFA}, {-1000, 0x4E, 0x7A},
	}
	for _, c := range enc {
		if got := LinearToULaw(c.lin); got != c.u {
			t.Errorf("LinearToULaw(%d) = %#02x, want %#02x", c.lin, got, c.u)
		}
		if got := LinearToALaw(c.lin); got != c.a {
			t.Errorf("LinearToALaw(%d) = %#02x, want %#02x", c.lin, got, c.a)
		}
	}
}

// Every code survives decode→encode (μ-law's negative zero becomes positive zero), and every
// 16-bit value encodes to the level nearest below-or-at it within its G.711 step.
func TestG711RoundTrip(t *testing.T) {
	for c := 0; c < 256; c++ {
		if got := LinearToULaw(ULawToLinear(byte(c))); got != byte(c) && c != 0x7F {
			t.Errorf("μ-law %#02x -> %d -> %#02x", c, ULawToLinear(byte(c)), got)
		}
		if got := LinearToALaw(ALawToLinear(byte(c))); got != byte(c) {
			t.Errorf("A-law %#02x -> %d -> %#02x", c, ALawToLinear(byte(c)), got)
		}
	}
	for _, l := range []struct {
		name    string
		enc     func(int16) byte
		dec     func(byte) int16
		maxStep int
	}{{"ulaw", LinearToULaw, ULawToLinear, 1024}, {"alaw", LinearToALaw, ALawToLinear, 1024}} {
		prev := l.dec(l.enc(-32768))
		for x := -32768; x <= 32767; x++ {
			y := l.dec(l.enc(int16(x)))
			if y < prev {
				t.Fatalf("%s: not monotonic at %d (%d < %d)", l.name, x, y, prev)
			}
			if d := int(y) - x; d > l.maxStep || d < -l.maxStep {
				t.Fatalf("%s: %d decodes back as %d", l.name, x, y)
			}
			prev = y
		}
	}
}

func TestG711SliceFunctions(t *testing.T) {
	src := []int16{0, 1, -1, 100, -100, 32767, -32768, 12345}
	u := make([]byte, len(src))
	a := make([]byte, len(src))
	EncodeULaw(u, src)
	EncodeALaw(a, src)
	du := make([]int16, len(src)+4) // longer dst is fine
	da := make([]int16, len(src))
	DecodeULaw(du, u)
	DecodeALaw(da, a)
	for i, s := range src {
		if u[i] != LinearToULaw(s) || a[i] != LinearToALaw(s) ||
			du[i] != ULawToLinear(u[i]) || da[i] != ALawToLinear(a[i]) {
			t.Fatalf("slice and per-sample functions disagree at %d", i)
		}
	}
}

func ExampleLinearToULaw() {
	u := LinearToULaw(1000)
	fmt.Printf("%#02x %d\n", u, ULawToLinear(u))
	// Output: 0xce 988
}

func BenchmarkDecodeULaw160(b *testing.B) {
	src := make([]byte, 160)
	dst := make([]int16, 160)
	for b.Loop() {
		DecodeULaw(dst, src)
	}
}
