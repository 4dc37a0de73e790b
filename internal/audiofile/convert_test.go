package audiofile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/paybridge/paybridge/dtmf"
)

// sine returns n samples of a tone of freq Hz at rate, amplitude amp (of full scale).
func sine(freq float64, rate, n int, amp float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(math.Round(amp * 32767 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return out
}

// level returns the amplitude (of full scale) of the freq Hz component of pcm at rate,
// measured away from the edges with a Goertzel filter.
func level(pcm []int16, freq float64, rate int) float64 {
	edge := len(pcm) / 8
	x := pcm[edge : len(pcm)-edge]
	w := 2 * math.Pi * freq / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s := float64(v)/32767 + c*s1 - s2
		s2, s1 = s1, s
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return 2 * math.Sqrt(p) / float64(len(x))
}

func db(x float64) float64 { return 20 * math.Log10(x) }

func TestResampleKeepsTheBandAndRefusesAliases(t *testing.T) {
	for _, tc := range []struct {
		from, to int
	}{{22050, 8000}, {44100, 8000}, {48000, 8000}, {16000, 8000}, {11025, 8000}, {8000, 16000}, {6000, 8000}, {44056, 8000}} {
		in := sine(1000, tc.from, tc.from, 0.5) // one second of 1 kHz
		out := Resample(in, tc.from, tc.to)
		if want := tc.to; len(out) < want-1 || len(out) > want+1 {
			t.Fatalf("%d→%d: %d samples, want %d", tc.from, tc.to, len(out), want)
		}
		if l := level(out, 1000, tc.to); math.Abs(db(l/0.5)) > 0.2 {
			t.Errorf("%d→%d: 1 kHz at %.2f dB of the input", tc.from, tc.to, db(l/0.5))
		}
		if tc.from <= tc.to {
			continue
		}
		// A tone above the new Nyquist frequency must not fold back into the band: 5 kHz
		// (or just above Nyquist for low source rates) would alias to to-f.
		f := min(5000, float64(tc.from)/2*0.95)
		if f <= float64(tc.to)/2 {
			continue
		}
		alias := float64(tc.to) - f
		out = Resample(sine(f, tc.from, tc.from, 0.5), tc.from, tc.to)
		if l := level(out, alias, tc.to); db(l/0.5) > -60 {
			t.Errorf("%d→%d: %.0f Hz folds to %.0f Hz at %.1f dB (want < -60 dB)", tc.from, tc.to, f, alias, db(l/0.5))
		}
	}
	if got := Resample([]int16{1, 2, 3}, 8000, 8000); len(got) != 3 || got[2] != 3 {
		t.Fatalf("same rate: %v", got)
	}
	if Resample([]int16{1}, 10, 8000) != nil {
		t.Fatal("a 10 Hz source was resampled")
	}
}

// wavBytes builds a RIFF/WAVE file by hand so that the test does not depend on WriteWAV.
func wavBytes(tag, channels, rate, bits int, data []byte, extensible bool) []byte {
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	fmtLen := 16
	if extensible {
		fmtLen = 40
	}
	b.WriteString("RIFF")
	le(uint32(4 + 8 + fmtLen + 8 + len(data)))
	b.WriteString("WAVEfmt ")
	le(uint32(fmtLen))
	if extensible {
		le(uint16(tagExtensible))
	} else {
		le(uint16(tag))
	}
	le(uint16(channels))
	le(uint32(rate))
	le(uint32(rate * channels * bits / 8))
	le(uint16(channels * bits / 8))
	le(uint16(bits))
	if extensible {
		le(uint16(22))
		le(uint16(bits))
		le(uint32(3))
		le(uint16(tag))
		b.Write([]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71})
	}
	b.WriteString("LIST")
	le(uint32(3))
	b.Write([]byte{1, 2, 3, 0}) // an odd-sized chunk with its pad byte
	b.WriteString("data")
	le(uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

func TestConvertWAVEveryLayout(t *testing.T) {
	const rate = 44100
	tone := sine(1000, rate, rate/2, 0.5)
	enc := func(bits, tag, channels int) []byte {
		var b bytes.Buffer
		for _, s := range tone {
			for c := 0; c < channels; c++ {
				v := s
				if c == 1 {
					v = 0 // the second channel is silent: the mix is half the level
				}
				switch {
				case tag == tagULaw:
					b.WriteByte(ulaw(v))
				case tag == tagFloat && bits == 32:
					_ = binary.Write(&b, binary.LittleEndian, float32(v)/32767)
				case tag == tagFloat:
					_ = binary.Write(&b, binary.LittleEndian, float64(v)/32767)
				case bits == 8:
					b.WriteByte(byte(int(v>>8) + 128))
				case bits == 16:
					_ = binary.Write(&b, binary.LittleEndian, v)
				case bits == 24:
					b.Write([]byte{0, byte(v), byte(v >> 8)})
				default:
					_ = binary.Write(&b, binary.LittleEndian, int32(v)<<16)
				}
			}
		}
		return b.Bytes()
	}
	for _, tc := range []struct {
		name           string
		tag, bits, ch  int
		extensible     bool
		want           string
		wantLevel, tol float64
	}{
		{"pcm16 stereo", tagPCM, 16, 2, false, "44100 Hz, 2 channels, 16-bit PCM", 0.25, 0.2},
		{"pcm8", tagPCM, 8, 1, false, "44100 Hz, mono, 8-bit PCM", 0.5, 0.5},
		{"pcm24 extensible", tagPCM, 24, 1, true, "44100 Hz, mono, 24-bit PCM", 0.5, 0.2},
		{"pcm32", tagPCM, 32, 1, false, "44100 Hz, mono, 32-bit PCM", 0.5, 0.2},
		{"float32 stereo", tagFloat, 32, 2, false, "44100 Hz, 2 channels, 32-bit float", 0.25, 0.2},
		{"float64", tagFloat, 64, 1, true, "44100 Hz, mono, 64-bit float", 0.5, 0.2},
		{"ulaw", tagULaw, 8, 1, false, "44100 Hz, mono, μ-law", 0.5, 0.3},
	} {
		pcm, src, err := ConvertWAV(wavBytes(tc.tag, tc.ch, rate, tc.bits, enc(tc.bits, tc.tag, tc.ch), tc.extensible))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if src.String() != tc.want || src.Native() {
			t.Errorf("%s: source %q native=%v, want %q", tc.name, src, src.Native(), tc.want)
		}
		if len(pcm) < 3999 || len(pcm) > 4001 {
			t.Errorf("%s: %d samples at 8 kHz, want 4000", tc.name, len(pcm))
		}
		if l := level(pcm, 1000, 8000); math.Abs(db(l/tc.wantLevel)) > tc.tol {
			t.Errorf("%s: 1 kHz at %.2f dB of the expected level", tc.name, db(l/tc.wantLevel))
		}
	}
	native := wavBytes(tagPCM, 1, 8000, 16, []byte{1, 0, 2, 0, 3}, false) // odd byte: ignored
	pcm, src, err := ConvertWAV(native)
	if err != nil || !src.Native() || len(pcm) != 2 || pcm[1] != 2 {
		t.Fatalf("native: %v %+v %v", pcm, src, err)
	}
}

func ulaw(v int16) byte { return dtmf.LinearToULaw(v) }

func TestConvertWAVRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"not riff", []byte("RIFX0000WAVE"), ErrNotWAV},
		{"no data", wavBytes(tagPCM, 1, 8000, 16, nil, false)[:48], ErrNotWAV},
		{"adpcm", wavBytes(2, 1, 8000, 4, []byte{1, 2}, false), ErrUnsupported},
		{"12-bit", wavBytes(tagPCM, 1, 8000, 12, []byte{1, 2}, false), ErrUnsupported},
		{"rate 0", wavBytes(tagPCM, 1, 0, 16, []byte{1, 2}, false), ErrUnsupported},
		{"rate 1 MHz", wavBytes(tagPCM, 1, 1000000, 16, []byte{1, 2}, false), ErrUnsupported},
		{"0 channels", wavBytes(tagPCM, 0, 8000, 16, []byte{1, 2}, false), ErrUnsupported},
		{"64 channels", wavBytes(tagPCM, 64, 8000, 16, []byte{1, 2}, false), ErrUnsupported},
	} {
		if _, _, err := ConvertWAV(tc.data); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// What sox writes in each layout converts to what sox itself makes of it at 8 kHz mono.
func TestConvertWAVAgreesWithSox(t *testing.T) {
	if _, err := exec.LookPath("sox"); err != nil {
		t.Fatal("sox not installed: run make deps")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src.wav")
	// Speech-like material: a chord of tones below 3.4 kHz plus one at 6 kHz that must go.
	if out, err := exec.Command("sox", "-n", "-r", "48000", "-c", "2", "-b", "16", src,
		"synth", "1", "sine", "440", "sine", "2500", "sine", "6000", "remix", "1,2,3", "1,2", "gain", "-6").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v %s", err, out)
	}
	for _, layout := range [][]string{
		{"-r", "44100", "-c", "2", "-b", "16", "-e", "signed-integer"},
		{"-r", "22050", "-c", "1", "-b", "8", "-e", "unsigned-integer"},
		{"-r", "48000", "-c", "1", "-b", "24", "-e", "signed-integer"},
		{"-r", "16000", "-c", "1", "-b", "32", "-e", "floating-point"},
		{"-r", "11025", "-c", "1", "-b", "8", "-e", "a-law"},
		{"-r", "8000", "-c", "2", "-b", "8", "-e", "u-law"},
	} {
		in := filepath.Join(dir, "in.wav")
		ref := filepath.Join(dir, "ref.wav")
		if out, err := exec.Command("sox", append(append([]string{src}, layout...), in)...).CombinedOutput(); err != nil {
			t.Fatalf("sox %v: %v %s", layout, err, out)
		}
		if out, err := exec.Command("sox", in, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", ref).CombinedOutput(); err != nil {
			t.Fatalf("sox: %v %s", err, out)
		}
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := ConvertWAV(data)
		if err != nil {
			t.Fatalf("%v: %v", layout, err)
		}
		f, err := os.Open(ref)
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := ReadWAV(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if d := len(got) - len(want); d < -2 || d > 2 {
			t.Fatalf("%v: %d samples, sox made %d", layout, len(got), len(want))
		}
		for _, f := range []float64{440, 2500} {
			lg, lw := level(got, f, 8000), level(want, f, 8000)
			if math.Abs(db(lg/lw)) > 0.5 {
				t.Errorf("%v: %.0f Hz at %.2f dB against sox", layout, f, db(lg/lw))
			}
		}
		if l := level(got, 2000, 8000); db(l) > -55 { // 6 kHz folded to 2 kHz
			t.Errorf("%v: 6 kHz aliased to 2 kHz at %.1f dBFS", layout, db(l))
		}
	}
}

func FuzzConvertWAV(f *testing.F) {
	f.Add(wavBytes(tagPCM, 2, 44100, 16, make([]byte, 64), false))
	f.Add(wavBytes(tagFloat, 1, 22050, 32, make([]byte, 64), true))
	f.Add(wavBytes(tagULaw, 3, 1000, 8, make([]byte, 9), false))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEdata\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pcm, src, err := ConvertWAV(b)
		if err != nil {
			return
		}
		// Output is bounded by what the input can hold: one byte per sample at least, scaled
		// by the rate change.
		if limit := (len(b)*8000)/max(src.SampleRate, 1) + 2; len(pcm) > limit {
			t.Fatalf("%d samples from %d bytes at %d Hz", len(pcm), len(b), src.SampleRate)
		}
	})
}
