package audiofile

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/paybridge/paybridge/dtmf"
)

// Encoding is how samples are stored.
type Encoding int

const (
	PCM16 Encoding = iota + 1 // little-endian signed 16-bit
	ULaw                      // G.711 μ-law
	ALaw                      // G.711 A-law
)

// String names the encoding as the command line does.
func (e Encoding) String() string {
	switch e {
	case PCM16:
		return "s16"
	case ULaw:
		return "ulaw"
	case ALaw:
		return "alaw"
	}
	return fmt.Sprintf("Encoding(%d)", int(e))
}

// WAV format tags.
const (
	tagPCM        = 1
	tagALaw       = 6
	tagULaw       = 7
	tagExtensible = 0xFFFE
)

// MaxSamples bounds every reader: one hour of 8 kHz audio.
const MaxSamples = 3600 * 8000

// WAVInfo describes a WAV file that was read.
type WAVInfo struct {
	Encoding   Encoding
	SampleRate int
	Channels   int
}

// ReadWAV reads an 8 kHz mono WAV file (PCM16, μ-law or A-law) and returns its decoded
// samples. A data chunk whose size runs past the end of the file (a recorder that was cut
// off, or 0xFFFFFFFF from a streaming writer) is read up to the end.
func ReadWAV(r io.Reader) ([]int16, WAVInfo, error) {
	br := bufio.NewReader(r)
	var hdr [12]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, WAVInfo{}, fmt.Errorf("%w: %d-byte header missing", ErrNotWAV, len(hdr))
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, WAVInfo{}, ErrNotWAV
	}
	var info WAVInfo
	haveFmt := false
	var bits int
	for {
		var ch [8]byte
		if _, err := io.ReadFull(br, ch[:]); err != nil {
			if !haveFmt {
				return nil, info, fmt.Errorf("%w: no fmt chunk", ErrNotWAV)
			}
			return nil, info, fmt.Errorf("%w: no data chunk", ErrNotWAV)
		}
		id, size := string(ch[0:4]), binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return nil, info, fmt.Errorf("%w: fmt chunk of %d bytes", ErrNotWAV, size)
			}
			b := make([]byte, size+size&1)
			if _, err := io.ReadFull(br, b); err != nil {
				return nil, info, fmt.Errorf("%w: in fmt chunk", ErrTruncated)
			}
			tag := int(binary.LittleEndian.Uint16(b[0:2]))
			info.Channels = int(binary.LittleEndian.Uint16(b[2:4]))
			info.SampleRate = int(binary.LittleEndian.Uint32(b[4:8]))
			bits = int(binary.LittleEndian.Uint16(b[14:16]))
			if tag == tagExtensible {
				if size < 40 {
					return nil, info, fmt.Errorf("%w: short WAVE_FORMAT_EXTENSIBLE header", ErrNotWAV)
				}
				tag = int(binary.LittleEndian.Uint16(b[24:26])) // first bytes of the subformat GUID
			}
			switch {
			case tag == tagPCM && bits == 16:
				info.Encoding = PCM16
			case tag == tagULaw && bits == 8:
				info.Encoding = ULaw
			case tag == tagALaw && bits == 8:
				info.Encoding = ALaw
			default:
				return nil, info, fmt.Errorf("%w: WAV format tag %d with %d bits (want PCM16, μ-law or A-law)", ErrUnsupported, tag, bits)
			}
			if info.SampleRate != 8000 {
				return nil, info, fmt.Errorf("%w: %d Hz (paybridge works at 8000 Hz; convert with: sox IN -r 8000 OUT)", ErrUnsupported, info.SampleRate)
			}
			if info.Channels != 1 {
				return nil, info, fmt.Errorf("%w: %d channels (want mono)", ErrUnsupported, info.Channels)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, info, fmt.Errorf("%w: data before fmt", ErrNotWAV)
			}
			pcm, err := readSamples(io.LimitReader(br, int64(size)), info.Encoding, true)
			return pcm, info, err
		default:
			if _, err := io.CopyN(io.Discard, br, int64(size)+int64(size&1)); err != nil {
				return nil, info, fmt.Errorf("%w: in %q chunk", ErrTruncated, id)
			}
		}
	}
}

// ReadRaw reads headerless samples in enc until EOF.
func ReadRaw(r io.Reader, enc Encoding) ([]int16, error) {
	return readSamples(r, enc, false)
}

func readSamples(r io.Reader, enc Encoding, lenient bool) ([]int16, error) {
	width := 1
	if enc == PCM16 {
		width = 2
	} else if enc != ULaw && enc != ALaw {
		return nil, fmt.Errorf("%w: %v", ErrFormat, enc)
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(MaxSamples*width+1)))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSamples*width {
		return nil, fmt.Errorf("%w: more than %d samples", ErrTooLarge, MaxSamples)
	}
	if len(b)%width != 0 {
		if !lenient {
			return nil, fmt.Errorf("%w: odd number of bytes in 16-bit audio", ErrTruncated)
		}
		b = b[:len(b)-1]
	}
	pcm := make([]int16, len(b)/width)
	switch enc {
	case PCM16:
		for i := range pcm {
			pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case ULaw:
		dtmf.DecodeULaw(pcm, b)
	case ALaw:
		dtmf.DecodeALaw(pcm, b)
	}
	return pcm, nil
}

// WriteWAV writes pcm as an 8 kHz mono WAV in enc.
func WriteWAV(w io.Writer, pcm []int16, enc Encoding) error {
	var data []byte
	tag, bits := tagPCM, 16
	switch enc {
	case PCM16:
		data = make([]byte, 2*len(pcm))
		for i, s := range pcm {
			binary.LittleEndian.PutUint16(data[2*i:], uint16(s))
		}
	case ULaw:
		data = make([]byte, len(pcm))
		dtmf.EncodeULaw(data, pcm)
		tag, bits = tagULaw, 8
	case ALaw:
		data = make([]byte, len(pcm))
		dtmf.EncodeALaw(data, pcm)
		tag, bits = tagALaw, 8
	default:
		return fmt.Errorf("%w: %v", ErrFormat, enc)
	}
	fmtSize := 16
	if tag != tagPCM {
		fmtSize = 18 // non-PCM formats carry cbSize
	}
	pad := len(data) & 1
	h := make([]byte, 0, 58)
	le32 := func(v int) { h = binary.LittleEndian.AppendUint32(h, uint32(v)) }
	le16 := func(v int) { h = binary.LittleEndian.AppendUint16(h, uint16(v)) }
	h = append(h, "RIFF"...)
	le32(4 + 8 + fmtSize + 8 + len(data) + pad)
	h = append(h, "WAVEfmt "...)
	le32(fmtSize)
	le16(tag)
	le16(1)
	le32(8000)
	le32(8000 * bits / 8)
	le16(bits / 8)
	le16(bits)
	if fmtSize == 18 {
		le16(0)
	}
	h = append(h, "data"...)
	le32(len(data))
	if _, err := w.Write(h); err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	if pad == 1 {
		_, err := w.Write([]byte{0})
		return err
	}
	return nil
}

// WriteWAVFile writes pcm to path as an 8 kHz mono WAV in enc.
func WriteWAVFile(path string, pcm []int16, enc Encoding) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteWAV(f, pcm, enc); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
