package media

import (
	"fmt"
	"testing"

	"github.com/paybridge/paybridge/dtmf"
)

// TestCodecRoundTrip: every payload byte decodes to a sample that encodes back to a byte
// decoding to the same sample (G.711 is lossy for samples, exact for its own code points),
// and Encode/Decode agree with dtmf's bit-exact G.711 tables.
func TestCodecRoundTrip(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, c := range []Codec{PCMU, PCMA} {
		pcm := make([]int16, 256)
		if n := c.Decode(pcm, all); n != 256 {
			t.Fatalf("%s: decoded %d samples of 256 bytes", c, n)
		}
		back := make([]byte, 256)
		if n := c.Encode(back, pcm); n != 256 {
			t.Fatalf("%s: encoded %d bytes of 256 samples", c, n)
		}
		again := make([]int16, 256)
		c.Decode(again, back)
		for i := range pcm {
			if again[i] != pcm[i] {
				t.Fatalf("%s: byte %#x → %d → %#x → %d", c, i, pcm[i], back[i], again[i])
			}
		}
		want := make([]int16, 256)
		if c == PCMA {
			dtmf.DecodeALaw(want, all)
		} else {
			dtmf.DecodeULaw(want, all)
		}
		for i := range want {
			if pcm[i] != want[i] {
				t.Fatalf("%s: byte %#x decodes to %d, dtmf says %d", c, i, pcm[i], want[i])
			}
		}
	}
	var zero Codec
	if !zero.IsZero() || zero.Encode(make([]byte, 4), make([]int16, 4)) != 0 || zero.Decode(make([]int16, 4), make([]byte, 4)) != 0 ||
		zero.Name() != "" || zero.ClockRate() != 0 {
		t.Fatal("the zero Codec must encode and decode nothing")
	}
}

func TestCodecByName(t *testing.T) {
	for _, tc := range []struct {
		name string
		rate int
		pt   uint8
		want Codec
		ok   bool
	}{
		{"PCMU", 8000, 0, PCMU, true},
		{"pcma", 8000, 8, PCMA, true},
		{"PCMU", 8000, 96, PCMU.WithPayloadType(96), true}, // a dynamic binding of a static codec
		{"PCMU", 16000, 0, Codec{}, false},
		{"G729", 8000, 18, Codec{}, false},
		{"PCMA", 8000, 128, Codec{}, false},
	} {
		got, ok := CodecByName(tc.name, tc.rate, tc.pt)
		if got != tc.want || ok != tc.ok {
			t.Errorf("CodecByName(%q, %d, %d) = %v/%d, %v; want %v/%d, %v", tc.name, tc.rate, tc.pt,
				got, got.PayloadType(), ok, tc.want, tc.want.PayloadType(), tc.ok)
		}
	}
	if PCMU.WithPayloadType(96) == PCMU || PCMU.WithPayloadType(96).Name() != "PCMU" {
		t.Fatal("the payload type is part of a codec's identity, the encoding is kept")
	}
}

func FuzzCodecDecode(f *testing.F) {
	f.Add([]byte{0x00, 0x7f, 0x80, 0xff}, true)
	f.Fuzz(func(t *testing.T, payload []byte, alaw bool) {
		c := PCMU
		if alaw {
			c = PCMA
		}
		pcm := make([]int16, len(payload))
		if c.Decode(pcm, payload) != len(payload) {
			t.Fatal("short decode")
		}
		back := make([]byte, len(pcm))
		c.Encode(back, pcm)
		again := make([]int16, len(back))
		c.Decode(again, back)
		for i := range pcm {
			if again[i] != pcm[i] {
				t.Fatalf("sample %d: %d then %d", i, pcm[i], again[i])
			}
		}
	})
}

func ExampleCodec() {
	pcm := []int16{0, 1000, -1000, 32767}
	payload := make([]byte, len(pcm))
	n := PCMA.Encode(payload, pcm)
	back := make([]int16, n)
	PCMA.Decode(back, payload[:n])
	fmt.Println(PCMA.Name(), PCMA.PayloadType(), n, back)
	// Output: PCMA 8 4 [8 1008 -1008 32256]
}
