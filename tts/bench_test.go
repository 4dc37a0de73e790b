package tts

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"
)

// typical returns the i-th prompt-length request with dynamic values, different for every i
// (so that nothing can be served from a cache): balances, confirmation codes, dates, account
// numbers, in en-GB and es-ES.
func typical(i int) Request {
	amount := fmt.Sprintf("%d.%02d", 10+i%990, i%100)
	switch i % 6 {
	case 0:
		return Request{Text: "Your balance is", Segments: []Segment{{SayAs: SayCurrency, Text: amount, Currency: "GBP"}, {Text: ". To pay it now, press one."}}}
	case 1:
		return Request{Text: "Thank you. Your payment has been accepted. Your confirmation code is",
			Segments: []Segment{{SayAs: SayCharacters, Text: fmt.Sprintf("ch_%08x", i*2654435761)}}}
	case 2:
		return Request{Text: fmt.Sprintf("We have sent a text message to the number ending in %04d.", i%10000)}
	case 3:
		return Request{Text: "Your next payment of", Segments: []Segment{{SayAs: SayCurrency, Text: amount, Currency: "USD"},
			{Text: "is due on"}, {SayAs: SayDate, Text: fmt.Sprintf("2027-%02d-%02d", 1+i%12, 1+i%28)}}}
	case 4:
		return Request{Language: "es-ES", Text: "Su saldo pendiente es de", Segments: []Segment{{SayAs: SayCurrency, Text: amount, Currency: "EUR"},
			{Text: ". Para pagar ahora, pulse uno."}}}
	default:
		return Request{Text: "Please confirm your account number", Segments: []Segment{{SayAs: SayDigits, Text: fmt.Sprintf("%08d", i*7919%100000000)},
			{SayAs: SayBreak, Pause: 300 * time.Millisecond}, {Text: "If that is correct, press one."}}}
	}
}

// reportLatency runs render b.N times and reports the median and 95th percentile.
func reportLatency(b *testing.B, render func(i int) (*Audio, error)) {
	b.Helper()
	lat := make([]time.Duration, 0, b.N)
	var audio time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		a, err := render(i)
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		audio += a.Duration()
	}
	b.StopTimer()
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[(len(lat)*95+99)/100-1]), "p95-ms")
	b.ReportMetric(audio.Seconds()/float64(b.N), "audio-s/op")
}

// Cold renders (nothing cached) through libespeak-ng, the default engine. Target: p95 under
// 100 ms for dynamic text.
func BenchmarkRenderColdLibrary(b *testing.B) {
	e, err := NewEspeak()
	if err != nil {
		b.Fatal(err)
	}
	reportLatency(b, func(i int) (*Audio, error) { return e.Render(context.Background(), typical(i)) })
}

// The same through the espeak-ng program, one process per stretch of speech.
func BenchmarkRenderColdProcess(b *testing.B) {
	e, err := NewEspeakProcess("")
	if err != nil {
		b.Fatal(err)
	}
	reportLatency(b, func(i int) (*Audio, error) { return e.Render(context.Background(), typical(i)) })
}

// Cold through the cache: render plus writing the entry.
func BenchmarkRenderColdCached(b *testing.B) {
	e, err := NewEspeak()
	if err != nil {
		b.Fatal(err)
	}
	c, err := OpenCache(CacheConfig{Dir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	r := c.Wrap(e)
	reportLatency(b, func(i int) (*Audio, error) { return r.Render(context.Background(), typical(i)) })
}

// Cached hits: from memory, and from disk (the memory tier off, as in a fresh process).
func BenchmarkRenderCachedMemory(b *testing.B) { benchCached(b, 0) }
func BenchmarkRenderCachedDisk(b *testing.B)   { benchCached(b, -1) }

func benchCached(b *testing.B, memory int64) {
	e, err := NewEspeak()
	if err != nil {
		b.Fatal(err)
	}
	c, err := OpenCache(CacheConfig{Dir: b.TempDir(), MemoryBytes: memory, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	r := c.Wrap(e)
	const distinct = 24
	for i := 0; i < distinct; i++ {
		if _, err := r.Render(context.Background(), typical(i)); err != nil {
			b.Fatal(err)
		}
	}
	reportLatency(b, func(i int) (*Audio, error) { return r.Render(context.Background(), typical(i%distinct)) })
	if c.Stats().Renders != distinct {
		b.Fatalf("%d renders: hits ran the engine", c.Stats().Renders)
	}
}
