package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// The engine's unit-test doubles: a Channel whose prompts last a fixed time on a virtual
// clock and whose caller presses keys on a schedule, and a recording Connector.

var testStart = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// testCards are the card numbers every leak check looks for.
var testCards = []string{"4242424242424242", "5555555555554444", "378282246310005"}

type testChannel struct {
	clock     *VirtualClock
	promptDur map[string]time.Duration // default 1s
	digits    chan dtmf.Event
	done      chan struct{}

	mu          sync.Mutex
	ended       bool
	played      []string
	secure      []bool
	hangup      string
	transferTo  string
	transferErr error
}

func newTestChannel(clock *VirtualClock) *testChannel {
	return &testChannel{clock: clock, promptDur: map[string]time.Duration{}, digits: make(chan dtmf.Event, 512), done: make(chan struct{})}
}

func (c *testChannel) Info() CallInfo {
	return CallInfo{ID: "call-1", From: "+447700900123", To: "+441632960000", StartedAt: testStart}
}

func (c *testChannel) PromptDuration(name string) (time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.played = append(c.played, name)
	if name == "missing-prompt" {
		return 0, errors.New("no such prompt")
	}
	if d, ok := c.promptDur[name]; ok {
		return d, nil
	}
	return time.Second, nil
}

func (c *testChannel) Play(ctx context.Context, prompt string) error {
	panic("the engine must use PromptDuration for a TimedPlayer")
}
func (c *testChannel) Digits() <-chan dtmf.Event { return c.digits }
func (c *testChannel) Secure(on bool) {
	c.mu.Lock()
	c.secure = append(c.secure, on)
	c.mu.Unlock()
}
func (c *testChannel) Transfer(ctx context.Context, target string) error {
	c.transferTo = target
	return c.transferErr
}
func (c *testChannel) Hangup(ctx context.Context, reason string) error {
	c.hangup = reason
	c.end()
	return nil
}
func (c *testChannel) Done() <-chan struct{} { return c.done }

func (c *testChannel) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ended {
		c.ended = true
		close(c.done)
		close(c.digits)
	}
}

// press schedules keys from at: each key 100 ms on / 100 ms off, 'w' waits 0.5 s, 'W' 1 s.
// It returns the time after the last key.
func (c *testChannel) press(at time.Duration, keys string) time.Duration {
	for i := 0; i < len(keys); i++ {
		switch keys[i] {
		case 'w':
			at += 500 * time.Millisecond
			continue
		case 'W':
			at += time.Second
			continue
		case ' ':
			continue
		}
		d, ok := dtmf.ParseDigit(keys[i])
		if !ok {
			panic("bad key " + string(keys[i]))
		}
		ev := dtmf.Event{Digit: d, Source: dtmf.SourceRFC4733, Start: at, End: at + 100*time.Millisecond}
		c.clock.AfterFunc(at-c.clock.Now().Sub(testStart), func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if !c.ended {
				c.digits <- ev
			}
		})
		at += 200 * time.Millisecond
	}
	return at
}

// hangupAt makes the caller hang up at the given offset.
func (c *testChannel) hangupAt(at time.Duration) {
	c.clock.AfterFunc(at-c.clock.Now().Sub(testStart), c.end)
}

func (c *testChannel) playedList() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.played, " ")
}

// fakeConnector records payment requests. It reads the card like a real connector would
// (AppendTo into a body it zeroes) and keeps a view of the buffers' memory so the test can
// check they were wiped.
type fakeConnector struct {
	mu       sync.Mutex
	reqs     []payment.Request
	numbers  []string // what it received (only in this test double, never printed)
	cvvs     []string
	accounts []string // bank requests: "routing/account"
	memory   [][]byte // the buffers' backing arrays
	result   *payment.Result
	err      error
	authErr  error
	sessions []*payment.SessionRequest
	// answers, when set, are the answers of successive Pay calls (whichever connector of a
	// route is asked); result and err answer once they run out.
	answers []fakeAnswer
}

type fakeAnswer struct {
	res *payment.Result
	err error
}

func (f *fakeConnector) Pay(ctx context.Context, req *payment.Request) (*payment.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body := req.Card.Number.AppendTo([]byte("number="))
	f.numbers = append(f.numbers, string(body[len("number="):]))
	pan.Zero(body)
	req.Card.Number.Use(func(d []byte) { f.memory = append(f.memory, d[:cap(d)]) })
	if req.Card.SecurityCode != nil {
		f.cvvs = append(f.cvvs, string(req.Card.SecurityCode.AppendTo(nil)))
		req.Card.SecurityCode.Use(func(d []byte) { f.memory = append(f.memory, d[:cap(d)]) })
	}
	if req.Bank != nil {
		f.accounts = append(f.accounts, string(req.Bank.RoutingNumber.AppendTo(nil))+"/"+string(req.Bank.AccountNumber.AppendTo(nil)))
		req.Bank.AccountNumber.Use(func(d []byte) { f.memory = append(f.memory, d[:cap(d)]) })
	}
	f.reqs = append(f.reqs, *req)
	if len(f.answers) > 0 {
		a := f.answers[0]
		f.answers = f.answers[1:]
		return a.res, a.err
	}
	if f.err != nil {
		return nil, f.err
	}
	if f.result != nil {
		return f.result, nil
	}
	return &payment.Result{Status: payment.Approved, ConfirmationCode: "PB1234", SessionID: "sess-1", ProviderStatus: 200}, nil
}

func (f *fakeConnector) StartSession(ctx context.Context, req *payment.SessionRequest) (*payment.Session, error) {
	f.sessions = append(f.sessions, req)
	return &payment.Session{ID: "sess-1", State: "created"}, nil
}

func (f *fakeConnector) Authorize(ctx context.Context) error { return f.authErr }

type fakeConnectors struct {
	conn  *fakeConnector
	specs []payment.ConnectorSpec
}

func (f *fakeConnectors) Open(spec *payment.ConnectorSpec) (payment.Connector, error) {
	f.specs = append(f.specs, *spec)
	return f.conn, nil
}

// harness runs plans on a virtual clock and captures everything the run printed.
type harness struct {
	t     *testing.T
	clock *VirtualClock
	ch    *testChannel
	conn  *fakeConnector
	links payment.LinkSender
	logs  bytes.Buffer
	sink  []event.Event
	opts  RunOptions
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, clock: NewVirtualClock(testStart), conn: &fakeConnector{}}
	h.ch = newTestChannel(h.clock)
	return h
}

func mustParse(t *testing.T, src string) *callplan.Plan {
	t.Helper()
	plan, ds := callplan.Parse("test.xml", []byte(src), func(string) string { return "" })
	if ds.HasErrors() {
		t.Fatalf("plan does not parse:\n%s", ds.String())
	}
	return plan
}

func (h *harness) run(src string) *Outcome {
	h.t.Helper()
	plan := mustParse(h.t, src)
	opts := h.opts
	opts.Clock = h.clock
	opts.Connectors = &fakeConnectors{conn: h.conn}
	opts.Links = h.links
	opts.Logger = slog.New(slog.NewJSONHandler(&h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Events = event.SinkFunc(func(e event.Event) { h.sink = append(h.sink, e) })
	opts.SandboxURL = "http://127.0.0.1:1"
	if opts.MaxSteps == 0 {
		opts.MaxSteps = 500
	}
	done := make(chan *Outcome, 1)
	go func() {
		out, err := Run(context.Background(), plan, h.ch, opts)
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
		done <- out
	}()
	select {
	case out := <-done:
		h.checkNoLeak(out)
		return out
	case <-time.After(20 * time.Second):
		h.t.Fatalf("Run did not finish; played %s", h.ch.playedList())
	}
	return nil
}

// checkNoLeak scans the outcome JSON, every event and every log line for the test cards.
func (h *harness) checkNoLeak(out *Outcome) {
	h.t.Helper()
	j, err := json.Marshal(out)
	if err != nil {
		h.t.Fatalf("outcome does not marshal: %v", err)
	}
	sj, _ := json.Marshal(h.sink)
	for _, where := range []struct {
		name string
		text string
	}{{"outcome", string(j)}, {"events", string(sj)}, {"logs", h.logs.String()}} {
		for _, pan := range testCards {
			if strings.Contains(where.text, pan) || strings.Contains(where.text, pan[:12]) {
				h.t.Fatalf("a test card number leaked into the %s", where.name)
			}
		}
	}
}

func eventsOf(out *Outcome, typ string) []event.Event {
	var es []event.Event
	for _, e := range out.Events {
		if e.Type() == typ {
			es = append(es, e)
		}
	}
	return es
}
