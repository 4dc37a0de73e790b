package dtmf

import (
	"math/rand/v2"
	"testing"
	"time"

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

// frameSignals are the audio of the per-frame benchmarks, μ-law companded as media delivers
// it: digital silence, line noise at −60 and −40 dBm0 (what a caller who keys over RFC 4733
// sends between keys), a minute of synthetic speech, and keys at −10 dBm0 per tone.
func frameSignals(b *testing.B) []struct {
	name string
	pcm  []int16
} {
	g := dtmftest.New(11)
	noise := func(dbm0 float64) []int16 {
		a := make([]float64, 8000*5)
		g.AddNoise(a, dbm0)
		return laws[0].companded(a)
	}
	var keys []float64
	for _, k := range "0123456789*#" {
		tone := GenerateDigit(Digit(k), ToneOptions{Level: -10, Duration: 60 * time.Millisecond})
		for _, v := range tone {
			keys = append(keys, float64(v))
		}
		keys = append(keys, make([]float64, 480)...)
	}
	sp := speech(b, 1)
	return []struct {
		name string
		pcm  []int16
	}{
		{"silence", make([]int16, 8000)},
		{"noise-60", noise(-60)},
		{"noise-40", noise(-40)},
		{"speech", laws[0].companded(toFloat(sp[:8000*20]))},
		{"digit", laws[0].companded(keys)},
	}
}

func toFloat(pcm []int16) []float64 {
	a := make([]float64, len(pcm))
	for i, v := range pcm {
		a[i] = float64(v)
	}
	return a
}

// BenchmarkDetectorAudio is the in-band detector's cost per 20 ms frame of each signal.
func BenchmarkDetectorAudio(b *testing.B) {
	for _, sig := range frameSignals(b) {
		b.Run(sig.name, func(b *testing.B) {
			frames := len(sig.pcm) / 160
			d := NewDetector()
			for i := 0; b.Loop(); i++ {
				f := i % frames
				d.Process(sig.pcm[f*160 : f*160+160])
			}
		})
	}
}

// BenchmarkStreamAudio is one 20 ms frame of each signal through a call's whole digit
// stream, decoded from μ-law first as media does.
func BenchmarkStreamAudio(b *testing.B) { benchStreams(b, 1, feedDecoded) }

// BenchmarkStreamAudio1000 is BenchmarkStreamAudio with 1,000 calls' streams fed in turn,
// one frame each, as serve's receive loop does at 1,000 calls: each call's state has left
// the CPU's nearer caches by the time its next frame comes.
func BenchmarkStreamAudio1000(b *testing.B) { benchStreams(b, 1000, feedDecoded) }

// BenchmarkStreamAudioULaw is BenchmarkStreamAudio through AudioULaw: the μ-law payload
// straight into the stream, no decoded copy.
func BenchmarkStreamAudioULaw(b *testing.B) { benchStreams(b, 1, feedULaw) }

// BenchmarkStreamAudioULaw1000 is BenchmarkStreamAudio1000 through AudioULaw.
func BenchmarkStreamAudioULaw1000(b *testing.B) { benchStreams(b, 1000, feedULaw) }

// feedDecoded and feedULaw give a stream one μ-law frame, the first through buf.
func feedDecoded(s *Stream, frame []byte, buf []int16) { DecodeULaw(buf, frame); s.Audio(buf) }
func feedULaw(s *Stream, frame []byte, _ []int16)      { s.AudioULaw(frame) }

// benchStreams feeds calls streams one μ-law frame of each signal in turn (with several calls
// each stream's frames step through the signal at a different pace, so the calls are not in
// the same state at once).
func benchStreams(b *testing.B, calls int, feed func(s *Stream, frame []byte, buf []int16)) {
	for _, sig := range frameSignals(b) {
		ulaw := make([]byte, len(sig.pcm))
		EncodeULaw(ulaw, sig.pcm)
		b.Run(sig.name, func(b *testing.B) {
			frames := len(sig.pcm) / 160
			ss := make([]*Stream, calls)
			for i := range ss {
				ss[i] = NewStream(StreamConfig{OnDigit: func(Event) {}})
			}
			buf := make([]int16, 160)
			for i := 0; b.Loop(); i++ {
				f := (i/calls*7 + i) % frames
				if calls == 1 {
					f = i % frames
				}
				feed(ss[i%calls], ulaw[f*160:f*160+160], buf)
			}
		})
	}
}
