package media

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/dtmf"
)

// The caller→agent direction during an agent-assisted payment: whatever shape the caller's
// audio arrives in — a stall then a burst, one frame at a time, jittered — and wherever a key
// falls against the capture's edges, what the agent gets holds no key. The agent's side is
// decoded twice: by the project's detector and by a deliberately loose dual-tone scan (any 20
// ms holding two DTMF frequencies as most of its energy, at any twist and a low level: the
// kind of tone multimon-ng and other attackers' decoders accept). A control proves both see
// a key that is let through.

// leakFeed is one step of a caller's stream as the relay sees it.
type leakFeed struct {
	audio   []int16     // samples the source delivers at once (a burst when longer than a frame)
	gap     int         // samples lost (sequence gap) before audio
	pulls   int         // frames the agent's scheduler takes after it
	capture CaptureMode // applied before the audio, when set is true
	set     bool
}

// leakRun drives a relay (the bridge's a→b, with the production masker) and returns what the
// agent got, one frame per pull, silence where nothing was played.
func leakRun(feed []leakFeed) []int16 {
	r := newRelay(40*time.Millisecond, 200*time.Millisecond, func() Masker { return dtmf.NewMasker(dtmf.MaskerConfig{}) })
	var got []int16
	out := make([]int16, 160)
	for _, f := range feed {
		if f.set {
			r.setCapture(f.capture)
		}
		r.gap(f.gap)
		if len(f.audio) > 0 {
			r.audio(f.audio)
		}
		for i := 0; i < f.pulls; i++ {
			if !r.pull(out) {
				clear(out)
			}
			got = append(got, out...)
		}
	}
	for i := 0; i < 100; i++ { // drain
		if !r.pull(out) {
			clear(out)
		}
		got = append(got, out...)
	}
	return got
}

// paced splits pcm into 20 ms frames, each followed by one pull.
func paced(pcm []int16) []leakFeed {
	var fs []leakFeed
	for len(pcm) > 0 {
		n := min(160, len(pcm))
		fs = append(fs, leakFeed{audio: pcm[:n], pulls: 1})
		pcm = pcm[n:]
	}
	return fs
}

func keyTone(d dtmf.Digit, dur time.Duration) []int16 {
	return dtmf.GenerateDigit(d, dtmf.ToneOptions{Level: -7, Twist: 2, Duration: dur})
}

func quiet(d time.Duration) []int16 { return make([]int16, samples(d)) }

func setTo(m CaptureMode) leakFeed { return leakFeed{capture: m, set: true} }

// strictKeys is what the project's detector hears.
func strictKeys(pcm []int16) string {
	var b strings.Builder
	det := dtmf.NewDetector()
	for _, e := range det.Process(pcm) {
		if e.End == 0 {
			b.WriteByte(e.Digit.Char())
		}
	}
	for _, e := range det.Flush() {
		if e.End == 0 {
			b.WriteByte(e.Digit.Char())
		}
	}
	return b.String()
}

// looseDualTones returns the offsets (ms) of every 20 ms window, on a 5 ms hop, in which one
// row and one column frequency carry at least 40 % of the window's energy together, each at
// least 2 % of it (a twist up to ~13 dB) and the window is above −45 dBm0: far looser than
// any keypad decoder, so nothing a decoder could take for a key passes it.
func looseDualTones(pcm []int16) []int {
	const n = 160
	rows := [4]float64{697, 770, 852, 941}
	cols := [4]float64{1209, 1336, 1477, 1633}
	floor := math.Pow(dtmf.DBm0ToPeak(-45), 2) / 2 * n // a −45 dBm0 sine's energy in a window
	tone := func(x []int16, f float64) float64 {       // a sine's energy in x at f (Goertzel)
		c := 2 * math.Cos(2*math.Pi*f/8000)
		var s1, s2 float64
		for _, v := range x {
			s1, s2 = float64(v)+c*s1-s2, s1
		}
		return 2 * (s1*s1 + s2*s2 - c*s1*s2) / n
	}
	var hits []int
	for at := 0; at+n <= len(pcm); at += 40 {
		x := pcm[at : at+n]
		var e float64
		for _, v := range x {
			e += float64(v) * float64(v)
		}
		if e < floor {
			continue
		}
		var lo, hi float64
		for i := range rows {
			lo = max(lo, tone(x, rows[i]))
			hi = max(hi, tone(x, cols[i]))
		}
		if lo >= 0.02*e && hi >= 0.02*e && lo+hi >= 0.4*e {
			hits = append(hits, at/8)
		}
	}
	return hits
}

func assertNoKey(t *testing.T, what string, pcm []int16) {
	t.Helper()
	if k := strictKeys(pcm); k != "" {
		t.Errorf("%s: the project's detector hears %q in what the agent got", what, k)
	}
	if h := looseDualTones(pcm); len(h) > 0 {
		t.Errorf("%s: %d windows of 20 ms hold a dual tone in what the agent got (first at %d ms)", what, len(h), h[0])
	}
}

func TestRelayLetsNoKeyReachTheAgent(t *testing.T) {
	key := func(d dtmf.Digit) []int16 { return keyTone(d, 100*time.Millisecond) }
	var cases []struct {
		name string
		feed []leakFeed
	}
	add := func(name string, parts ...[]leakFeed) {
		var f []leakFeed
		for _, p := range parts {
			f = append(f, p...)
		}
		cases = append(cases, struct {
			name string
			feed []leakFeed
		}{name, f})
	}
	one := func(f ...leakFeed) []leakFeed { return f }
	tone3 := key('3')

	// The e2e failure at load 14: the last key of the security code reaches paybridge in
	// part (enough for the detector: the field ends, the agent completes the payment and
	// the capture is off), the caller stalls, and the rest of the key's tone comes after.
	add("last key's tail after a stall, capture off meanwhile",
		one(setTo(CaptureMasked)), paced(quiet(200*time.Millisecond)),
		one(setTo(CaptureSecure)), paced(key('1')), paced(quiet(100*time.Millisecond)),
		paced(tone3[:samples(40*time.Millisecond)]),
		one(leakFeed{pulls: 10}), one(setTo(CaptureMasked)), one(leakFeed{pulls: 20}), one(setTo(CaptureOff)),
		one(leakFeed{pulls: 40}), // the stall: 0.8 s, nothing arrives
		one(leakFeed{audio: append(append([]int16{}, tone3[samples(40*time.Millisecond):]...), quiet(80*time.Millisecond)...), pulls: 1}), // the burst
		paced(quiet(time.Second)))

	// The same tail after lost packets (a sequence gap) instead of a stall.
	add("last key's tail after lost packets, capture off meanwhile",
		one(setTo(CaptureMasked), setTo(CaptureSecure)), paced(quiet(100*time.Millisecond)),
		paced(tone3[:samples(40*time.Millisecond)]), one(setTo(CaptureMasked), setTo(CaptureOff)),
		one(leakFeed{gap: samples(time.Second), pulls: 50}),
		paced(tone3[samples(40*time.Millisecond):]), paced(quiet(time.Second)))

	// The agent cancels while the caller is keying the number: the keys keep coming.
	add("keys after a cancel in the middle of a field",
		one(setTo(CaptureMasked), setTo(CaptureSecure)), paced(quiet(100*time.Millisecond)),
		paced(key('4')), paced(quiet(100*time.Millisecond)), paced(key('2')), one(setTo(CaptureOff)),
		paced(quiet(300*time.Millisecond)), paced(key('4')), paced(quiet(900*time.Millisecond)), paced(key('2')),
		paced(quiet(1500*time.Millisecond)), paced(key('4')), paced(quiet(time.Second)))

	// A key straddles the end of a field (Secure → Masked) and of the payment.
	add("key straddling the field's end",
		one(setTo(CaptureMasked), setTo(CaptureSecure)), paced(quiet(100*time.Millisecond)),
		paced(tone3[:samples(60*time.Millisecond)]), one(setTo(CaptureMasked)),
		paced(tone3[samples(60*time.Millisecond):]), one(setTo(CaptureOff)), paced(quiet(time.Second)))

	// A key straddles the start of a field.
	add("key straddling the field's start",
		one(setTo(CaptureMasked)), paced(quiet(200*time.Millisecond)),
		paced(tone3[:samples(40*time.Millisecond)]), one(setTo(CaptureSecure)),
		paced(tone3[samples(40*time.Millisecond):]), paced(quiet(200*time.Millisecond)), one(setTo(CaptureMasked)),
		paced(quiet(500*time.Millisecond)))

	// The caller's audio in odd shapes through a whole field and its end: one sample to four
	// frames at a time, pulls jittered, a burst of 10 frames.
	rng := rand.New(rand.NewPCG(7, 11))
	var field []int16
	for _, d := range "4242424242424242" {
		field = append(field, keyTone(dtmf.Digit(d), time.Duration(40+rng.IntN(100))*time.Millisecond)...)
		field = append(field, quiet(time.Duration(40+rng.IntN(160))*time.Millisecond)...)
	}
	jit := []leakFeed{setTo(CaptureMasked), setTo(CaptureSecure)}
	ended := false
	for p := 0; p < len(field); {
		n := min(len(field)-p, 1+rng.IntN(640))
		if rng.IntN(40) == 0 {
			n = min(len(field)-p, 1600)
		}
		f := leakFeed{audio: field[p : p+n], pulls: rng.IntN(3)}
		p += n
		if p >= len(field)-samples(120*time.Millisecond) && !ended {
			ended = true
			jit = append(jit, f, setTo(CaptureMasked), leakFeed{pulls: 2}, setTo(CaptureOff))
			continue
		}
		jit = append(jit, f)
	}
	add("a jittered field, ended and switched off near its last key", jit, paced(quiet(time.Second)))

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { assertNoKey(t, c.name, leakRun(c.feed)) })
	}

	// Control: with no capture the same scans find the keys in what the agent gets, and a
	// tail of 40 ms alone is a dual tone to the loose scan.
	t.Run("control", func(t *testing.T) {
		got := leakRun(append(append(paced(key('4')), paced(quiet(100*time.Millisecond))...), paced(key('2'))...))
		if k := strictKeys(got); k != "42" {
			t.Fatalf("control: the detector hears %q, want 42", k)
		}
		tail := leakRun(append(paced(tone3[samples(60*time.Millisecond):]), paced(quiet(200*time.Millisecond))...))
		if h := looseDualTones(tail); len(h) == 0 {
			t.Fatal("control: the loose scan misses 40 ms of a key")
		}
	})
}

// After a capture the masker leaves the path only once the caller has sent releaseAfter of
// its own audio without a tone: a tone starts the count again, the silence played for lost
// packets does not count, and afterwards keys pass again (the capture is off).
func TestRelayReleasesTheMaskerOnlyAfterToneFreeAudio(t *testing.T) {
	r := newRelay(40*time.Millisecond, 200*time.Millisecond, func() Masker { return dtmf.NewMasker(dtmf.MaskerConfig{}) })
	out := make([]int16, 160)
	feed := func(pcm []int16) {
		for len(pcm) > 0 {
			n := min(160, len(pcm))
			r.audio(pcm[:n])
			r.pull(out)
			pcm = pcm[n:]
		}
	}
	masking := func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.masker != nil }
	r.setCapture(CaptureMasked)
	r.setCapture(CaptureSecure)
	feed(keyTone('5', 100*time.Millisecond))
	r.setCapture(CaptureOff)
	r.gap(samples(2 * releaseAfter))
	if !masking() {
		t.Fatal("lost packets (silence played, not sent) released the masker")
	}
	feed(quiet(releaseAfter - time.Second))
	feed(keyTone('6', 100*time.Millisecond)) // a key: the count starts again
	feed(quiet(releaseAfter - 200*time.Millisecond))
	if !masking() {
		t.Fatal("released less than releaseAfter after the last tone")
	}
	feed(quiet(time.Second))
	if masking() {
		t.Fatalf("still masking after %v without a tone", releaseAfter+800*time.Millisecond)
	}
	var got []int16
	for _, f := range paced(append(keyTone('7', 100*time.Millisecond), quiet(200*time.Millisecond)...)) {
		r.audio(f.audio)
		if !r.pull(out) {
			clear(out)
		}
		got = append(got, out...)
	}
	if k := strictKeys(got); k != "7" {
		t.Fatalf("with the capture off and released the agent hears %q, want 7", k)
	}
	if st := r.stats().public(); st.MaxDelay > 200*time.Millisecond+60*time.Millisecond+20*time.Millisecond {
		t.Fatalf("max delay %v", st.MaxDelay)
	}
}
