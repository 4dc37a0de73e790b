package tts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// frames splits audio into 10 ms frames and returns their RMS.
func frameRMS(pcm []int16) []float64 {
	var out []float64
	for i := 0; i+80 <= len(pcm); i += 80 {
		var e float64
		for _, s := range pcm[i : i+80] {
			e += float64(s) * float64(s)
		}
		out = append(out, sqrt(e/80))
	}
	return out
}

func sqrt(x float64) float64 {
	z := x
	for i := 0; i < 60 && z > 0; i++ {
		z = (z + x/z) / 2
	}
	return z
}

func peak(pcm []int16) int {
	p := 0
	for _, s := range pcm {
		p = max(p, abs(int(s)))
	}
	return p
}

// longestSilence is the longest run of exactly zero samples.
func longestSilence(pcm []int16) time.Duration {
	best, run := 0, 0
	for _, s := range pcm {
		if s == 0 {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return time.Duration(best) * time.Second / SampleRate
}

// checkSpeech asserts what any rendered speech must be: long enough, loud, normalised,
// trimmed, and never exactly silent for long unless a break asked for it.
func checkSpeech(t *testing.T, name string, a *Audio, minDur, maxDur time.Duration) {
	t.Helper()
	if d := a.Duration(); d < minDur || d > maxDur {
		t.Errorf("%s: %v of audio, want %v–%v", name, d, minDur, maxDur)
	}
	if p := peak(a.Samples); p < peakTarget-2 || p > peakTarget+2 {
		t.Errorf("%s: peak %d, want -3 dBFS (%d)", name, p, peakTarget)
	}
	rms := frameRMS(a.Samples)
	if len(rms) < 4 {
		t.Fatalf("%s: %d frames", name, len(rms))
	}
	// Trimmed: speech within the first and last few frames.
	if slices.Max(rms[:4]) < trimThreshold/2 || slices.Max(rms[len(rms)-4:]) < trimThreshold/2 {
		t.Errorf("%s: not trimmed: first frames %.0f, last frames %.0f", name, rms[:4], rms[len(rms)-4:])
	}
	loud := 0
	for _, r := range rms {
		if r > 1000 {
			loud++
		}
	}
	if loud < len(rms)/3 {
		t.Errorf("%s: only %d of %d frames carry speech", name, loud, len(rms))
	}
}

func engines(t *testing.T) map[string]Engine {
	t.Helper()
	lib, err := NewEspeak()
	if err != nil {
		t.Fatal(err)
	}
	proc, err := NewEspeakProcess("")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Engine{"library": lib, "process": proc}
}

func TestEspeakRendersSpeech(t *testing.T) {
	ctx := context.Background()
	for name, e := range engines(t) {
		if e.ID() != "espeak-ng 1.51" && len(e.ID()) < len("espeak-ng 1") {
			t.Fatalf("%s: ID %q", name, e.ID())
		}
		a, err := e.Render(ctx, Text("en-GB", "Please enter your card number, followed by the hash key."))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkSpeech(t, name+" en-GB", a, 2*time.Second, 5*time.Second)

		es, err := e.Render(ctx, Request{Language: "es-ES", Text: "Su saldo es de", Segments: []Segment{{SayAs: SayCurrency, Text: "GBP 12.50"}}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkSpeech(t, name+" es-ES", es, 2*time.Second, 6*time.Second)

		// A break is exact digital silence between two trimmed stretches of speech.
		br, err := e.Render(ctx, Request{Segments: []Segment{{Text: "Your code is"}, {SayAs: SayBreak, Pause: 700 * time.Millisecond},
			{SayAs: SayCharacters, Text: "ch_6dytxlsw4w52duz3"}}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s := longestSilence(br.Samples); s < 700*time.Millisecond || s > 760*time.Millisecond {
			t.Errorf("%s: longest silence %v, want the 700 ms break", name, s)
		}
		// Spelling 19 characters takes far longer than saying the sentence.
		if br.Duration() < a.Duration()+2*time.Second {
			t.Errorf("%s: spelled code renders to %v", name, br.Duration())
		}
		// Rate: faster speech is shorter.
		fast, err := e.Render(ctx, Request{Text: "Please enter your card number, followed by the hash key.", Rate: 300})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if fast.Duration() > a.Duration()*3/4 {
			t.Errorf("%s: 300 wpm lasts %v, 165 wpm %v", name, fast.Duration(), a.Duration())
		}
		// Same request, same speech: the same samples from the program, which starts fresh
		// each time; within a few samples from the library, whose flutter phase runs on.
		again, _ := e.Render(ctx, Text("en-GB", "Please enter your card number, followed by the hash key."))
		if name == "process" && !slices.Equal(again.Samples, a.Samples) {
			t.Errorf("%s: two renders of one request differ", name)
		}
		if d := len(again.Samples) - len(a.Samples); d < -len(a.Samples)/30 || d > len(a.Samples)/30 {
			t.Errorf("%s: two renders of one request last %v and %v", name, a.Duration(), again.Duration())
		}
		if _, err := e.Render(ctx, Request{Text: "x", Voice: "no-such-voice"}); !errors.Is(err, ErrVoice) {
			t.Errorf("%s: unknown voice: %v", name, err)
		}
		if _, err := e.Render(ctx, Request{Segments: []Segment{{SayAs: SayDigits, Text: "12a"}}}); !errors.Is(err, ErrSayAs) {
			t.Errorf("%s: bad digits: %v", name, err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := e.Render(cancelled, Text("en-GB", "Hello")); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: cancelled render: %v", name, err)
		}
	}
}

// The library and the program are one synthesiser: the same request gives the same speech
// (the same samples from a fresh library, the same length after), which is why they share an
// engine ID and so cache entries.
func TestEspeakLibraryAndProcessAgree(t *testing.T) {
	es := engines(t)
	req := Request{Language: "en-GB", Text: "Your balance is", Segments: []Segment{{SayAs: SayCurrency, Text: "GBP 1,234.56"}}}
	a, err := es["library"].Render(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := es["process"].Render(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if d := len(a.Samples) - len(b.Samples); es["library"].ID() != es["process"].ID() || d < -len(b.Samples)/30 || d > len(b.Samples)/30 {
		t.Fatalf("library %q %d samples, process %q %d samples", es["library"].ID(), len(a.Samples), es["process"].ID(), len(b.Samples))
	}
}

func TestEspeakConcurrent(t *testing.T) {
	lib, err := NewEspeak()
	if err != nil {
		t.Fatal(err)
	}
	// The same words in two voices: a voice leaking from one render into another changes
	// the length by far more than the library's own variation.
	const text = "Thank you for calling, goodbye."
	want := map[string]int{}
	for _, lang := range []string{"en-GB", "es-ES"} {
		a, err := lib.Render(context.Background(), Text(lang, text))
		if err != nil {
			t.Fatal(err)
		}
		want[lang] = len(a.Samples)
	}
	if d := want["en-GB"] - want["es-ES"]; d > -800 && d < 800 {
		t.Fatalf("en-GB and es-ES renders too alike to tell apart: %v", want)
	}
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			lang := []string{"en-GB", "es-ES"}[i%2]
			a, err := lib.Render(context.Background(), Text(lang, text))
			if d := len(a.Samples) - want[lang]; err == nil && (d < -want[lang]/30 || d > want[lang]/30) {
				err = fmt.Errorf("concurrent %s render has %d samples, alone %d: voices leaked between renders", lang, len(a.Samples), want[lang])
			}
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
