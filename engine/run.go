package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/payment"
)

// run is one execution of a plan on one call. It is used by a single goroutine (Run's);
// Play runs in a helper goroutine only for live channels, and never touches run.
type run struct {
	plan    *callplan.Plan
	ch      Channel
	opts    RunOptions
	clock   Clock
	stepper stepper // the clock, when it is virtual
	log     *slog.Logger
	http    *http.Client

	vars    map[string]string
	events  []event.Event
	steps   int
	maxStep int
	started time.Time
	callID  string

	digits  <-chan dtmf.Event // nil once closed
	done    <-chan struct{}
	pending []dtmf.Digit // keys received but not yet consumed by an input step (type-ahead)

	habitKey   byte        // a finish key to drop if it is the next key (see expectHabit)
	habitUntil time.Time   // … and arrives before this
	keyTimer   *time.Timer // nextKey's timeout on the wall clock, re-armed for each key (keyTimeout)

	connectors    map[string]payment.Connector
	connectorKeys map[string]string                // connector name → the key of the opened connector (KeyedConnector)
	sessions      map[string]sessionFacts          // provider sessions this call's Pay steps used
	payments      map[string]*payment.PaymentFacts // payments this call's Pay steps made, by id (Capture's Known)
	lookedUp      map[string]bool                  // variables set from ApiInteraction responses
	trusted       map[string]bool                  // variables whose value the plan or the operator wrote (see trust.go)
	secrets       *secrets                         // credentials the plan fetched: masked in every output

	frames []*stepFrame // the steps running now, outermost first (a Menu's choice runs inside it)

	// While the call is bridged (<Dial>, a provider's capture line): the end of the far leg,
	// and the agents' commands for this call (nil channels otherwise: wait never takes them).
	bridgeDone <-chan struct{}
	commands   <-chan *deskRequest
	agent      *agentPay // the agent payment of the bridged call, open or last
}

// stepFrame is what the engine notes about a running step for its event.StepEnded.
type stepFrame struct {
	started  time.Time
	outcome  string   // set by the step when only it knows (the branch an If took)
	bargedIn bool     // a key stopped one of its prompts
	set      []string // variables the step itself set, in order (names; values are read at the end)
}

// endSignal stops the flow: the call is over (hang-up, transfer, caller gone, fatal error).
type endSignal struct {
	result, reason string
}

func (e *endSignal) Error() string { return "call ended: " + e.result }

// gotoSignal unwinds nested blocks up to the flow, which resumes at the label.
type gotoSignal struct{ label string }

func (g *gotoSignal) Error() string { return "goto " + g.label }

// varsHint is the variables a run's map is made for besides RunOptions.Variables: the call's
// five and a Pay's eighteen outputs, with room for a few of the plan's own. Grown from empty,
// the map was rehashed twice in every paying call (8 → 16 → 32 slots), in serve's profile at
// 1,000 calls ~1 % of its CPU (docs/sip.md, "The call's own work, part 2").
const varsHint = 28

func newRun(plan *callplan.Plan, ch Channel, opts RunOptions) *run {
	r := &run{plan: plan, ch: ch, opts: opts, clock: opts.Clock, log: opts.Logger, http: opts.HTTPClient,
		vars: make(map[string]string, len(opts.Variables)+varsHint), maxStep: opts.MaxSteps, connectors: map[string]payment.Connector{},
		connectorKeys: map[string]string{}, sessions: map[string]sessionFacts{}, lookedUp: map[string]bool{},
		payments: map[string]*payment.PaymentFacts{},
		trusted:  map[string]bool{}, secrets: newSecrets()}
	if r.clock == nil {
		r.clock = WallClock{}
	}
	r.stepper, _ = r.clock.(stepper)
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if r.http == nil {
		r.http = defaultHTTPClient(opts.SandboxURL)
	}
	if r.maxStep <= 0 {
		r.maxStep = defaultMaxSteps
	}
	info := ch.Info()
	r.callID = info.ID
	r.log = slog.New(secretHandler{next: r.log.Handler(), s: r.secrets}).With("call", info.ID, "plan", plan.Name)
	maps.Copy(r.vars, opts.Variables)
	r.vars["Call.From"] = info.From
	r.vars["Call.To"] = info.To
	r.vars["Call.Id"] = info.ID
	if !info.StartedAt.IsZero() {
		r.vars["Call.StartedAt"] = info.StartedAt.UTC().Format(time.RFC3339)
	}
	r.vars["Sandbox.Url"] = opts.SandboxURL
	r.initTrust(opts.Variables)
	r.digits = ch.Digits()
	r.done = ch.Done()
	return r
}

// execute runs the flow and turns how it stopped into an Outcome.
func (r *run) execute(ctx context.Context) *Outcome {
	r.started = r.clock.Now()
	r.emit("", &event.CallStarted{Plan: r.plan.Name, Version: r.plan.Version, From: r.vars["Call.From"], To: r.vars["Call.To"]})
	end := r.safeFlow(ctx)
	if end.result != ResultTransferred && end.result != ResultCallerHungUp && end.result != ResultHangup {
		// The flow ran off its end or failed: the engine ends the call itself.
		reason := end.result
		if end.result == ResultError {
			reason = "error"
		}
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if err := r.ch.Hangup(hctx, reason); err != nil && !errors.Is(err, ErrHangup) {
			r.log.Warn("hangup failed", "err", err)
		}
		cancel()
	}
	r.emit("", &event.CallEnded{Result: end.result, Reason: end.reason, Steps: r.steps})
	return &Outcome{
		Result:    end.result,
		Reason:    end.reason,
		Variables: maps.Clone(r.secrets.maskVars(r.vars)),
		Events:    r.events,
		Steps:     r.steps,
		Duration:  r.clock.Now().Sub(r.started),
	}
}

// safeFlow runs the flow and turns a panic in a step into the end of the call: one broken
// call must not take the others down. The panic value is not logged (only its type and the
// stack), since it could quote data; the Pay step's deferred wipes have run by then.
func (r *run) safeFlow(ctx context.Context) (end *endSignal) {
	defer func() {
		if v := recover(); v != nil {
			r.log.Error("engine panic", "type", fmt.Sprintf("%T", v), "stack", string(debug.Stack()))
			end = &endSignal{ResultError, "internal error"}
		}
	}()
	return r.flow(ctx)
}

// flow runs the top-level steps, resolving Goto by jumping to the label's index.
func (r *run) flow(ctx context.Context) *endSignal {
	pc := 0
	for pc < len(r.plan.Flow) {
		err := r.execOne(ctx, r.plan.Flow, pc)
		var g *gotoSignal
		var e *endSignal
		switch {
		case err == nil:
			pc++
		case errors.As(err, &g):
			idx, ok := r.plan.Labels[g.label]
			if !ok {
				return &endSignal{ResultError, fmt.Sprintf("goto: no label %q", g.label)}
			}
			pc = idx
		case errors.As(err, &e):
			return e
		default:
			return &endSignal{ResultError, err.Error()}
		}
	}
	return &endSignal{result: ResultCompleted}
}

// execList runs a nested block; a Goto or the end of the call propagates as an error.
func (r *run) execList(ctx context.Context, steps []callplan.Step) error {
	for i := range steps {
		if err := r.execOne(ctx, steps, i); err != nil {
			return err
		}
	}
	return nil
}

// execOne runs steps[i] (the list is passed so that Play can look at the next step).
func (r *run) execOne(ctx context.Context, steps []callplan.Step, i int) error {
	if err := ctx.Err(); err != nil {
		return &endSignal{ResultError, "cancelled: " + err.Error()}
	}
	select {
	case <-r.done:
		return r.callerGone()
	default:
	}
	r.steps++
	if r.steps > r.maxStep {
		return &endSignal{ResultError, fmt.Sprintf("%v: more than %d steps", errLoopGuard, r.maxStep)}
	}
	s := steps[i]
	r.emit(s.StepName(), &event.StepEntered{Pos: s.StepPos().String()})
	r.log.Debug("step", "step", s.StepName(), "pos", s.StepPos().String())
	var next callplan.Step
	if i+1 < len(steps) {
		next = steps[i+1]
	}
	f := &stepFrame{started: r.clock.Now()}
	r.frames = append(r.frames, f)
	err := r.runStep(ctx, s, next)
	r.frames = r.frames[:len(r.frames)-1]
	r.emit(s.StepName(), r.stepEnded(s, f, err))
	return err
}

// runStep runs one step; next is the step after it in the same list (for Play's barge-in).
func (r *run) runStep(ctx context.Context, s, next callplan.Step) error {
	switch s := s.(type) {
	case *callplan.PlayStep:
		return r.stepPlay(ctx, s, next)
	case *callplan.SayStep:
		return r.stepSay(ctx, s, next)
	case *callplan.SayDigitsStep:
		return r.stepSayDigits(ctx, s, next)
	case *callplan.SayCharactersStep:
		return r.stepSayCharacters(ctx, s, next)
	case *callplan.SayAmountStep:
		return r.stepSayAmount(ctx, s, next)
	case *callplan.PauseStep:
		return r.stepPause(ctx, s)
	case *callplan.GatherStep:
		return r.stepGather(ctx, s)
	case *callplan.MenuStep:
		return r.stepMenu(ctx, s)
	case *callplan.APIInteractionStep:
		return r.stepAPI(ctx, s)
	case *callplan.AuthorizeStep:
		return r.stepAuthorize(ctx, s)
	case *callplan.PayStep:
		return r.stepPay(ctx, s)
	case *callplan.SendPaymentLinkStep:
		return r.stepSendLink(ctx, s)
	case *callplan.PaymentOpStep:
		return r.stepPaymentOp(ctx, s)
	case *callplan.SetStep:
		return r.stepSet(s)
	case *callplan.IfStep:
		return r.stepIf(ctx, s)
	case *callplan.SwitchStep:
		return r.stepSwitch(ctx, s)
	case *callplan.GotoStep:
		return &gotoSignal{label: s.Label}
	case *callplan.LabelStep:
		return nil
	case *callplan.TransferStep:
		return r.stepTransfer(ctx, s)
	case *callplan.HangupStep:
		return r.stepHangup(ctx, s)
	case *callplan.DialStep:
		return r.stepDial(ctx, s)
	}
	return &endSignal{ResultError, fmt.Sprintf("%s: unsupported step %s", s.StepPos(), s.StepName())}
}

// callerGone is the end of the call from the far end.
func (r *run) callerGone() error {
	return &endSignal{result: ResultCallerHungUp}
}

// --- variables ---

func (r *run) lookup(name string) (string, bool) {
	v, ok := r.vars[name]
	return v, ok
}

// expand expands a plain template (prompt names, Set values, Switch values).
func (r *run) expand(tmpl string) string {
	v, err := callplan.Expand(tmpl, r.lookup)
	if err != nil {
		r.log.Warn("template", "err", err)
	}
	return v
}

// set assigns a variable. The value is untrusted data (see trust.go) unless the caller marks
// it otherwise afterwards.
func (r *run) set(name, value string) {
	r.vars[name] = value
	delete(r.trusted, name)
	if n := len(r.frames); n > 0 {
		r.frames[n-1].set = append(r.frames[n-1].set, name)
	}
}

// --- events ---

func (r *run) emit(step string, d event.Data) {
	r.secrets.maskData(d)
	e := event.Event{Time: r.clock.Now(), CallID: r.callID, Step: r.secrets.mask(step), Data: d}
	if !r.opts.SinkOnly {
		r.events = append(r.events, e)
	}
	if r.opts.Events != nil {
		r.opts.Events.Emit(e)
	}
}

// takesInput reports whether s reads keys (the default barge-in of a Play before it).
func takesInput(s callplan.Step) bool {
	switch s.(type) {
	case *callplan.GatherStep, *callplan.MenuStep, *callplan.PayStep:
		return true
	}
	return false
}

// newIdempotencyKey is 128 random bits in hex.
func (r *run) newIdempotencyKey() string {
	if r.opts.NewIdempotencyKey != nil {
		return r.opts.NewIdempotencyKey()
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// connector opens (once per call) the plan's connector called name.
func (r *run) connector(name string) (payment.Connector, error) {
	if c, ok := r.connectors[name]; ok {
		return c, nil
	}
	decl := r.plan.Connector(name)
	if decl == nil {
		return nil, fmt.Errorf("%w: no <Connector name=%q>", errNoConnector, name)
	}
	if r.opts.Connectors == nil {
		return nil, fmt.Errorf("%w: no connectors configured", errNoConnector)
	}
	spec := decl.Spec
	c, err := r.opts.Connectors.Open(&spec)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errNoConnector, name, err)
	}
	r.connectors[name] = c
	if k, ok := c.(payment.KeyedConnector); ok {
		r.connectorKeys[name] = k.Key()
	}
	return c, nil
}
