package dtmf

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

func te(code uint8, end bool, dur uint16) []byte {
	b, err := TelephoneEvent{Event: code, End: end, Volume: 10, Duration: dur}.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

// rxPkt is one packet in a receiver scenario, arriving at a time in ms.
type rxPkt struct {
	at   int
	ts   uint32
	seq  uint16
	code uint8
	end  bool
	dur  uint16
}

// runRx plays packets (then waits 1 s) and returns the keys gone down and the keys gone up.
func runRx(t *testing.T, rate int, pkts []rxPkt) (downs, ups string, evs []Event) {
	t.Helper()
	r := NewReceiver(rate)
	last := 0
	for _, p := range pkts {
		now := time.Duration(p.at) * time.Millisecond
		evs = append(evs, r.Expire(now)...)
		got, err := r.Receive(p.ts, p.seq, te(p.code, p.end, p.dur), now)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, got...)
		last = p.at
	}
	evs = append(evs, r.Expire(time.Duration(last+1000)*time.Millisecond)...)
	for _, e := range evs {
		if e.Source != SourceRFC4733 {
			t.Fatalf("source %v", e.Source)
		}
		if e.End == 0 {
			downs += string(e.Digit.Char())
		} else {
			if e.End <= e.Start {
				t.Fatalf("end %v before start %v", e.End, e.Start)
			}
			ups += string(e.Digit.Char())
		}
	}
	return downs, ups, evs
}

// event builds the packets a well-behaved sender makes: updates every 20 ms, 3 end packets.
func event(at int, ts uint32, seq uint16, code uint8, ms int, rate int) []rxPkt {
	var ps []rxPkt
	unit := rate / 1000
	for k := 1; k*20 < ms; k++ {
		ps = append(ps, rxPkt{at + (k-1)*20, ts, seq, code, false, uint16(k * 20 * unit)})
		seq++
	}
	for i := 0; i < 3; i++ {
		ps = append(ps, rxPkt{at + ms - 20 + i*20, ts, seq, code, true, uint16(ms * unit)})
		seq++
	}
	return ps
}

func cat(ps ...[]rxPkt) []rxPkt {
	var out []rxPkt
	for _, p := range ps {
		out = append(out, p...)
	}
	return out
}

// The RFC 4733 receiver's rows R1–R15 (docs/dtmf.md).
func TestReceiverRows(t *testing.T) {
	cases := []struct {
		id, name   string
		rate       int
		pkts       []rxPkt
		downs, ups string
	}{
		{"R1", "keyed on timestamp: no marker, duration going backwards, same code", 8000, []rxPkt{
			{0, 1000, 1, 5, false, 320}, {20, 1000, 2, 5, false, 160}, {40, 1000, 3, 5, false, 480},
			{60, 1000, 4, 5, true, 640}}, "5", "5"},
		{"R2", "reported at the first end packet", 8000, event(0, 1000, 1, 1, 100, 8000), "1", "1"},
		{"R3", "reported when a newer timestamp arrives (no end packet)", 8000, []rxPkt{
			{0, 1000, 1, 1, false, 160}, {20, 1000, 2, 1, false, 320},
			{100, 2000, 3, 2, false, 160}, {120, 2000, 4, 2, true, 320}}, "12", "12"},
		{"R4", "reported after the timeout when the sender goes silent", 8000, []rxPkt{
			{0, 1000, 1, 3, false, 160}, {20, 1000, 2, 3, false, 320}}, "3", "3"},
		{"R5", "triple end packets and duplicates are one digit", 8000, cat(
			[]rxPkt{{0, 1000, 1, 4, false, 160}, {0, 1000, 1, 4, false, 160}},
			event(20, 1000, 2, 4, 100, 8000), event(20, 1000, 2, 4, 100, 8000)), "4", "4"},
		{"R6", "lost first packets: still one digit", 8000, []rxPkt{
			{60, 1000, 4, 6, false, 640}, {80, 1000, 5, 6, true, 800}}, "6", "6"},
		{"R7", "the same key twice is two digits", 8000, cat(
			event(0, 1000, 1, 7, 100, 8000), event(200, 2600, 20, 7, 100, 8000)), "77", "77"},
		{"R8", "end-only sender", 8000, []rxPkt{
			{100, 1000, 1, 8, true, 800}, {120, 1000, 2, 8, true, 800}, {140, 1000, 3, 8, true, 800}}, "8", "8"},
		{"R9", "stale and reordered packets never resurrect a digit", 8000, cat(
			event(0, 1000, 1, 9, 100, 8000), event(200, 2600, 20, 0, 100, 8000),
			[]rxPkt{{400, 1000, 5, 9, false, 320}, {410, 1000, 9, 9, true, 800}, {420, 900, 3, 9, false, 160}}),
			"90", "90"},
		{"R10", "timestamp and sequence wrap", 8000, cat(
			event(0, 0xFFFFFF00, 0xFFFE, 1, 100, 8000), event(200, 0x00000500, 10, 2, 100, 8000)), "12", "12"},
		{"R11", "a 10 s event in segments is one digit", 8000, longEvent(0xFFFFF000, 10*time.Second), "5", "5"},
		{"R12", "zero durations do not crash", 8000, []rxPkt{
			{0, 1000, 1, 3, false, 0}, {0, 1000, 2, 3, true, 0}, {20, 2000, 3, 4, true, 0}}, "34", "34"},
		{"R13", "events 16 and above are not digits", 8000, cat(
			event(0, 1000, 1, 16, 100, 8000), event(200, 3000, 9, 255, 100, 8000), event(400, 5000, 20, 11, 100, 8000)),
			"#", "#"},
		{"R16", "late after a stall: expired key's packets in a burst, an end packet again 300 ms later", 8000, []rxPkt{
			{0, 1000, 1, 4, false, 160}, {20, 1000, 2, 4, false, 320},
			{400, 1000, 3, 4, false, 480}, {400, 1000, 4, 4, false, 640}, {400, 1000, 5, 4, true, 800},
			{400, 1000, 6, 4, true, 800}, {700, 1000, 7, 4, true, 800},
			{800, 3000, 8, 2, false, 160}, {820, 3000, 9, 2, true, 320}}, "42", "42"},
		{"R15", "clock rate is a parameter (48 kHz)", 48000, cat(
			event(0, 1000, 1, 1, 100, 48000), event(200, 20000, 9, 2, 100, 48000)), "12", "12"},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			downs, ups, evs := runRx(t, c.rate, c.pkts)
			if downs != c.downs || ups != c.ups {
				t.Fatalf("%s: downs %q ups %q, want %q", c.name, downs, ups, c.downs)
			}
			if c.id == "R15" {
				for _, e := range evs {
					if e.End != 0 && (e.End-e.Start < 90*time.Millisecond || e.End-e.Start > 110*time.Millisecond) {
						t.Fatalf("48 kHz event lasted %v, want 100ms", e.End-e.Start)
					}
				}
			}
			if c.id == "R11" {
				for _, e := range evs {
					if e.End != 0 && e.End-e.Start < 9*time.Second {
						t.Fatalf("long event lasted %v", e.End-e.Start)
					}
				}
			}
		})
	}
}

// longEvent builds the packets of a key held for d at 8 kHz, as Sender segments it.
func longEvent(ts uint32, d time.Duration) []rxPkt {
	ps, err := NewSender(8000).Packets('5', ts, d, 20*time.Millisecond)
	if err != nil {
		panic(err)
	}
	var out []rxPkt
	for i, p := range ps {
		var e TelephoneEvent
		if err := e.Unmarshal(p.Payload); err != nil {
			panic(err)
		}
		out = append(out, rxPkt{int(p.Offset / time.Millisecond), p.Timestamp, uint16(i), e.Event, e.End, e.Duration})
	}
	return out
}

// R14: RFC 2198 red carrying telephone-events, unpacked and fed block by block.
func TestReceiverRED(t *testing.T) {
	r := NewReceiver(8000)
	var downs, ups int
	feed := func(ts uint32, blocks []REDBlock, now time.Duration) {
		payload, err := PackRED(blocks)
		if err != nil {
			t.Fatal(err)
		}
		got, err := UnpackRED(payload)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range got {
			if b.PayloadType != 101 {
				t.Fatalf("block PT %d", b.PayloadType)
			}
			evs, err := r.Receive(ts-uint32(b.TimestampOffset), 0, b.Data, now)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if e.End == 0 {
					downs++
				} else {
					ups++
				}
			}
		}
	}
	// key '1' at ts 1000, then key '2' at ts 2000 whose packet repeats '1''s end as redundancy
	feed(1000, []REDBlock{{PayloadType: 101, Data: te(1, false, 160)}}, 0)
	feed(2000, []REDBlock{
		{PayloadType: 101, TimestampOffset: 1000, Data: te(1, true, 400)},
		{PayloadType: 101, Data: te(2, false, 160)}}, 150*time.Millisecond)
	feed(2000, []REDBlock{
		{PayloadType: 101, TimestampOffset: 1000, Data: te(1, true, 400)},
		{PayloadType: 101, Data: te(2, true, 480)}}, 200*time.Millisecond)
	if downs != 2 || ups != 2 {
		t.Fatalf("downs %d ups %d, want 2 and 2", downs, ups)
	}
}

func TestREDRoundTripAndErrors(t *testing.T) {
	blocks := []REDBlock{
		{PayloadType: 96, TimestampOffset: 320, Data: []byte{1, 2, 3, 4}},
		{PayloadType: 96, TimestampOffset: 160, Data: []byte{5, 6, 7, 8}},
		{PayloadType: 96, Data: []byte{9, 10, 11, 12}},
	}
	p, err := PackRED(blocks)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnpackRED(p)
	if err != nil || len(got) != 3 {
		t.Fatalf("UnpackRED: %v %d", err, len(got))
	}
	for i := range got {
		if got[i].PayloadType != blocks[i].PayloadType || got[i].TimestampOffset != blocks[i].TimestampOffset ||
			!bytes.Equal(got[i].Data, blocks[i].Data) {
			t.Fatalf("block %d: %+v", i, got[i])
		}
	}
	for _, bad := range [][]byte{nil, {0x80}, {0x80, 0, 0, 10, 96}, {0xE0, 0, 0, 4, 96, 1}} {
		if _, err := UnpackRED(bad); !errors.Is(err, ErrBadRED) {
			t.Errorf("UnpackRED(% x) = %v", bad, err)
		}
	}
}

func TestTelephoneEventRoundTrip(t *testing.T) {
	for _, e := range []TelephoneEvent{{0, false, 0, 0}, {11, true, 63, 65535}, {255, true, 10, 1}} {
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var got TelephoneEvent
		if err := got.Unmarshal(b); err != nil || got != e {
			t.Fatalf("%+v -> % x -> %+v (%v)", e, b, got, err)
		}
	}
	if _, err := (TelephoneEvent{Volume: 64}).Marshal(); err == nil {
		t.Fatal("volume 64 accepted")
	}
	var e TelephoneEvent
	if err := e.Unmarshal([]byte{1, 2, 3}); !errors.Is(err, ErrShortPayload) {
		t.Fatalf("short payload: %v", err)
	}
	// the reserved bit is ignored
	if err := e.Unmarshal([]byte{5, 0x40 | 7, 0, 160}); err != nil || e.Volume != 7 || e.End {
		t.Fatalf("reserved bit: %+v %v", e, err)
	}
}

func TestSenderPackets(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		ps, err := NewSender(rate).Packets('#', 0xFFFFFFF0, 100*time.Millisecond, 20*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 4+3 {
			t.Fatalf("%d Hz: %d packets, want 4 updates + 3 ends", rate, len(ps))
		}
		var prev uint16
		for i, p := range ps {
			var e TelephoneEvent
			if err := e.Unmarshal(p.Payload); err != nil {
				t.Fatal(err)
			}
			if p.Timestamp != 0xFFFFFFF0 || e.Event != 11 || p.Marker != (i == 0) || e.End != (i >= 4) || e.End != p.End {
				t.Fatalf("%d Hz packet %d: %+v %+v", rate, i, p, e)
			}
			if p.Offset != time.Duration(i+1)*20*time.Millisecond || e.Duration < prev {
				t.Fatalf("%d Hz packet %d: offset %v duration %d", rate, i, p.Offset, e.Duration)
			}
			prev = e.Duration
		}
		if want := uint16(rate / 10); prev != want {
			t.Fatalf("%d Hz: final duration %d, want %d", rate, prev, want)
		}
	}
	if _, err := NewSender(8000).Packets('x', 0, time.Second, 20*time.Millisecond); !errors.Is(err, ErrNotDigit) {
		t.Fatal("non-key accepted")
	}
	if _, err := NewSender(8000).Packets('1', 0, 0, 20*time.Millisecond); !errors.Is(err, ErrBadTiming) {
		t.Fatal("zero duration accepted")
	}
}

// Sender → Receiver round trip for every key, at several rates, with loss of random packets
// other than all three ends.
func TestSenderReceiverRoundTrip(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		r := NewReceiver(rate)
		var keys string
		ts := uint32(123456)
		base := time.Duration(0)
		for code := uint8(0); code < 16; code++ {
			ps, err := NewSender(rate).Packets(Digit("0123456789*#ABCD"[code]), ts, 120*time.Millisecond, 20*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range ps {
				if i == int(code)%4 { // lose one packet
					continue
				}
				evs, err := r.Receive(p.Timestamp, uint16(i), p.Payload, base+p.Offset)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range evs {
					if e.End == 0 {
						keys += string(e.Digit.Char())
					}
				}
			}
			ts += uint32(rate / 4)
			base += 250 * time.Millisecond
		}
		if keys != "0123456789*#ABCD" {
			t.Fatalf("%d Hz: keys %q", rate, keys)
		}
	}
}

func ExampleSender_Packets() {
	ps, _ := NewSender(8000).Packets('5', 4000, 60*time.Millisecond, 20*time.Millisecond)
	for _, p := range ps {
		var e TelephoneEvent
		_ = e.Unmarshal(p.Payload)
		fmt.Printf("+%v ts=%d marker=%v end=%v duration=%d\n", p.Offset, p.Timestamp, p.Marker, e.End, e.Duration)
	}
	// Output:
	// +20ms ts=4000 marker=true end=false duration=160
	// +40ms ts=4000 marker=false end=false duration=320
	// +60ms ts=4000 marker=false end=true duration=480
	// +80ms ts=4000 marker=false end=true duration=480
	// +100ms ts=4000 marker=false end=true duration=480
}
