package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/payment"
)

// liveChannel plays prompts in real time like ivr's channel: Play blocks until the prompt
// ends or its context is cancelled (barge-in).
type liveChannel struct {
	testChannel
	mu        sync.Mutex
	cancelled []string
	length    time.Duration // of every prompt; 300 ms when zero
	playing   chan string   // told each prompt as it starts, when set
}

func (c *liveChannel) Play(ctx context.Context, prompt string) error {
	length := c.length
	if length == 0 {
		length = 300 * time.Millisecond
	}
	if c.playing != nil {
		select {
		case c.playing <- prompt:
		default:
		}
	}
	select {
	case <-time.After(length):
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		c.cancelled = append(c.cancelled, prompt)
		c.mu.Unlock()
		return ctx.Err()
	case <-c.done:
		return ErrHangup
	}
}

// liveOnly hides testChannel's PromptDuration, so the engine takes the live Play path.
type liveOnly struct{ liveChannel *liveChannel }

func (l liveOnly) Info() CallInfo                           { return l.liveChannel.Info() }
func (l liveOnly) Play(ctx context.Context, p string) error { return l.liveChannel.Play(ctx, p) }
func (l liveOnly) Digits() <-chan dtmf.Event                { return l.liveChannel.Digits() }
func (l liveOnly) Secure(on bool)                           { l.liveChannel.Secure(on) }
func (l liveOnly) Transfer(ctx context.Context, to string) error {
	return l.liveChannel.Transfer(ctx, to)
}
func (l liveOnly) Hangup(ctx context.Context, reason string) error {
	return l.liveChannel.Hangup(ctx, reason)
}
func (l liveOnly) Done() <-chan struct{} { return l.liveChannel.Done() }

// TestLiveBargeInCancelsPlay: a key during a prompt cuts it at once and is the first key of
// the input. The key is sent once the prompt has started, and the prompt lasts 10 s, so the
// test holds on a busy machine (it used to send the key after a fixed 100 ms against a 300 ms
// prompt, and failed under stress-ng when the prompt had ended first).
func TestLiveBargeInCancelsPlay(t *testing.T) {
	lc := &liveChannel{testChannel: *newTestChannel(nil), length: 10 * time.Second, playing: make(chan string, 4)}
	ch := liveOnly{lc}
	go func() {
		if p := <-lc.playing; p != "welcome" {
			t.Errorf("first prompt %q", p)
		}
		lc.digits <- dtmf.Event{Digit: '5', Source: dtmf.SourceInband}
		lc.digits <- dtmf.Event{Digit: '#', Source: dtmf.SourceInband}
	}()
	plan := mustParse(t, flowPlan(`<Gather var="G" prompt="welcome goodbye" maxDigits="4" timeout="2s"/><Hangup/>`))
	start := time.Now()
	out, err := Run(context.Background(), plan, ch, RunOptions{Clock: WallClock{}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Variables["G"] != "5" || out.Result != ResultHangup {
		t.Fatalf("G=%q result %s", out.Variables["G"], out.Result)
	}
	lc.mu.Lock()
	cancelled := strings.Join(lc.cancelled, " ")
	lc.mu.Unlock()
	if cancelled != "welcome" || len(lc.playing) != 0 {
		t.Fatalf("cancelled plays: %v; %d more prompt(s) started after it", cancelled, len(lc.playing))
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %v: barge-in did not cut the 10 s prompt", el)
	}
}

func TestLiveHangupDuringPlay(t *testing.T) {
	lc := &liveChannel{testChannel: *newTestChannel(nil)}
	go func() { time.Sleep(50 * time.Millisecond); lc.end() }()
	plan := mustParse(t, flowPlan(`<Play prompt="welcome" loop="5"/><Set var="X" value="1"/>`))
	out, _ := Run(context.Background(), plan, liveOnly{lc}, RunOptions{})
	if out.Result != ResultCallerHungUp {
		t.Fatalf("result %s", out.Result)
	}
}

func TestRunCancelled(t *testing.T) {
	lc := &liveChannel{testChannel: *newTestChannel(nil)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	plan := mustParse(t, flowPlan(`<Pause length="10s"/>`))
	out, _ := Run(ctx, plan, liveOnly{lc}, RunOptions{})
	if out.Result != ResultError || !strings.Contains(out.Reason, "cancelled") || lc.hangup != "error" {
		t.Fatalf("%s %q hangup %q", out.Result, out.Reason, lc.hangup)
	}
	if _, err := Run(ctx, nil, liveOnly{lc}, RunOptions{}); !errors.Is(err, ErrRunArgs) {
		t.Fatalf("nil plan: %v", err)
	}
}

type fakeLinks struct {
	reqs    []*payment.LinkRequest
	err     error
	trusted []string
}

func (f *fakeLinks) SendPaymentLink(ctx context.Context, req *payment.LinkRequest) (*payment.LinkResult, error) {
	f.reqs = append(f.reqs, req)
	f.trusted = req.TrustedNumbers
	if f.err != nil {
		return nil, f.err
	}
	return &payment.LinkResult{LinkID: "lnk_1", SessionID: "sess-9", ExpiresAt: testStart.Add(72 * time.Hour), MessageID: "msg-1"}, nil
}

func TestAuthorizeAndSendPaymentLink(t *testing.T) {
	h := newHarness(t)
	links := &fakeLinks{}
	h.links = links
	out := h.run(flowPlan(`<Authorize connector="provider" var="Auth"/>
	<SendPaymentLink connector="provider" to="+447700900999" amount="12.50" currency="GBP" reference="R1" ttl="72h" session="sess-9" var="Link"/>`))
	v := out.Variables
	if v["Auth.Result"] != "success" || v["Link.Result"] != "success" || v["Link.Id"] != "lnk_1" || v["Link.ExpiresAt"] != "2026-11-25T10:00:00Z" {
		t.Fatalf("%v", v)
	}
	r := links.reqs[0]
	if r.To != "+447700900999" || r.CallerID != "+447700900123" || r.Amount.Minor != 1250 || r.SessionID != "sess-9" || r.TTL != 72*time.Hour || r.Connector != "provider" {
		t.Fatalf("link request %+v", r)
	}
	if len(eventsOf(out, "link.sent")) != 1 {
		t.Fatal("no link.sent event")
	}

	h = newHarness(t)
	h.conn.authErr = errors.New("401 from token endpoint")
	h.links = &fakeLinks{err: errors.New("guard: number not allowed")}
	out = h.run(flowPlan(`<Authorize connector="provider"/><SendPaymentLink connector="provider" to="+15550001111" amount="1" currency="USD"/>`))
	v = out.Variables
	if v["Authorize.Result"] != "failed" || !strings.Contains(v["Authorize.Error"], "401") || v["Link.Result"] != "failed" || !strings.Contains(v["Link.Error"], "guard") {
		t.Fatalf("%v", v)
	}
}
