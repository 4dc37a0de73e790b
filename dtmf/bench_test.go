package dtmf

import (
	"math/rand/v2"
	"testing"

	"github.com/paybridge/paybridge/dtmf/dtmftest"
)

// BenchmarkDetectorFrame is the CPU cost of one 20 ms frame of keyed μ-law audio.
func BenchmarkDetectorFrame(b *testing.B) {
	pcm := laws[0].companded(dtmftest.Matrix(3)[0].Audio)
	frames := len(pcm) / 160
	d := NewDetector()
	for i := 0; b.Loop(); i++ {
		f := i % frames
		d.Process(pcm[f*160 : f*160+160])
	}
}

// BenchmarkMaskerFrame is the CPU cost of masking one 20 ms frame.
func BenchmarkMaskerFrame(b *testing.B) {
	pcm := laws[0].companded(dtmftest.Matrix(3)[0].Audio)
	frames := len(pcm) / 160
	m := NewMasker(MaskerConfig{})
	for i := 0; b.Loop(); i++ {
		f := i % frames
		m.Process(pcm[f*160 : f*160+160])
	}
}

// BenchmarkStreamFrame is one 20 ms frame through a call's whole digit stream.
func BenchmarkStreamFrame(b *testing.B) {
	pcm := laws[0].companded(dtmftest.Matrix(3)[0].Audio)
	frames := len(pcm) / 160
	s := NewStream(StreamConfig{OnDigit: func(Event) {}})
	for i := 0; b.Loop(); i++ {
		f := i % frames
		s.Audio(pcm[f*160 : f*160+160])
	}
}

// BenchmarkStreamQuietFrame is one 20 ms frame of what a caller who keys over RFC 4733 sends
// between keys — digital silence and low line noise (about −60 dBm0) — through a call's whole
// digit stream: the in-band detector still runs on it (a gateway may leak tones).
func BenchmarkStreamQuietFrame(b *testing.B) {
	r := rand.New(rand.NewPCG(4, 4))
	pcm := make([]int16, 160*50)
	for i := 160 * 25; i < len(pcm); i++ {
		pcm[i] = int16(r.NormFloat64() * 20)
	}
	s := NewStream(StreamConfig{OnDigit: func(Event) {}})
	for i := 0; b.Loop(); i++ {
		f := i % 50
		s.Audio(pcm[f*160 : f*160+160])
	}
}
