package media

import (
	"bytes"
	"path/filepath"
	"sync"
	"testing"

	"github.com/paybridge/paybridge/dtmf"
)

// ulawStream is a recordingStream that also takes PCMU payloads as they are.
type ulawStream struct {
	recordingStream
	umu  sync.Mutex
	ulaw [][]byte
}

func (u *ulawStream) AudioULaw(p []byte) {
	u.umu.Lock()
	u.ulaw = append(u.ulaw, bytes.Clone(p))
	u.umu.Unlock()
}

// A PCMU packet goes to a stream that takes μ-law as its bytes, undecoded, when nothing else
// wants the samples; the sequence and timestamp bookkeeping is the same as for decoded audio
// (the next packet is no gap). A recording needs the samples: then the stream gets them
// decoded, as a stream without AudioULaw always does.
func TestPCMUHandedOverUndecoded(t *testing.T) {
	m, _ := newTestMedia(t)
	st := &ulawStream{}
	m.stream = st
	p := pkt(0, 10, 7)
	for i := range p.Payload {
		p.Payload[i] = byte(i)
	}
	m.receive(p, farEnd)
	m.receive(pkt(0, 11, 7), farEnd)
	if len(st.ulaw) != 2 || !bytes.Equal(st.ulaw[0], p.Payload) || len(st.ulaw[1]) != 160 {
		t.Fatalf("AudioULaw got %d payloads (first %x), want the two packets' bytes", len(st.ulaw), st.ulaw)
	}
	if st.audio != 0 || len(st.gaps) != 0 {
		t.Errorf("also fed %d decoded samples and gaps %v, want none", st.audio, st.gaps)
	}

	if err := m.Record(filepath.Join(t.TempDir(), "call.wav"), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.StopRecording() })
	m.receive(pkt(0, 12, 7), farEnd)
	if len(st.ulaw) != 2 || st.audio != 160 || len(st.gaps) != 0 {
		t.Errorf("while recording: %d payloads undecoded, %d samples decoded, gaps %v; want 2, 160, none",
			len(st.ulaw), st.audio, st.gaps)
	}
}

// The detector finds the same keys in PCMU whether the media layer decodes it or not.
func TestPCMUKeysFoundUndecoded(t *testing.T) {
	opt := dtmf.DefaultToneOptions()
	played := append(append(tone(200e6), dtmf.GenerateDigits("4719", opt)...), tone(200e6)...)
	payload := make([]byte, len(played))
	dtmf.EncodeULaw(payload, played)
	for _, undecoded := range []bool{true, false} {
		m, _ := newTestMedia(t)
		var got []byte
		st := dtmf.NewStream(dtmf.StreamConfig{OnDigit: func(e dtmf.Event) { got = append(got, byte(e.Digit)) }})
		if undecoded {
			m.stream = st
		} else {
			m.stream = struct{ DTMFStream }{st} // hides AudioULaw
		}
		for i := 0; i+160 <= len(payload); i += 160 {
			p := pkt(0, uint16(i/160), 7)
			copy(p.Payload, payload[i:i+160])
			m.receive(p, farEnd)
		}
		m.stream.Advance(200e6)
		if string(got) != "4719" {
			t.Errorf("undecoded=%v: keys %q, want 4719", undecoded, got)
		}
	}
}
