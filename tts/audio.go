package tts

import (
	"context"
	"fmt"

	"github.com/paybridge/paybridge/internal/audiofile"
)

// Audio processing shared by every engine, after the engine has spoken: resample to 8 kHz
// (band-limited, audiofile.Resample), trim each stretch of speech of its leading and trailing
// silence, put the script's pauses between them as exact digital silence, and peak-normalise
// the whole to -3 dBFS — what the bundled packs have always been (sox silence … norm -3).
// Everything is integer arithmetic, so one engine output always gives the same bytes.

const (
	trimFrame     = SampleRate / 100 // 10 ms
	trimThreshold = 164              // RMS of a frame that counts as sound: 0.5 % of full scale
	trimLead      = 1                // frames kept before the first sound
	trimTail      = 2                // frames kept after the last sound
	peakTarget    = 23197            // -3 dBFS
)

// trim cuts the silence before the first and after the last 10 ms frame whose RMS reaches
// trimThreshold, keeping a frame before and two after. All-silent audio trims to nothing.
func trim(pcm []int16) []int16 {
	frames := len(pcm) / trimFrame
	loud := func(f int) bool {
		var e int64
		for _, s := range pcm[f*trimFrame : (f+1)*trimFrame] {
			e += int64(s) * int64(s)
		}
		return e >= trimThreshold*trimThreshold*trimFrame
	}
	first, last := -1, -1
	for f := 0; f < frames; f++ {
		if loud(f) {
			if first < 0 {
				first = f
			}
			last = f
		}
	}
	if first < 0 {
		return nil
	}
	start := max(first-trimLead, 0) * trimFrame
	end := min((last+1+trimTail)*trimFrame, len(pcm))
	return pcm[start:end]
}

// normalize scales pcm in place so that its peak is -3 dBFS.
func normalize(pcm []int16) {
	peak := 0
	for _, s := range pcm {
		peak = max(peak, abs(int(s)))
	}
	if peak == 0 {
		return
	}
	gain := (int64(peakTarget) << 16) / int64(peak) // Q16
	for i, s := range pcm {
		v := (int64(s)*gain + 1<<15) >> 16
		pcm[i] = int16(max(min(v, 32767), -32768))
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// speaker says one stretch of speech (an SSML fragment) and returns it at its own rate.
type speaker interface {
	speak(ctx context.Context, voice string, rate int, ssml string) (pcm []int16, sampleRate int, err error)
}

// renderScript renders a request by having sp say each stretch of speech in turn.
func renderScript(ctx context.Context, sp speaker, req Request, defaultVoice func(lang string) string) (*Audio, error) {
	n, err := req.Normalize()
	if err != nil {
		return nil, err
	}
	sc, err := buildScript(n)
	if err != nil {
		return nil, err
	}
	voice := n.Voice
	if voice == "" {
		voice = defaultVoice(n.Language)
	}
	var out []int16
	for _, it := range sc {
		if it.ssml == "" {
			out = append(out, make([]int16, int(it.pause.Milliseconds())*SampleRate/1000)...)
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pcm, rate, err := sp.speak(ctx, voice, n.Rate, it.ssml)
		if err != nil {
			return nil, err
		}
		if rate != SampleRate {
			if pcm = audiofile.Resample(pcm, rate, SampleRate); pcm == nil {
				return nil, fmt.Errorf("%w: engine audio at %d Hz", ErrEngine, rate)
			}
		}
		out = append(out, trim(pcm)...)
	}
	normalize(out)
	return &Audio{Samples: out}, nil
}

// finishWAV turns a WAV from an outside engine into Audio: any layout converted, trimmed and
// normalised like espeak-ng's.
func finishWAV(data []byte) (*Audio, error) {
	pcm, _, err := audiofile.ConvertWAV(data)
	if err != nil {
		return nil, fmt.Errorf("%w: audio: %w", ErrEngine, err)
	}
	pcm = trim(pcm)
	if len(pcm) == 0 {
		return nil, fmt.Errorf("%w: audio is silent", ErrEngine)
	}
	normalize(pcm)
	return &Audio{Samples: pcm}, nil
}
