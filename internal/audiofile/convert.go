package audiofile

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/paybridge/paybridge/dtmf"
)

// WAVSource describes the format a WAV file arrived in, before ConvertWAV made it 8 kHz mono
// 16-bit PCM.
type WAVSource struct {
	Format     string // "16-bit PCM", "8-bit PCM", "24-bit PCM", "32-bit PCM", "32-bit float", "64-bit float", "μ-law", "A-law"
	SampleRate int
	Channels   int
}

const nativeFormat = "16-bit PCM"

// Native reports whether the file was already what paybridge plays: 8 kHz mono 16-bit PCM.
func (s WAVSource) Native() bool {
	return s.Format == nativeFormat && s.SampleRate == 8000 && s.Channels == 1
}

// String describes the source: "44100 Hz, 2 channels, 16-bit PCM".
func (s WAVSource) String() string {
	ch := "mono"
	if s.Channels != 1 {
		ch = fmt.Sprintf("%d channels", s.Channels)
	}
	return fmt.Sprintf("%d Hz, %s, %s", s.SampleRate, ch, s.Format)
}

// maxChannels bounds the channel count ConvertWAV accepts.
const maxChannels = 16

// ConvertWAV reads a RIFF/WAVE file in any common layout — integer PCM of 8, 16, 24 or 32
// bits, IEEE float of 32 or 64 bits, μ-law or A-law (plain or WAVE_FORMAT_EXTENSIBLE), any
// rate from MinRate to MaxRate, up to 16 channels — and returns it as 8 kHz mono 16-bit PCM:
// channels averaged, then resampled with an anti-aliasing filter. src says what the file was;
// src.Native() means nothing was converted. Like ReadWAV it takes untrusted input: a bad file
// is an error wrapping ErrNotWAV, ErrUnsupported, ErrTruncated or ErrTooLarge, never a panic,
// and more than an hour of audio is refused.
func ConvertWAV(data []byte) (pcm []int16, src WAVSource, err error) {
	mono, src, err := DecodeWAVAny(data)
	if err != nil {
		return nil, src, err
	}
	if src.SampleRate != 8000 {
		mono = Resample(mono, src.SampleRate, 8000)
	}
	return mono, src, nil
}

// DecodeWAVAny is ConvertWAV without the resampling: the file's audio as mono 16-bit PCM at
// its own rate (src.SampleRate).
func DecodeWAVAny(data []byte) ([]int16, WAVSource, error) {
	var src WAVSource
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, src, ErrNotWAV
	}
	var tag, bits int
	haveFmt := false
	p := data[12:]
	for len(p) >= 8 {
		id, size := string(p[0:4]), uint64(binary.LittleEndian.Uint32(p[4:8]))
		p = p[8:]
		if size > uint64(len(p)) {
			if id != "data" {
				return nil, src, fmt.Errorf("%w: chunk %q runs past the end of the file", ErrTruncated, id)
			}
			size = uint64(len(p)) // a streaming writer's placeholder size, or a cut-off file
		}
		body := p[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, src, fmt.Errorf("%w: fmt chunk of %d bytes", ErrNotWAV, size)
			}
			tag = int(binary.LittleEndian.Uint16(body[0:2]))
			src.Channels = int(binary.LittleEndian.Uint16(body[2:4]))
			src.SampleRate = int(binary.LittleEndian.Uint32(body[4:8]))
			bits = int(binary.LittleEndian.Uint16(body[14:16]))
			if tag == tagExtensible {
				if size < 40 {
					return nil, src, fmt.Errorf("%w: short WAVE_FORMAT_EXTENSIBLE header", ErrNotWAV)
				}
				tag = int(binary.LittleEndian.Uint16(body[24:26]))
			}
			if src.Format = formatName(tag, bits); src.Format == "" {
				return nil, src, fmt.Errorf("%w: WAV format tag %d with %d bits", ErrUnsupported, tag, bits)
			}
			if src.SampleRate < MinRate || src.SampleRate > MaxRate {
				return nil, src, fmt.Errorf("%w: %d Hz (want %d–%d)", ErrUnsupported, src.SampleRate, MinRate, MaxRate)
			}
			if src.Channels < 1 || src.Channels > maxChannels {
				return nil, src, fmt.Errorf("%w: %d channels", ErrUnsupported, src.Channels)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, src, fmt.Errorf("%w: data before fmt", ErrNotWAV)
			}
			frame := src.Channels * bits / 8
			frames := len(body) / frame
			if frames > 3600*src.SampleRate {
				return nil, src, fmt.Errorf("%w: more than an hour of audio", ErrTooLarge)
			}
			return downmix(body[:frames*frame], tag, bits, src.Channels), src, nil
		}
		p = p[size:]
		if size%2 == 1 && len(p) > 0 {
			p = p[1:]
		}
	}
	if !haveFmt {
		return nil, src, fmt.Errorf("%w: no fmt chunk", ErrNotWAV)
	}
	return nil, src, fmt.Errorf("%w: no data chunk", ErrNotWAV)
}

const tagFloat = 3

func formatName(tag, bits int) string {
	switch {
	case tag == tagPCM && bits == 8:
		return "8-bit PCM"
	case tag == tagPCM && bits == 16:
		return nativeFormat
	case tag == tagPCM && bits == 24:
		return "24-bit PCM"
	case tag == tagPCM && bits == 32:
		return "32-bit PCM"
	case tag == tagFloat && bits == 32:
		return "32-bit float"
	case tag == tagFloat && bits == 64:
		return "64-bit float"
	case tag == tagULaw && bits == 8:
		return "μ-law"
	case tag == tagALaw && bits == 8:
		return "A-law"
	}
	return ""
}

// downmix decodes whole frames of b and averages their channels.
func downmix(b []byte, tag, bits, channels int) []int16 {
	width := bits / 8
	frames := len(b) / (width * channels)
	out := make([]int16, frames)
	for i := range out {
		var sum int64
		for c := 0; c < channels; c++ {
			sum += int64(sample(b[(i*channels+c)*width:], tag, bits))
		}
		out[i] = int16(sum / int64(channels))
	}
	return out
}

// sample decodes one sample at the start of b to 16 bits.
func sample(b []byte, tag, bits int) int16 {
	switch {
	case tag == tagULaw:
		return dtmf.ULawToLinear(b[0])
	case tag == tagALaw:
		return dtmf.ALawToLinear(b[0])
	case tag == tagFloat && bits == 32:
		return floatTo16(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))))
	case tag == tagFloat:
		return floatTo16(math.Float64frombits(binary.LittleEndian.Uint64(b)))
	case bits == 8:
		return int16(int(b[0])-128) << 8 // 8-bit WAV PCM is unsigned
	case bits == 16:
		return int16(binary.LittleEndian.Uint16(b))
	case bits == 24:
		return int16(uint16(b[1]) | uint16(b[2])<<8) // the top 16 of 24 bits
	default:
		return int16(binary.LittleEndian.Uint32(b) >> 16)
	}
}

func floatTo16(f float64) int16 {
	if f != f { // NaN
		return 0
	}
	return clip16(int64(math.Round(f * 32767)))
}
