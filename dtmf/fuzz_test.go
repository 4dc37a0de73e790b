package dtmf

import (
	"bytes"
	"testing"
	"time"
)

func FuzzTelephoneEvent(f *testing.F) {
	f.Add([]byte{5, 0x8a, 0x03, 0x20}, uint32(1000))
	f.Add([]byte{255, 0xff, 0xff, 0xff}, uint32(0xffffffff))
	f.Add([]byte{}, uint32(0))
	f.Fuzz(func(t *testing.T, b []byte, ts uint32) {
		var e TelephoneEvent
		if err := e.Unmarshal(b); err != nil {
			return
		}
		out, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if out[0] != b[0] || out[2] != b[2] || out[3] != b[3] || out[1] != b[1]&^0x40 {
			t.Fatalf("% x -> % x", b[:4], out)
		}
		r := NewReceiver(8000)
		downs, ups := 0, 0
		for i := 0; i < 3; i++ {
			evs, _ := r.Receive(ts, uint16(i), b, time.Duration(i)*20*time.Millisecond)
			for _, ev := range evs {
				if ev.End == 0 {
					downs++
				} else {
					ups++
				}
			}
		}
		ups += len(r.Expire(time.Hour))
		if downs > 1 || ups != downs {
			t.Fatalf("one timestamp made %d downs, %d ups", downs, ups)
		}
	})
}

func FuzzUnpackRED(f *testing.F) {
	f.Add([]byte{0x80 | 101, 0x0f, 0xa0, 0x04, 101, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{101, 1, 2, 3, 4})
	f.Add([]byte{0x80, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		blocks, err := UnpackRED(b)
		if err != nil {
			return
		}
		total := 0
		for _, bl := range blocks {
			total += len(bl.Data)
		}
		if total > len(b) {
			t.Fatalf("blocks hold %d bytes of a %d-byte payload", total, len(b))
		}
		again, err := PackRED(blocks)
		if err != nil {
			return // offsets from the wire always fit; lengths too: so only PT>127 cannot happen
		}
		if !bytes.Equal(again, b[:len(again)]) {
			t.Fatalf("repack differs:\n% x\n% x", b, again)
		}
	})
}

func FuzzParseInfo(f *testing.F) {
	f.Add("application/dtmf-relay", []byte("Signal=5\r\nDuration=160\r\n"))
	f.Add("application/dtmf", []byte("#"))
	f.Add("application/dtmf-relay;x=y", []byte("signal= 11\nDuration =abc"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		d, dur, err := ParseInfo(ct, body)
		if err != nil {
			if len(body) > 8 && bytes.Contains([]byte(err.Error()), body) {
				t.Fatalf("error quotes the body: %v", err)
			}
			return
		}
		if !d.Valid() || dur < 0 {
			t.Fatalf("ParseInfo gave %q %v", d.Char(), dur)
		}
	})
}

func FuzzDetector(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3}, uint8(160))
	f.Fuzz(func(t *testing.T, b []byte, frame uint8) {
		pcm := make([]int16, len(b))
		DecodeULaw(pcm, b)
		d := NewDetector()
		n := int(frame) + 1
		downs, ups := 0, 0
		count := func(evs []Event) {
			for _, e := range evs {
				if e.End == 0 {
					downs++
				} else {
					ups++
				}
			}
		}
		for i := 0; i < len(pcm); i += n {
			count(d.Process(pcm[i:min(i+n, len(pcm))]))
			if frame%7 == 0 {
				count(d.Gap(int(frame)))
			}
		}
		count(d.Flush())
		if downs != ups {
			t.Fatalf("%d downs, %d ups", downs, ups)
		}
	})
}

func FuzzMasker(f *testing.F) {
	f.Add(GenerateDigit('5', ToneOptions{Level: -10, Duration: 50 * time.Millisecond})[:200][0], uint8(160), true)
	f.Fuzz(func(t *testing.T, seed int16, frame uint8, secure bool) {
		m := NewMasker(MaskerConfig{})
		pcm := append(GenerateDigits("1#", ToneOptions{Level: float64(seed%30) - 20, Duration: time.Duration(seed&63) * time.Millisecond}), make([]int16, 500)...)
		n := int(frame) + 1
		total := 0
		for i := 0; i < len(pcm); i += n {
			if secure && i > len(pcm)/2 {
				m.SetSecure(true)
			}
			total += len(m.Process(pcm[i:min(i+n, len(pcm))]))
		}
		if total != len(pcm) {
			t.Fatalf("%d samples out of %d", total, len(pcm))
		}
	})
}

// FuzzStream drives a Stream with an arbitrary mix of audio, gaps, events, INFO bodies and
// clock steps: it must never panic, and every key down must come up once.
func FuzzStream(f *testing.F) {
	f.Add([]byte{0, 5, 1, 1, 10, 2, 5, 0x8a, 3, 4, 'S', '=', '5', 4, 200})
	f.Fuzz(func(t *testing.T, ops []byte) {
		downs, ups := 0, 0
		s := NewStream(StreamConfig{OnDigit: func(Event) { downs++ }, OnRelease: func(Event) { ups++ }})
		tone := GenerateDigit('5', ToneOptions{Level: -10, Duration: 60 * time.Millisecond})
		for i := 0; i+1 < len(ops); i += 2 {
			arg := int(ops[i+1])
			switch ops[i] % 5 {
			case 0:
				s.Audio(tone[:min(len(tone), arg*4)])
			case 1:
				s.Gap(arg * 8)
			case 2:
				end := min(len(ops), i+6)
				_ = s.TelephoneEvent(uint32(arg)*100, uint16(i), ops[i+2:max(i+2, end)])
			case 3:
				end := min(len(ops), i+2+arg%16)
				_ = s.Info("application/dtmf-relay", ops[i+2:max(i+2, end)])
			case 4:
				s.Advance(time.Duration(arg) * time.Millisecond)
			}
		}
		s.Flush()
		if downs != ups {
			t.Fatalf("%d keys down, %d up", downs, ups)
		}
	})
}
