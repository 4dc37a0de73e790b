package media

import (
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/dtmf"
)

// A bridge carries the caller's in-band keys to a far end that reads them: a provider's
// capture line (capture="provider") takes the card that way. Lateness anywhere on the way —
// the caller's packets held up, this process's scheduler or reader stalled — delays the
// audio; it must never add or remove a key. Time the caller really skipped (silence
// suppression: a new talkspurt) still separates two presses of the same key.

// sendRealTime sends pcm as 20 ms frames at the pace of a phone (tonePeer.send waits only
// half a frame after each), so that the bridge's jitter buffer neither fills nor runs dry
// unless the test makes it.
func sendRealTime(p *tonePeer, pcm []int16) {
	start := time.Now()
	for i := 0; i < len(pcm); i += 160 {
		p.send(pcm[i:min(i+160, len(pcm))])
		time.Sleep(time.Until(start.Add(time.Duration(i/160+1) * 20 * time.Millisecond)))
	}
}

// lateBridge is a caller (a raw RTP peer) → callerLeg ═ bridge ═ agentLeg → agentEnd, whose
// DTMF stream hears the keys the bridge relays in-band.
func lateBridge(t *testing.T) (*tonePeer, *keys, *Bridge) {
	t.Helper()
	sched := NewScheduler()
	t.Cleanup(sched.Close)
	heard := newKeys()
	callerLeg := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched, SignalIP: lo})
	t.Cleanup(callerLeg.Close)
	agentLeg := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched, SignalIP: lo})
	t.Cleanup(agentLeg.Close)
	agentEnd := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched, SignalIP: lo,
		DTMF: dtmf.NewStream(dtmf.StreamConfig{OnDigit: heard.onDigit})})
	t.Cleanup(agentEnd.Close)
	caller := newTonePeer(t, callerLeg, SuiteNone)
	negotiatePair(t, agentLeg, agentEnd, BuildOffer(LocalMedia{IP: lo, Port: agentLeg.Port(), SessionID: 3, Version: 1}), nil)
	for _, s := range []*Session{callerLeg, agentLeg, agentEnd} {
		s.Start()
	}
	br := NewBridge(callerLeg, agentLeg, BridgeConfig{})
	t.Cleanup(br.Close)
	return caller, heard, br
}

// TestBridgeLateCallerAudioKeepsEveryKey: the caller's audio stops for 150 ms in the middle
// of a tone and goes on, in order, with the timestamps it was made with (its packets were
// late, none lost). The bridge's jitter buffer runs dry meanwhile; the far end must still
// hear one key — before the fix it heard two (the capture line read 17 digits for 16). The
// same key pressed twice by a silence-suppressing phone stays two keys.
func TestBridgeLateCallerAudioKeepsEveryKey(t *testing.T) {
	caller, heard, _ := lateBridge(t)
	key := func(d byte, ms int) []int16 {
		digit, _ := dtmf.ParseDigit(d)
		return dtmf.GenerateDigit(digit, dtmf.ToneOptions{Level: -10, Duration: time.Duration(ms) * time.Millisecond})
	}
	silence := func(ms int) []int16 { return make([]int16, ms*8) }

	sendRealTime(caller, silence(200))
	sendRealTime(caller, key('4', 100))
	sendRealTime(caller, silence(100))
	for _, stall := range []time.Duration{60 * time.Millisecond, 150 * time.Millisecond, 300 * time.Millisecond} {
		two := key('2', 200)
		sendRealTime(caller, two[:80*8])
		time.Sleep(stall) // the caller's packets are held up: nothing arrives
		sendRealTime(caller, two[80*8:])
		sendRealTime(caller, silence(100))
	}
	// "5" twice from a phone that suppresses silence: the tone, nothing for 300 ms (the
	// timestamp runs on, the sequence number does not), the tone again as a new talkspurt.
	sendRealTime(caller, key('5', 100))
	time.Sleep(300 * time.Millisecond)
	caller.ts += 2400
	caller.mark = true
	sendRealTime(caller, key('5', 100))
	sendRealTime(caller, silence(300))

	want := "422255"
	deadline := time.Now().Add(5 * time.Second)
	for heard.String() != want && len(heard.String()) <= len(want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a key too many would come now
	if got := heard.String(); got != want {
		t.Fatalf("the far end heard %q, want %q", got, want)
	}
}

// TestRelayStallKeepsEveryTone: the destination's scheduler stalls (up to 600 ms) while the
// caller keys 4 4 4 4; the audio read meanwhile piles up in the jitter buffer. Shedding that
// delay must take out silence, never a tone — before the fix the buffer was trimmed back to
// its target at once and whole keys were lost (the capture line read 15 digits for 16).
func TestRelayStallKeepsEveryTone(t *testing.T) {
	tone := append(keyTone(dtmf.Digit('4'), 100*time.Millisecond), quiet(100*time.Millisecond)...)
	for _, stall := range []int{5, 10, 15, 20, 30} { // frames of 20 ms without a pull
		for at := 5; at < 15; at++ {
			src := []int16{}
			for range 4 {
				src = append(src, tone...)
			}
			var feed []leakFeed
			for fr := 0; len(src) > 0; fr++ {
				n := min(160, len(src))
				pulls := 1
				if fr >= at && fr < at+stall {
					pulls = 0
				}
				feed = append(feed, leakFeed{audio: src[:n], pulls: pulls})
				src = src[n:]
			}
			if got := strictKeys(leakRun(feed)); got != "4444" {
				t.Errorf("a stall of %d ms from frame %d: the far end heard %q, want 4444", stall*20, at, got)
			}
		}
	}
}

// TestRelayShedsSilenceOnly: after a stall the buffer gives back the delay from silence
// only, keeping enough of each pause between tones that two keys stay two.
func TestRelayShedsSilenceOnly(t *testing.T) {
	r := newRelay(40*time.Millisecond, 200*time.Millisecond, nil)
	var in []int16
	for range 6 {
		in = append(in, keyTone(dtmf.Digit('7'), 60*time.Millisecond)...)
		in = append(in, quiet(100*time.Millisecond)...)
	}
	in = append(in, quiet(400*time.Millisecond)...)
	for i := 0; i < len(in); i += 160 { // a burst of 1.36 s, far beyond the limit
		r.audio(in[i:min(i+160, len(in))])
	}
	// What is left: the tones and the first 60 ms of each pause.
	if left := time.Duration(r.n) * time.Second / 8000; left > 6*(60+60)*time.Millisecond+60*time.Millisecond {
		t.Fatalf("the buffer holds %v after the burst", left)
	}
	var out []int16
	f := make([]int16, 160)
	for r.pull(f) {
		out = append(out, f...)
	}
	if got := strictKeys(out); got != strings.Repeat("7", 6) {
		t.Fatalf("after shedding the far end heard %q, want 777777", got)
	}
}
