package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/ivr"
	"github.com/paybridge/paybridge/media"
	"github.com/paybridge/paybridge/prompts"
	"github.com/paybridge/paybridge/store"
)

// callRecords is what a call's path writes into the store: its record at the answer, its
// media figures and its end after the hang-up.
type callRecords interface {
	CreateCall(ctx context.Context, c store.Call) error
	SetCallRTPForeign(ctx context.Context, id string, n int64) error
	SetCallSocketDrops(ctx context.Context, id string, n int64) error
	SetCallSRTPAuthFailed(ctx context.Context, id string, n int64) error
	EndCall(ctx context.Context, id, cause string, at time.Time) error
}

// route picks the plan for a dialled number; no plan → 404 (the SIP layer answers it without
// saying which numbers exist).
func (a *App) route(to string) (ivr.CallHandler, bool) {
	plan, ok := a.plans.Set().Match(to)
	if !ok {
		return nil, false
	}
	ps := a.plans.Prompts(plan)
	return func(ctx context.Context, call *ivr.Call) { a.runCall(ctx, plan, ps, call) }, true
}

// planSRTP is the SRTP policy of the plan a dialled number reaches (<CallPlan srtp>; off when
// it says nothing: the listener's policy then applies).
func (a *App) planSRTP(to string) media.SRTPPolicy {
	plan, ok := a.plans.Set().Match(to)
	if !ok {
		return media.SRTPOff
	}
	p, err := media.ParseSRTPPolicy(plan.SRTP)
	if err != nil {
		return media.SRTPOff
	}
	return p
}

// runCall is one answered call: record it, run its plan, record how it ended.
func (a *App) runCall(ctx context.Context, plan *callplan.Plan, ps *prompts.Set, call *ivr.Call) {
	a.calls.Add(1)
	defer a.calls.Done()
	info := call.Info()
	sec := call.Security()
	srtp := ""
	if sec.SRTP != media.SuiteNone {
		srtp = sec.SRTP.String()
	}
	log := a.log.With("call", info.ID, "plan", plan.Name)
	// The call is answered by now: its record is created answered, one write (a commit)
	// instead of two for every call. Its writes run in order off the call's path
	// (callrecord.go): a stalled store delays the record and, at most callRowWait, the plan —
	// whose events need the call's row (call_events references it) — never the call's end.
	rec := newCallRecord(log, a.metrics, &a.recordWrites, &a.recordsPending)
	now := time.Now()
	row := store.Call{ID: info.ID, From: info.From, To: info.To, Plan: plan.Name,
		PlanHash: plan.Hash, Node: a.node, State: store.CallAnswered, StartedAt: info.StartedAt, AnsweredAt: now,
		SIPTransport: sec.Transport, SRTP: srtp}
	started := a.recordStart(rec, row)
	recorded := rec.wait(started, callStartWait) || awaitRow(ctx, log, started.done, callRowWait-callStartWait)

	cause := "error"
	if recorded {
		a.live.Publish(event.Event{Time: now, CallID: info.ID, Data: &event.CallAnswered{From: info.From, To: info.To, Plan: plan.Name,
			SIPTransport: sec.Transport, SRTP: srtp, Encrypted: sec.Encrypted()}})
		cause = a.runPlan(ctx, log, plan, ps, call)
	} else {
		// No plan without its row: its events would be refused (and take a batch of other
		// calls' events with them). The row and the end stay queued, in order.
		cause = "error: the store did not record the call in time"
		if c := call.Cause(); c != "" {
			cause = engine.ResultCallerHungUp + ": " + c
		}
		log.Error("the plan did not run: the store has not recorded the call", "waited", callRowWait)
	}
	// The engine has finished: make sure the far end is released, then record the end.
	_ = call.Hangup(context.Background(), "plan finished")
	ended := time.Now()
	rec.wait(a.recordEnd(rec, log, row, call.MediaStats(), cause, ended), callEndWait)
	log.Info("call ended", "cause", cause)
}

// recordStart queues the call's row.
func (a *App) recordStart(rec *callRecord, row store.Call) recordWrite {
	return rec.do(console.CallRecordStart, "recording call", func(ctx context.Context) error { return a.records.CreateCall(ctx, row) })
}

// recordEnd queues what the call's record gets after the hang-up: its media figures, the wait
// for its last events, its end. It returns the end's write. row is the call's row as its
// start wrote it.
func (a *App) recordEnd(rec *callRecord, log *slog.Logger, row store.Call, ms media.Stats, cause string, ended time.Time) recordWrite {
	id := row.ID
	if foreign := ms.Foreign; foreign > 0 {
		log.Warn("media from a foreign address dropped", "rtp_foreign", foreign)
		rec.do(console.CallRecordRTPForeign, "recording foreign RTP", func(ctx context.Context) error {
			return a.records.SetCallRTPForeign(ctx, id, foreign)
		})
	}
	if drops := ms.SocketDrops; drops > 0 {
		log.Warn("the kernel dropped media on the call's socket (its receive queue was full)", "rtp_socket_drops", drops)
		rec.do(console.CallRecordSocketDrops, "recording socket drops", func(ctx context.Context) error {
			return a.records.SetCallSocketDrops(ctx, id, drops)
		})
	}
	if failed := ms.SRTPAuthFailed; failed > 0 {
		log.Warn("SRTP packets failed authentication", "srtp_auth_failed", failed)
		rec.do(console.CallRecordSRTPAuth, "recording SRTP authentication failures", func(ctx context.Context) error {
			return a.records.SetCallSRTPAuthFailed(ctx, id, failed)
		})
	}
	// The call's last events (its end, the bridge's end) are in the store before the call is
	// recorded as ended: whoever sees it ended sees its whole timeline. (No write of the
	// record: it never fails.)
	rec.do("", "", func(ctx context.Context) error {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := a.recorder.Written(wctx); err != nil {
			log.Warn("the call's last events are not yet recorded", "err", err)
		}
		return nil
	})
	return rec.do(console.CallRecordEnd, "recording hang-up", func(ctx context.Context) error {
		return a.endCall(ctx, log, row, ms, cause, ended)
	})
}

// endCall records the call's end. Its row is there as a rule: the start wrote it first and
// the writes run one after the other. Not always on PostgreSQL, where each write has its own
// connection: a start whose answer was lost — the connection dropped, or the write timed out,
// after its COMMIT was sent — has been reported failed while the server may still commit it,
// after the writes behind it; and a start that failed leaves no row. An end that updates no
// row would then be lost, and a start landing later would leave the call in progress for
// good. So when the row is missing, the end writes the whole row, ended, with the media
// figures (which found no row either); a start still in flight makes that insert wait for it,
// and once it has landed (ErrDuplicate) the end updates it after all. A start landing after
// that insert fails on the existing id: it never overwrites the end.
func (a *App) endCall(ctx context.Context, log *slog.Logger, row store.Call, ms media.Stats, cause string, ended time.Time) error {
	err := a.records.EndCall(ctx, row.ID, cause, ended)
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	log.Warn("the call's row is missing at its end (its start write failed or is still landing): writing it ended")
	row.State, row.EndedAt, row.HangupCause = store.CallEnded, ended, cause
	row.RTPForeign, row.RTPSocketDrops, row.SRTPAuthFailed = ms.Foreign, ms.SocketDrops, ms.SRTPAuthFailed
	if err = a.records.CreateCall(ctx, row); !errors.Is(err, store.ErrDuplicate) {
		return err
	}
	// The start landed meanwhile: the figures written before it found no row.
	if ms.Foreign > 0 {
		if err := a.records.SetCallRTPForeign(ctx, row.ID, ms.Foreign); err != nil {
			return err
		}
	}
	if ms.SocketDrops > 0 {
		if err := a.records.SetCallSocketDrops(ctx, row.ID, ms.SocketDrops); err != nil {
			return err
		}
	}
	if ms.SRTPAuthFailed > 0 {
		if err := a.records.SetCallSRTPAuthFailed(ctx, row.ID, ms.SRTPAuthFailed); err != nil {
			return err
		}
	}
	return a.records.EndCall(ctx, row.ID, cause, ended)
}

// awaitRow waits up to d more for the call's row (the call has gone on callStartWait
// without it), or until the call ends: true when the row was written.
func awaitRow(ctx context.Context, log *slog.Logger, started <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-started:
		log.Info("the store has recorded the call: its plan starts late")
		return true
	case <-ctx.Done():
	case <-t.C:
	}
	return false
}

// runPlan runs the call's plan and says how the call ended.
func (a *App) runPlan(ctx context.Context, log *slog.Logger, plan *callplan.Plan, ps *prompts.Set, call *ivr.Call) string {
	id := call.Info().ID
	sink := event.SinkFunc(func(e event.Event) {
		if e.CallID == "" {
			e.CallID = id
		}
		a.recorder.Emit(e)
	})
	out, err := engine.Run(ctx, plan, &planChannel{Call: call, prompts: ps}, engine.RunOptions{
		Clock:      engine.WallClock{},
		Connectors: a.connectors,
		Links:      a.links,
		Lifecycle:  a.lifecycle,
		Events:     sink,
		SinkOnly:   true, // the recorder keeps the timeline
		SandboxURL: a.sandboxBase(),
		HTTPClient: a.planHTTP,
		Logger:     a.log, // the engine names the call and the plan itself
		Speech:     a.speech.renderer,
		Desk:       a.desk,
	})
	cause := "error"
	switch {
	case err != nil:
		log.Error("plan did not run", "err", err)
	case out.Reason != "":
		cause = out.Result + ": " + out.Reason
	default:
		cause = out.Result
	}
	if c := call.Cause(); c != "" && out != nil && out.Result == engine.ResultCallerHungUp {
		cause = out.Result + ": " + c
	}
	return cause
}

// planChannel is an ivr call seen through its plan: prompts resolve against the plan's own
// directory before the bundled pack.
type planChannel struct {
	*ivr.Call
	prompts *prompts.Set
}

func (c *planChannel) Play(ctx context.Context, name string) error {
	p, err := c.prompts.Load(name)
	if err != nil {
		return err
	}
	return c.Call.PlayPCM(ctx, p.Samples)
}

// StartPlay is Play's prompt started without waiting for it (engine.PromptStarter): the
// embedded call's own StartPlay would resolve the name against the bundled pack alone.
func (c *planChannel) StartPlay(name string) (engine.Playback, error) {
	p, err := c.prompts.Load(name)
	if err != nil {
		return nil, err
	}
	return c.Call.StartPCM(p.Samples)
}

var (
	_ engine.Channel       = (*planChannel)(nil)
	_ engine.PromptStarter = (*planChannel)(nil)
	_ engine.PCMStarter    = (*planChannel)(nil)
)

// ivrMetrics adapts the console's Prometheus metrics to the counters the SIP layer keeps.
type ivrMetrics struct{ m *console.Metrics }

func (i ivrMetrics) CallStarted()                        { i.m.CallStarted() }
func (i ivrMetrics) CallEnded(cause string)              { i.m.CallEnded(cause) }
func (i ivrMetrics) SIPResponse(_ string, code int)      { i.m.SIPResponse(code) }
func (i ivrMetrics) RTPPackets(received, lost int)       { i.m.RTP(received, lost) }
func (i ivrMetrics) RTPForeign(n int)                    { i.m.RTPForeign(n) }
func (i ivrMetrics) Digit(s dtmf.Source)                 { i.m.Digit(s.String()) }
func (i ivrMetrics) CallRefused(reason string)           { i.m.CallRefused(reason) }
func (i ivrMetrics) SocketDrops(socket string, n int64)  { i.m.SocketDrops(socket, n) }
func (i ivrMetrics) SRTPDropped(replay bool)             { i.m.SRTPDropped(replay) }
func (i ivrMetrics) AdmissionTick(degraded, held string) { i.m.AdmissionTick(degraded, held) }

var _ ivr.AdmissionMetrics = ivrMetrics{}
