package prompts

import (
	"encoding/binary"
	"fmt"
)

// SampleRate is the only rate a prompt may have: telephony's 8 kHz.
const SampleRate = 8000

// DecodeWAV returns the samples of an 8 kHz mono 16-bit PCM RIFF/WAVE file. Anything else
// (other rates, stereo, compressed formats, truncated or malformed chunks) is an error
// wrapping ErrFormat; it never panics. It is strict on purpose — the files paybridge writes;
// Set.Load converts plan WAVs in any other common layout (audiofile.ConvertWAV) with a warning.
func DecodeWAV(data []byte) ([]int16, error) {
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not a RIFF/WAVE file", ErrFormat)
	}
	var fmtSeen bool
	p := data[12:]
	for len(p) >= 8 {
		id := string(p[0:4])
		size := binary.LittleEndian.Uint32(p[4:8])
		p = p[8:]
		if uint64(size) > uint64(len(p)) {
			if id == "data" { // streamed writers leave a bogus size; take what is there
				size = uint32(len(p))
			} else {
				return nil, fmt.Errorf("%w: chunk %q overruns the file", ErrFormat, id)
			}
		}
		body := p[:size]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return nil, fmt.Errorf("%w: short fmt chunk", ErrFormat)
			}
			format := binary.LittleEndian.Uint16(body[0:2])
			channels := binary.LittleEndian.Uint16(body[2:4])
			rate := binary.LittleEndian.Uint32(body[4:8])
			bits := binary.LittleEndian.Uint16(body[14:16])
			if format == 0xFFFE && len(body) >= 26 { // WAVE_FORMAT_EXTENSIBLE: sub-format in GUID
				format = binary.LittleEndian.Uint16(body[24:26])
			}
			if format != 1 || channels != 1 || rate != SampleRate || bits != 16 {
				return nil, fmt.Errorf("%w: the file is %s", ErrFormat, describeFormat(format, channels, rate, bits))
			}
			fmtSeen = true
		case "data":
			if !fmtSeen {
				return nil, fmt.Errorf("%w: data before fmt", ErrFormat)
			}
			out := make([]int16, len(body)/2)
			for i := range out {
				out[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return out, nil
		}
		p = p[size:]
		if size%2 == 1 && len(p) > 0 { // chunks are word aligned
			p = p[1:]
		}
	}
	return nil, fmt.Errorf("%w: no data chunk", ErrFormat)
}

// describeFormat says what a WAV's fmt chunk holds: "16000 Hz, stereo, 16-bit PCM".
func describeFormat(format, channels uint16, rate uint32, bits uint16) string {
	ch := fmt.Sprintf("%d channels", channels)
	switch channels {
	case 1:
		ch = "mono"
	case 2:
		ch = "stereo"
	}
	enc := fmt.Sprintf("%d-bit encoding %d", bits, format)
	switch format {
	case 1:
		enc = fmt.Sprintf("%d-bit PCM", bits)
	case 3:
		enc = fmt.Sprintf("%d-bit float", bits)
	case 6:
		enc = "A-law"
	case 7:
		enc = "μ-law"
	}
	return fmt.Sprintf("%d Hz, %s, %s", rate, ch, enc)
}

// EncodeWAV returns samples as an 8 kHz mono 16-bit PCM WAV file.
func EncodeWAV(samples []int16) []byte {
	n := len(samples) * 2
	b := make([]byte, 44+n)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], SampleRate)
	binary.LittleEndian.PutUint32(b[28:], SampleRate*2)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(n))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(s))
	}
	return b
}
