package replay

import (
	"context"
	"sync"
	"time"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/prompts"
)

// channel is the replayed call: keys come from an Input on a virtual clock, prompts last as
// long as their WAVs, and nothing is ever really played.
type channel struct {
	clock   *engine.VirtualClock
	prompts *prompts.Set
	info    engine.CallInfo
	digits  chan dtmf.Event
	done    chan struct{}

	mu         sync.Mutex
	ended      bool
	hangupBy   string // "plan" or "caller"
	reason     string
	transferTo string
	secureOn   bool
	secureKeys int // keys heard while the secure window was on (counted, never kept)
}

var (
	_ engine.Channel     = (*channel)(nil)
	_ engine.TimedPlayer = (*channel)(nil)
)

func newChannel(clock *engine.VirtualClock, set *prompts.Set, info engine.CallInfo, in *Input, linger time.Duration) *channel {
	c := &channel{clock: clock, prompts: set, info: info,
		digits: make(chan dtmf.Event, len(in.Keys)+1), done: make(chan struct{})}
	for _, k := range in.Keys {
		ev := dtmf.Event{Digit: k.Digit, Source: k.Source, Start: k.At}
		clock.AfterFunc(k.At, func() { c.key(ev) })
	}
	clock.AfterFunc(in.Length+linger, func() { c.end("caller", "caller hung up") })
	return c
}

func (c *channel) key(ev dtmf.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	if c.secureOn {
		c.secureKeys++
	}
	c.digits <- ev // buffered for every key of the input: never blocks
}

func (c *channel) end(by, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	c.ended, c.hangupBy, c.reason = true, by, reason
	close(c.done)
	close(c.digits)
}

func (c *channel) Info() engine.CallInfo { return c.info }

// PromptDuration is how long the prompt plays; the engine waits that long on the clock.
func (c *channel) PromptDuration(name string) (time.Duration, error) {
	return c.prompts.Duration(name)
}

// Play is never called by the engine for a TimedPlayer; it waits the prompt's length.
func (c *channel) Play(ctx context.Context, name string) error {
	d, err := c.prompts.Duration(name)
	if err != nil {
		return err
	}
	select {
	case <-c.clock.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return engine.ErrHangup
	}
}

func (c *channel) Digits() <-chan dtmf.Event { return c.digits }

func (c *channel) Secure(on bool) {
	c.mu.Lock()
	c.secureOn = on
	c.mu.Unlock()
}

func (c *channel) Transfer(ctx context.Context, target string) error {
	c.mu.Lock()
	c.transferTo = target
	c.mu.Unlock()
	c.end("plan", "transferred")
	return nil
}

func (c *channel) Hangup(ctx context.Context, reason string) error {
	c.end("plan", reason)
	return nil
}

func (c *channel) Done() <-chan struct{} { return c.done }
