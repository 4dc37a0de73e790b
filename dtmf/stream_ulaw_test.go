package dtmf

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/paybridge/paybridge/dtmf/dtmftest"
)

// ulawPair feeds the same μ-law audio to two streams, one through AudioULaw and one decoded
// through Audio, and records what each reports (key-downs and key-ups, with their times).
type ulawPair struct {
	byBytes, decoded *Stream
	got, want        []Event
}

func newULawPair() *ulawPair {
	p := &ulawPair{}
	p.byBytes = NewStream(StreamConfig{
		OnDigit:   func(e Event) { p.got = append(p.got, e) },
		OnRelease: func(e Event) { p.got = append(p.got, e) },
	})
	p.decoded = NewStream(StreamConfig{
		OnDigit:   func(e Event) { p.want = append(p.want, e) },
		OnRelease: func(e Event) { p.want = append(p.want, e) },
	})
	return p
}

func (p *ulawPair) audio(b []byte) {
	p.byBytes.AudioULaw(b)
	pcm := make([]int16, len(b))
	DecodeULaw(pcm, b)
	p.decoded.Audio(pcm)
}

func (p *ulawPair) gap(n int) {
	p.byBytes.Gap(n)
	p.decoded.Gap(n)
}

func (p *ulawPair) flush() {
	p.byBytes.Flush()
	p.decoded.Flush()
}

// AudioULaw is Audio on the decoded samples: over gateStimulus, keys in and out of digital
// silence (both μ-law zeros, runs starting and ending at every offset of a frame), and random
// bytes, fed in random frames with random gaps, the two streams report the same keys at the
// same times, and their detectors hold the same samples and sums.
func TestAudioULawSameAsDecoded(t *testing.T) {
	for seed := uint64(1); seed <= 2; seed++ {
		g := dtmftest.New(seed + 300)
		var b []byte
		pcm := gateStimulus(t, seed)
		b = append(b, make([]byte, len(pcm))...)
		EncodeULaw(b, pcm)
		for i := 0; i < 300; i++ { // keys between runs of digital silence
			silence := make([]byte, g.R.IntN(700))
			for j := range silence {
				silence[j] = 0xFF
				if g.R.IntN(10) == 0 {
					silence[j] = 0x7F // the negative zero
				}
			}
			if g.R.IntN(4) == 0 && len(silence) > 0 {
				silence[g.R.IntN(len(silence))] = 0xFE // one sample off zero
			}
			b = append(b, silence...)
			tone := GenerateDigit(Digit("0123456789*#"[g.R.IntN(12)]), ToneOptions{Level: -20 - 25*g.R.Float64(), Duration: time.Duration(30+g.R.IntN(60)) * time.Millisecond})
			enc := make([]byte, len(tone))
			EncodeULaw(enc, tone)
			b = append(b, enc...)
		}
		for i := 0; i < 8000; i++ {
			b = append(b, byte(g.R.IntN(256)))
		}
		p := newULawPair()
		for pos := 0; pos < len(b); {
			n := min(1+g.R.IntN(400), len(b)-pos)
			if g.R.IntN(60) == 0 {
				p.gap(n)
			} else {
				p.audio(b[pos : pos+n])
			}
			pos += n
			a, c := &p.byBytes.det.bl, &p.decoded.det.bl
			if pos%7 == 0 && a.fill >= blockHop {
				a.sums(0) // the stored samples give the same sums
				c.sums(0)
				if !slices.Equal(a.samples(0), c.samples(0)) {
					t.Fatalf("seed %d at %d: the detectors hold different samples", seed, pos)
				}
			}
			if a.h != c.h || a.fill != c.fill {
				t.Fatalf("seed %d at %d: the detectors hold different samples or sums", seed, pos)
			}
		}
		p.flush()
		downs := 0
		for _, e := range p.want {
			if e.End == 0 {
				downs++
			}
		}
		if !slices.Equal(p.got, p.want) {
			t.Fatalf("seed %d: %d events by bytes, %d decoded, or at other times", seed, len(p.got), len(p.want))
		}
		if downs < 500 {
			t.Fatalf("seed %d: only %d keys", seed, downs)
		}
		if p.byBytes.Now() != p.decoded.Now() {
			t.Fatalf("clocks differ: %v, %v", p.byBytes.Now(), p.decoded.Now())
		}
	}
}

// ulawSilent accepts exactly the runs of μ-law zeros, whatever their length and alignment.
func TestULawSilent(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for trial := 0; trial < 20000; trial++ {
		b := make([]byte, r.IntN(200))
		for i := range b {
			b[i] = []byte{0xFF, 0x7F}[r.IntN(2)]
		}
		want := true
		if len(b) > 0 && r.IntN(2) == 0 {
			c := byte(r.IntN(256))
			b[r.IntN(len(b))] = c
			want = c == 0xFF || c == 0x7F
		}
		if got := ulawSilent(b); got != want {
			t.Fatalf("% x: ulawSilent %v", b, got)
		}
	}
}

// FuzzAudioULaw: any bytes in any frames give the same events through AudioULaw as decoded.
func FuzzAudioULaw(f *testing.F) {
	f.Add([]byte{0xFF, 0x7F, 0, 1, 0x80}, uint8(160))
	tone := GenerateDigit('5', ToneOptions{Level: -20, Duration: 80 * time.Millisecond})
	enc := make([]byte, len(tone)+400)
	for i := range enc {
		enc[i] = 0xFF
	}
	EncodeULaw(enc[200:], tone)
	f.Add(enc, uint8(37))
	f.Fuzz(func(t *testing.T, b []byte, frame uint8) {
		p := newULawPair()
		n := int(frame) + 1
		for i := 0; i < len(b); i += n {
			p.audio(b[i:min(i+n, len(b))])
		}
		p.flush()
		if !slices.Equal(p.got, p.want) {
			t.Fatalf("%d events by bytes, %d decoded", len(p.got), len(p.want))
		}
	})
}
