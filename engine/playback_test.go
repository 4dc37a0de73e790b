package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/event"
)

// startingChannel is a live channel that starts prompts (PromptStarter) the way ivr.Call
// does: StartPlay returns at once and the prompt plays on for length. Its Play fails the test:
// a channel that can start prompts must never be played through a goroutine.
type startingChannel struct {
	liveOnly
	t      *testing.T
	length time.Duration
	fail   map[string]error // StartPlay's error for a prompt
	hungUp bool             // Stop says the call ended

	mu      sync.Mutex
	started []string
	stopped map[string]int // Stop calls per prompt
	cut     []string       // prompts stopped before they played out
	playing chan string
}

type fakePlayback struct {
	c     *startingChannel
	name  string
	done  chan struct{}
	timer *time.Timer
	once  sync.Once
}

func (c *startingChannel) StartPlay(prompt string) (Playback, error) {
	if err := c.fail[prompt]; err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.started = append(c.started, prompt)
	c.mu.Unlock()
	p := &fakePlayback{c: c, name: prompt, done: make(chan struct{})}
	p.timer = time.AfterFunc(c.length, func() { p.once.Do(func() { close(p.done) }) })
	if c.playing != nil {
		select {
		case c.playing <- prompt:
		default:
		}
	}
	return p, nil
}

func (c *startingChannel) Play(ctx context.Context, prompt string) error {
	c.t.Errorf("Play(%q) on a channel that starts prompts", prompt)
	return nil
}

func (p *fakePlayback) Done() <-chan struct{} { return p.done }

func (p *fakePlayback) Stop() error {
	p.c.mu.Lock()
	p.c.stopped[p.name]++
	p.c.mu.Unlock()
	if p.timer.Stop() {
		p.c.mu.Lock()
		p.c.cut = append(p.c.cut, p.name)
		p.c.mu.Unlock()
	}
	p.once.Do(func() { close(p.done) })
	if p.c.hungUp {
		return ErrHangup
	}
	return nil
}

func newStartingChannel(t *testing.T, length time.Duration) *startingChannel {
	lc := &liveChannel{testChannel: *newTestChannel(nil)}
	return &startingChannel{liveOnly: liveOnly{lc}, t: t, length: length, stopped: map[string]int{}, playing: make(chan string, 8)}
}

// TestStartedPromptsPlayInOrder: prompts a channel starts play one after the other — the next
// starts once the last one's Done closed — and each is stopped (let go of) exactly once.
func TestStartedPromptsPlayInOrder(t *testing.T) {
	c := newStartingChannel(t, 20*time.Millisecond)
	plan := mustParse(t, flowPlan(`<Play prompt="welcome goodbye"/><Play prompt="welcome"/>`))
	out, err := Run(context.Background(), plan, c, RunOptions{Clock: WallClock{}})
	if err != nil || out.Result != ResultCompleted {
		t.Fatalf("%v %s %s", err, out.Result, out.Reason)
	}
	if got := strings.Join(c.started, " "); got != "welcome goodbye welcome" {
		t.Fatalf("started %q", got)
	}
	if c.stopped["welcome"] != 2 || c.stopped["goodbye"] != 1 || len(c.cut) != 0 {
		t.Fatalf("Stop calls %v, cut short %v", c.stopped, c.cut)
	}
}

// TestStartedPromptBargeIn: a key during a started prompt stops it at once (Stop) and is the
// first key of the input; the prompts after it in the list are not started.
func TestStartedPromptBargeIn(t *testing.T) {
	c := newStartingChannel(t, 10*time.Second)
	lc := c.liveChannel
	go func() {
		<-c.playing
		lc.digits <- dtmf.Event{Digit: '5', Source: dtmf.SourceInband}
		lc.digits <- dtmf.Event{Digit: '#', Source: dtmf.SourceInband}
	}()
	plan := mustParse(t, flowPlan(`<Gather var="G" prompt="welcome goodbye" maxDigits="4" timeout="2s"/><Hangup/>`))
	start := time.Now()
	out, err := Run(context.Background(), plan, c, RunOptions{Clock: WallClock{}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Variables["G"] != "5" || out.Result != ResultHangup {
		t.Fatalf("G=%q result %s", out.Variables["G"], out.Result)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.Join(c.started, " ") != "welcome" || strings.Join(c.cut, " ") != "welcome" || c.stopped["welcome"] != 1 {
		t.Fatalf("started %v, cut %v, Stop calls %v", c.started, c.cut, c.stopped)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %v: the key did not stop the 10 s prompt", el)
	}
}

// TestStartedPromptErrors: a prompt the channel cannot start is reported and skipped; a call
// that has ended (StartPlay's or Stop's ErrHangup) ends the run as the caller's hang-up.
func TestStartedPromptErrors(t *testing.T) {
	c := newStartingChannel(t, 10*time.Millisecond)
	c.fail = map[string]error{"missing-prompt": errors.New("no such prompt")}
	out, err := Run(context.Background(), mustParse(t, flowPlan(`<Play prompt="missing-prompt welcome"/>`)), c, RunOptions{Clock: WallClock{}})
	if err != nil || out.Result != ResultCompleted {
		t.Fatalf("%v %s", err, out.Result)
	}
	if m := eventsOf(out, "prompt.missing"); len(m) != 1 || m[0].Data.(*event.PromptMissing).Prompt != "missing-prompt" {
		t.Fatalf("prompt.missing events: %v", m)
	}
	if strings.Join(c.started, " ") != "welcome" {
		t.Fatalf("started %v", c.started)
	}

	c = newStartingChannel(t, 10*time.Millisecond)
	c.fail = map[string]error{"welcome": ErrHangup}
	out, _ = Run(context.Background(), mustParse(t, flowPlan(`<Play prompt="welcome"/><Set var="X" value="1"/>`)), c, RunOptions{Clock: WallClock{}})
	if out.Result != ResultCallerHungUp || out.Variables["X"] != "" {
		t.Fatalf("StartPlay's ErrHangup: result %s, X=%q", out.Result, out.Variables["X"])
	}

	c = newStartingChannel(t, 10*time.Millisecond)
	c.hungUp = true
	out, _ = Run(context.Background(), mustParse(t, flowPlan(`<Play prompt="welcome"/><Set var="X" value="1"/>`)), c, RunOptions{Clock: WallClock{}})
	if out.Result != ResultCallerHungUp || out.Variables["X"] != "" {
		t.Fatalf("Stop's ErrHangup: result %s, X=%q", out.Result, out.Variables["X"])
	}
}

// TestStartedPromptCallEnds: the call's end during a started prompt stops it and ends the run.
func TestStartedPromptCallEnds(t *testing.T) {
	c := newStartingChannel(t, 10*time.Second)
	go func() { <-c.playing; c.liveChannel.end() }()
	out, _ := Run(context.Background(), mustParse(t, flowPlan(`<Play prompt="welcome" loop="5"/><Set var="X" value="1"/>`)), c, RunOptions{Clock: WallClock{}})
	if out.Result != ResultCallerHungUp {
		t.Fatalf("result %s", out.Result)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped["welcome"] != 1 || len(c.started) != 1 {
		t.Fatalf("started %v, Stop calls %v", c.started, c.stopped)
	}
}
