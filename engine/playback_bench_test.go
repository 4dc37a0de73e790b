package engine

import (
	"context"
	"testing"

	"github.com/paybridge/paybridge/callplan"
)

// BenchmarkLivePrompt is one live prompt's cost to the run, from its start to the run seeing
// its end, the prompt's end coming from another goroutine (the media scheduler's tick in
// serve): "goroutine" plays through Play, which blocks in a helper goroutine the run waits
// for (a goroutine created and two hand-offs a prompt); "started" through PromptStarter, the
// run waiting on the playback's Done itself (one hand-off). An op is one prompt.
//
//	go test ./engine -run '^$' -bench LivePrompt -benchmem -count 6
func BenchmarkLivePrompt(b *testing.B) {
	plan, ds := callplan.Parse("bench.xml", []byte(flowPlan(`<Play prompt="welcome" loop="100"/>`)), nil)
	if ds.HasErrors() {
		b.Fatal(ds.String())
	}
	ender := make(chan chan struct{}, 1)
	go func() { // the scheduler: ends each prompt it is given
		for done := range ender {
			close(done)
		}
	}()
	defer close(ender)
	for _, mode := range []string{"goroutine", "started"} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				lc := &liveChannel{testChannel: *newTestChannel(nil)} // the run hangs it up at its end
				var ch Channel = benchPlayer{liveOnly{lc}, ender}
				if mode == "started" {
					ch = benchStarter{liveOnly{lc}, ender}
				}
				out, err := Run(context.Background(), plan, ch, RunOptions{Clock: WallClock{}, SinkOnly: true})
				if err != nil || out.Result != ResultCompleted {
					b.Fatalf("%v %v", err, out.Result)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/prompt")
		})
	}
}

// benchPlayer's Play blocks until the scheduler ends the prompt, as ivr's does.
type benchPlayer struct {
	liveOnly
	ender chan chan struct{}
}

func (p benchPlayer) Play(ctx context.Context, prompt string) error {
	done := make(chan struct{})
	p.ender <- done
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type benchStarter struct {
	liveOnly
	ender chan chan struct{}
}

type benchPlayback chan struct{}

func (p benchPlayback) Done() <-chan struct{} { return p }
func (p benchPlayback) Stop() error           { return nil }

func (s benchStarter) StartPlay(prompt string) (Playback, error) {
	done := make(chan struct{})
	s.ender <- done
	return benchPlayback(done), nil
}
