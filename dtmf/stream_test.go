package dtmf

import (
	"testing"
	"time"
)

// streamRun records what a Stream reports.
type streamRun struct {
	s          *Stream
	downs, ups string
	downAt     []time.Duration // stream clock when OnDigit was called
}

func newStreamRun() *streamRun {
	r := &streamRun{}
	r.s = NewStream(StreamConfig{
		OnDigit: func(e Event) {
			r.downs += string(e.Digit.Char())
			r.downAt = append(r.downAt, r.s.Now())
		},
		OnRelease: func(e Event) { r.ups += string(e.Digit.Char()) },
	})
	return r
}

// callAudio plays keys as in-band tones and/or RFC 4733 events, 20 ms packets, as a gateway
// would: tone leaks leakMS before the events start.
func (r *streamRun) play(t *testing.T, keys string, inband, events bool, leakMS int, info bool) {
	t.Helper()
	const on, off = 100, 100
	ts := uint32(0)
	seq := uint16(0)
	for i := 0; i < len(keys); i++ {
		d := Digit(keys[i])
		tone := GenerateDigit(d, ToneOptions{Level: -10, Duration: on * time.Millisecond})
		ps, err := NewSender(8000).Packets(d, ts+uint32(leakMS*8), time.Duration(on-leakMS)*time.Millisecond, 20*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		pi := 0
		for f := 0; f < (on+off)/20; f++ {
			frame := make([]int16, 160)
			if inband && f*160 < len(tone) {
				copy(frame, tone[f*160:])
			}
			if info && f == 1 {
				if err := r.s.Info("application/dtmf-relay", FormatInfoRelay(d, on*time.Millisecond)); err != nil {
					t.Fatal(err)
				}
			}
			for events && pi < len(ps) && time.Duration(leakMS)*time.Millisecond+ps[pi].Offset <= time.Duration(f*20)*time.Millisecond {
				if err := r.s.TelephoneEvent(ps[pi].Timestamp, seq, ps[pi].Payload); err != nil {
					t.Fatal(err)
				}
				seq++
				pi++
			}
			r.s.Audio(frame)
		}
		ts += (on + off) * 8
	}
	r.s.Flush()
}

// R14 and the merger: every mix of sources gives each keypress exactly once.
func TestStreamOneDigitPerKeypress(t *testing.T) {
	const keys = "1122334455667788990*#ABCD"
	for _, c := range []struct {
		name                 string
		inband, events, info bool
		leak                 int
	}{
		{"inband only", true, false, false, 0},
		{"events only", false, true, false, 0},
		{"info only", false, false, true, 0},
		{"tones and events together", true, true, false, 0},
		{"gateway leaks 40ms of tone before events", true, true, false, 40},
		{"tones, events and info", true, true, true, 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newStreamRun()
			r.play(t, keys, c.inband, c.events, c.leak, c.info)
			if r.downs != keys || r.ups != keys {
				t.Fatalf("downs %q ups %q, want %q", r.downs, r.ups, keys)
			}
		})
	}
}

// D14 through the stream: the key is reported within 60 ms of the tone's onset.
func TestStreamLatency(t *testing.T) {
	r := newStreamRun()
	r.play(t, "5", true, false, 0, false)
	if len(r.downAt) != 1 || r.downAt[0] > 60*time.Millisecond {
		t.Fatalf("key down at %v", r.downAt)
	}
}

// A lost packet is a gap, not silence: one digit, not two.
func TestStreamGapKeepsOneDigit(t *testing.T) {
	r := newStreamRun()
	tone := GenerateDigit('9', ToneOptions{Level: -10, Duration: 120 * time.Millisecond})
	for f := 0; f < 6; f++ {
		if f == 3 {
			r.s.Gap(160)
			continue
		}
		r.s.Audio(tone[f*160 : (f+1)*160])
	}
	r.s.Audio(make([]int16, 800))
	r.s.Flush()
	if r.downs != "9" || r.ups != "9" {
		t.Fatalf("downs %q ups %q", r.downs, r.ups)
	}
}

// The clock running without audio (Advance, as a live call's idle timer does) is not a gap
// in a tone until StallLimit: audio that then arrives late and in order continues the key
// (one digit, not two) and covers the time already counted; past StallLimit the silence ends
// the key and the tone's return is a second keypress.
func TestStreamStallDoesNotSplitAKey(t *testing.T) {
	tone := GenerateDigit('2', ToneOptions{Level: -10, Duration: 160 * time.Millisecond})
	for _, c := range []struct {
		stall time.Duration
		want  string
	}{{800 * time.Millisecond, "2"}, {StallLimit - 20*time.Millisecond, "2"}, {StallLimit + 100*time.Millisecond, "22"}} {
		r := newStreamRun()
		r.s.Audio(make([]int16, 800))
		for f := 0; f < 8; f++ {
			if f == 3 {
				for a := time.Duration(0); a < c.stall; a += 20 * time.Millisecond {
					r.s.Advance(20 * time.Millisecond)
				}
			}
			r.s.Audio(tone[f*160 : (f+1)*160])
		}
		r.s.Audio(make([]int16, 800))
		now := r.s.Now()
		r.s.Flush()
		if r.downs != c.want || r.ups != c.want {
			t.Errorf("stall %v: downs %q ups %q, want %q", c.stall, r.downs, r.ups, c.want)
		}
		// 160 ms of audio before the stall; the 200 ms after it arrived late and covers
		// time the stall already counted: it is not counted again.
		if want := 160*time.Millisecond + c.stall; c.stall < StallLimit && now != want {
			t.Errorf("stall %v: clock %v, want %v", c.stall, now, want)
		}
	}
}

// Events whose sender goes silent end on the clock: Advance without media.
func TestStreamAdvanceExpiresEvents(t *testing.T) {
	r := newStreamRun()
	if err := r.s.TelephoneEvent(100, 1, te(3, false, 160)); err != nil {
		t.Fatal(err)
	}
	r.s.Advance(100 * time.Millisecond)
	if r.ups != "" {
		t.Fatal("ended too early")
	}
	r.s.Advance(200 * time.Millisecond)
	if r.downs != "3" || r.ups != "3" {
		t.Fatalf("downs %q ups %q", r.downs, r.ups)
	}
	if err := r.s.TelephoneEvent(1, 1, []byte{1}); err == nil {
		t.Fatal("short payload accepted")
	}
	if err := r.s.Info("text/plain", nil); err == nil {
		t.Fatal("bad INFO accepted")
	}
}

// A keypress the stream remembers for merging is zeroed — digit and all — once it has been
// released for claimRetention of the stream's clock, by the clock alone (no later key needed),
// and at once by Flush. The receiver's record of an RFC 4733 key and the pending INFO keys'
// slots are zeroed when they end.
func TestStreamZeroesForgottenKeys(t *testing.T) {
	press := func(s *Stream, d Digit) {
		t.Helper()
		tone := GenerateDigit(d, ToneOptions{Level: -10, Duration: 100 * time.Millisecond})
		ps, err := NewSender(8000).Packets(d, 0, 100*time.Millisecond, 20*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Info("application/dtmf-relay", FormatInfoRelay(d, 100*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		for f := 0; f < 10; f++ {
			frame := make([]int16, 160)
			if f < 5 {
				copy(frame, tone[f*160:])
			}
			for len(ps) > 0 && ps[0].Offset <= time.Duration(f*20)*time.Millisecond {
				if err := s.TelephoneEvent(ps[0].Timestamp, uint16(f), ps[0].Payload); err != nil {
					t.Fatal(err)
				}
				ps = ps[1:]
			}
			s.Audio(frame)
		}
	}
	zeroed := func(cs []*claim) bool {
		for _, c := range cs {
			if *c != (claim{}) {
				return false
			}
		}
		return true
	}

	var keys string
	s := NewStream(StreamConfig{OnDigit: func(e Event) { keys += string(e.Digit.Char()) }})
	press(s, '7')
	rx := s.rx.cur // nil once the events' end packet arrived
	pending := s.pending[:cap(s.pending)]
	claims := append([]*claim(nil), s.claims...)
	if keys != "7" || len(claims) != 1 || claims[0].ev.Digit != '7' {
		t.Fatalf("keys %q, %d claims: the key did not register", keys, len(claims))
	}
	if rx != nil {
		t.Fatal("the receiver still holds a key after its end packet")
	}
	for i, e := range pending {
		if e != (Event{}) {
			t.Fatalf("pending INFO slot %d still holds a key after its release: %+v", i, e)
		}
	}
	s.Advance(claimRetention / 2)
	if zeroed(claims) || len(s.claims) != 1 {
		t.Fatal("a key was forgotten before claimRetention: a late source would count twice")
	}
	s.Advance(claimRetention)
	if len(s.claims) != 0 || !zeroed(claims) {
		t.Fatalf("claimRetention after its release the key is still remembered: %d claims, zeroed %v", len(s.claims), zeroed(claims))
	}
	if claims[0].ev.Digit != 0 {
		t.Fatal("the forgotten key's digit is still in memory")
	}

	// Flush: the end of input forgets every released key at once.
	s2 := NewStream(StreamConfig{OnDigit: func(Event) {}})
	press(s2, '4')
	press(s2, '2')
	claims = append([]*claim(nil), s2.claims...)
	if len(claims) != 2 {
		t.Fatalf("%d claims for two keys", len(claims))
	}
	s2.Flush()
	if len(s2.claims) != 0 || !zeroed(claims) {
		t.Fatal("Flush left released keys in memory")
	}

	// The receiver zeroes its record of a key when the key ends.
	r := NewReceiver(8000)
	if _, err := r.Receive(100, 1, te(9, false, 160), 0); err != nil {
		t.Fatal(err)
	}
	cur := r.cur
	if cur == nil || cur.code != 9 {
		t.Fatal("the receiver did not hold the key")
	}
	r.Expire(time.Second)
	if *cur != (rxEvent{}) {
		t.Fatalf("the receiver's ended key is not zeroed: %+v", *cur)
	}
}
