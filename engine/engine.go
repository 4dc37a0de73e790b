package engine

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/payment"
)

// How a call ended (Outcome.Result).
const (
	ResultHangup       = "hangup"         // the plan ran <Hangup>
	ResultCallerHungUp = "caller-hung-up" // the far end went away first
	ResultTransferred  = "transferred"    // the plan ran <Transfer>
	ResultCompleted    = "completed"      // the flow ran off its end (the engine then hangs up)
	ResultError        = "error"          // the engine could not go on (loop guard, cancelled, internal)
)

// defaultMaxSteps is RunOptions.MaxSteps when it is zero: a call that runs more steps than
// this is a plan stuck in a Goto loop.
const defaultMaxSteps = 10_000

// RunOptions are what a call needs besides its plan and channel. Only Clock is needed for a
// plan without connectors; everything else has a safe default.
type RunOptions struct {
	Clock      Clock              // WallClock for live calls, a *VirtualClock for replay; nil = WallClock
	Connectors payment.Connectors // opens the plan's <Connector>s; nil = Pay/Authorize fail as connector errors
	Links      payment.LinkSender // for SendPaymentLink; nil = SendPaymentLink fails
	Lifecycle  payment.Lifecycle  // for Capture, Void and Refund; nil = they fail
	Events     event.Sink         // receives every event as it happens (also collected in Outcome.Events)
	HTTPClient *http.Client       // for ApiInteraction; nil = a client with no global timeout (each step has its own)
	SandboxURL string             // the value of $(Sandbox.Url)
	Logger     *slog.Logger       // nil = discard; never receives a card digit
	Speech     Renderer           // text to speech for <Say>; nil = speech is skipped (and reported)
	MaxSteps   int                // loop guard; 0 = 10 000

	// SinkOnly leaves Outcome.Events empty: the events go to Events only. For a server whose
	// sink keeps the timeline itself (serve's recorder), so that a call does not hold a second
	// copy of it for as long as it runs.
	SinkOnly bool

	// Desk, when set, is where agents reach this call while it is bridged (<Dial>): the
	// Payments API and the console send their commands through it. nil: a bridged call takes
	// only the payment its plan's <Pay mode="agent"> opens, driven by nobody.
	Desk *Desk

	// Variables are set before the first step, after the Call.* built-ins (a harness may
	// preset plan variables; built-ins cannot be overridden).
	Variables map[string]string

	// NewIdempotencyKey returns a fresh key for each payment attempt; nil = 128 random bits,
	// hex. The same key is used for every retry of that attempt inside the connector.
	NewIdempotencyKey func() string
}

// Outcome is how a call went. It marshals to JSON without any card data: Pay publishes only
// masked or non-sensitive variables, and events carry counts instead of digits.
type Outcome struct {
	Result    string            `json:"result"`           // ResultHangup, ResultCallerHungUp, …
	Reason    string            `json:"reason,omitempty"` // hang-up reason, transfer target, or what went wrong
	Variables map[string]string `json:"variables"`        // every variable after the run
	Events    []event.Event     `json:"events"`           // the masked timeline
	Steps     int               `json:"steps"`            // steps executed
	Duration  time.Duration     `json:"duration_ns"`      // on the run's clock
}

// TimedPlayer is implemented by channels whose prompt playback is simulated (replay): the
// engine does not call Play but waits PromptDuration on its Clock, so that on a VirtualClock
// barge-in and timeouts happen at exact virtual instants.
type TimedPlayer interface {
	PromptDuration(prompt string) (time.Duration, error)
}

// Run executes plan on ch until the call ends and returns how it ended. The error is non-nil
// only when the run could not start (nil plan or channel); everything that happens during a
// call — including an engine failure — is reported in the Outcome. plan is one that
// callplan.Parse accepted without errors: the engine relies on the defaults the parser fills
// in and on the rules its validator applied.
//
// The model: one goroutine walks the flow and blocks in exactly one place, waiting for the
// first of a key on ch.Digits, the end of a prompt, a timer on opts.Clock, the end of the
// call, or ctx — taken in that order when several are ready. On a *VirtualClock the engine
// steps the clock whenever it waits and nothing is ready, so replays cost no time and are
// reproducible; channels that simulate playback implement TimedPlayer for that. Keys that
// arrive while a prompt plays cancel it (barge-in) or queue up (type-ahead) and feed the next
// Gather, Menu or Pay. Pay keeps card digits only in pan.SecureBuffers, which it wipes after
// the connector call and on every other way out (docs/pay.md).
//
// Run hangs the channel up when the flow ends, when a step fails fatally and when the loop
// guard trips; after <Transfer> it leaves the channel to the transfer.
func Run(ctx context.Context, plan *callplan.Plan, ch Channel, opts RunOptions) (*Outcome, error) {
	if plan == nil || ch == nil {
		return nil, ErrRunArgs
	}
	r := newRun(plan, ch, opts)
	return r.execute(ctx), nil
}
