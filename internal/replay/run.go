package replay

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/prompts"
)

// DefaultLinger is how long the replayed caller stays on the line, silent, after the input
// ends before hanging up.
const DefaultLinger = 60 * time.Second

// Options configure a replay. Plan is required; the rest have defaults.
type Options struct {
	Plan       *callplan.Plan
	Prompts    *prompts.Set       // nil = the plan's <Prompts dir>, then the bundled pack of its <Prompts lang>
	Speech     engine.Renderer    // text to speech for <Say>; nil = speech is skipped (and reported)
	Connectors payment.Connectors // the sandbox-backed connectors (see Sandbox)
	Links      payment.LinkSender // payment links (see Sandbox)
	Lifecycle  payment.Lifecycle  // Capture, Void and Refund (see Sandbox: an in-memory ledger)
	SandboxURL string             // $(Sandbox.Url)
	HTTPClient *http.Client       // for ApiInteraction
	Logger     *slog.Logger       // never receives card data
	Linger     time.Duration      // 0 = DefaultLinger
	Start      time.Time          // the virtual clock's start; zero = now
	From, To   string             // Call.From / Call.To
	CallID     string             // Call.Id; "" = "replay"
	MaxSteps   int                // loop guard; 0 = the engine's default
	Events     event.Sink         // optional live feed of events
	Variables  map[string]string  // preset variables
}

// Result is the JSON document replay prints: how the call ended, every variable and the
// masked timeline. It never holds a card digit.
type Result struct {
	Input      string            `json:"input"`
	Outcome    string            `json:"outcome"`
	Reason     string            `json:"reason,omitempty"`
	Variables  map[string]string `json:"variables"`
	Events     []Event           `json:"events"`
	Keys       int               `json:"keys"`        // keypresses in the input
	SecureKeys int               `json:"secure_keys"` // keypresses heard while the secure window was on (Pay capturing)
	Duration   float64           `json:"duration_s"`  // length of the call on the virtual clock
	WallTime   float64           `json:"wall_ms"`     // how long the replay took
}

// Event is a timeline entry with its offset from the start of the call; Fields is the JSON of
// the event's data (package event).
type Event struct {
	At     float64         `json:"at"` // seconds since the start of the call
	Type   string          `json:"type"`
	Step   string          `json:"step,omitempty"`
	Fields json.RawMessage `json:"fields,omitempty"`
}

// Run replays in through opts.Plan.
func Run(ctx context.Context, in *Input, opts Options) (*Result, error) {
	if opts.Plan == nil || in == nil {
		return nil, ErrOptions
	}
	set := opts.Prompts
	if set == nil {
		var err error
		if set, err = prompts.OpenPlan(opts.Plan); err != nil {
			return nil, err
		}
	}
	start := opts.Start
	if start.IsZero() {
		start = time.Now().UTC().Truncate(time.Second)
	}
	linger := opts.Linger
	if linger <= 0 {
		linger = DefaultLinger
	}
	id := opts.CallID
	if id == "" {
		id = "replay"
	}
	clock := engine.NewVirtualClock(start)
	info := engine.CallInfo{ID: id, From: opts.From, To: opts.To, StartedAt: start}
	ch := newChannel(clock, set, info, in, linger)

	wall := time.Now()
	out, err := engine.Run(ctx, opts.Plan, ch, engine.RunOptions{
		Clock: clock, Connectors: opts.Connectors, Links: opts.Links, Lifecycle: opts.Lifecycle, Events: opts.Events,
		HTTPClient: opts.HTTPClient, SandboxURL: opts.SandboxURL, Logger: opts.Logger,
		MaxSteps: opts.MaxSteps, Variables: opts.Variables, Speech: opts.Speech,
	})
	if err != nil {
		return nil, err
	}
	ch.mu.Lock()
	secureKeys := ch.secureKeys
	ch.mu.Unlock()
	res := &Result{
		Input: in.Name, Outcome: out.Result, Reason: out.Reason, Variables: out.Variables,
		Keys: len(in.Keys), SecureKeys: secureKeys, Duration: out.Duration.Seconds(),
		WallTime: float64(time.Since(wall).Microseconds()) / 1000,
	}
	res.Events = make([]Event, len(out.Events))
	for i, e := range out.Events {
		f, err := e.Fields()
		if err != nil {
			return nil, err
		}
		res.Events[i] = Event{At: e.Time.Sub(start).Seconds(), Type: e.Type(), Step: e.Step, Fields: f}
	}
	return res, nil
}
