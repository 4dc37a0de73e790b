package engine

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/tts"
)

// speakingChannel is a live channel (no TimedPlayer) whose PlayPCM returns at once and notes
// when speech first reached it.
type speakingChannel struct {
	id     string
	digits chan dtmf.Event
	done   chan struct{}
	first  time.Time
}

func (c *speakingChannel) Info() CallInfo                              { return CallInfo{ID: c.id} }
func (c *speakingChannel) Play(ctx context.Context, name string) error { return nil }
func (c *speakingChannel) PlayPCM(ctx context.Context, pcm []int16) error {
	if c.first.IsZero() {
		c.first = time.Now()
	}
	return nil
}
func (c *speakingChannel) Digits() <-chan dtmf.Event                         { return c.digits }
func (c *speakingChannel) Secure(bool)                                       {}
func (c *speakingChannel) Transfer(ctx context.Context, target string) error { return nil }
func (c *speakingChannel) Hangup(ctx context.Context, reason string) error   { return nil }
func (c *speakingChannel) Done() <-chan struct{}                             { return c.done }

// benchSay measures, for each call, the time from the engine entering the <Say> step to the
// speech reaching the channel (expansion, the render through the cache, the hand-over), and
// reports the median and 95th percentile.
func benchSay(b *testing.B, steps string, id func(i int) string) {
	b.Helper()
	eng, err := tts.NewEspeak()
	if err != nil {
		b.Fatal(err)
	}
	cache, err := tts.OpenCache(tts.CacheConfig{Dir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	speech := cache.Wrap(eng)
	plan, ds := callplan.Parse("bench.xml", []byte(`<CallPlan name="bench"><Match number="+441632960000"/><Flow>`+steps+`<Hangup/></Flow></CallPlan>`), nil)
	if ds.HasErrors() {
		b.Fatal(ds.String())
	}
	if _, err := PrerenderSpeech(context.Background(), plan, speech); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ch := &speakingChannel{id: id(i), digits: make(chan dtmf.Event), done: make(chan struct{})}
		var entered time.Time
		sink := event.SinkFunc(func(e event.Event) {
			if _, ok := e.Data.(*event.StepEntered); ok && e.Step == "Say" {
				entered = time.Now()
			}
		})
		out, err := Run(context.Background(), plan, ch, RunOptions{Speech: speech, Events: sink})
		if err != nil || ch.first.IsZero() {
			b.Fatalf("run: %v %+v", err, out)
		}
		lat = append(lat, ch.first.Sub(entered))
	}
	b.StopTimer()
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[(len(lat)*95+99)/100-1]), "p95-ms")
}

// BenchmarkSayDynamic: a <Say> whose amount is different on every call (it comes from
// $(Call.Id) here), so every render is a cache miss through libespeak-ng (serve's default).
// Target: p95 under 100 ms.
//
//	go test -run '^$' -bench 'Say(Dynamic|Static)' -benchtime 200x ./engine
func BenchmarkSayDynamic(b *testing.B) {
	benchSay(b, `<Set var="Balance" value="$(Call.Id)"/>
<Say>Your balance is <say-as interpret-as="currency" currency="GBP">$(Balance)</say-as>. To pay it now, press one.</Say>`,
		func(i int) string { return fmt.Sprintf("%d.%02d", 10+i%9990, i%100) })
}

// BenchmarkSayStatic: a <Say> without $(…), rendered when the plan loaded: every call is a
// cache hit from memory.
func BenchmarkSayStatic(b *testing.B) {
	benchSay(b, `<Say>Thank you for calling. Your payment is important to us.</Say>`, func(int) string { return "bench" })
}
