package engine

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/event"
)

// stepDial runs <Dial>: the targets are tried in order; when one answers the call is bridged
// to it until one side hangs up (or the time limit), and the agents' commands for the call
// are served meanwhile (agentpay.go). The flow goes on after the bridged leg ends; the call
// ends when the caller hangs up.
func (r *run) stepDial(ctx context.Context, s *callplan.DialStep) error {
	prefix := s.Var
	for _, o := range s.Outputs() {
		r.set(prefix+"."+o, "")
	}
	req := DialRequest{Timeout: s.Timeout, CallerID: r.expand(s.CallerID), RingTone: s.RingTone,
		Record: s.Record != callplan.DialRecordNone, RecordDual: s.RecordDual(), FromRinging: s.RecordFromRinging()}
	for _, t := range s.Targets {
		req.Targets = append(req.Targets, DialTarget{URI: r.expand(t.URI), Username: t.Username, Password: t.Password, Agent: t.Agent})
	}
	br, res := r.dial(ctx, "Dial", req)
	r.set(prefix+".Result", res.Status)
	if res.SIPStatus > 0 {
		r.set(prefix+".SipStatus", strconv.Itoa(res.SIPStatus))
	}
	switch res.Status {
	case callplan.DialAnswered:
	case callplan.DialCallerHungUp:
		return r.callerGone()
	default:
		r.log.Info("Dial: no target answered", "pos", s.Pos.String(), "result", res.Status, "reason", res.Reason)
		return nil
	}
	target := req.Targets[res.Target].URI
	r.set(prefix+".Agent", res.Agent)
	r.set(prefix+".Target", target)
	started := r.clock.Now()
	err := r.bridged(ctx, br, target, res.Agent, s.TimeLimit, s.Pay)
	r.set(prefix+".Duration", strconv.Itoa(int(r.clock.Now().Sub(started)/time.Second)))
	return err
}

// dial places a leg through the channel, reports each target tried, and drops the keys typed
// while it rang (they were for nobody).
func (r *run) dial(ctx context.Context, step string, req DialRequest) (Bridge, DialResult) {
	d, ok := r.ch.(Dialer)
	if !ok {
		return nil, DialResult{Status: callplan.DialFailed, Reason: "this channel cannot place calls"}
	}
	br, res := d.Dial(ctx, req)
	for _, a := range res.Attempts {
		r.emit(step, &event.DialAttempted{Target: a.URI, Result: a.Status, SIPStatus: a.SIPStatus, Agent: a.Agent})
	}
	r.dropTypeAhead()
	r.drainKeys()
	if res.Status != callplan.DialAnswered && br != nil {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = br.Hangup(hctx)
		cancel()
		br = nil
	}
	return br, res
}

// drainKeys drops the keys waiting on the channel without blocking.
func (r *run) drainKeys() {
	for r.digits != nil {
		select {
		case _, ok := <-r.digits:
			if !ok {
				r.digits = nil
			}
		default:
			return
		}
	}
}

// bridged holds the call while it is bridged to br: it serves the agents' commands (the
// desk), takes the keys of a field being captured, ends the leg at the time limit, and ends an
// open payment with the bridge. It returns nil when the bridged leg ended (the flow goes on)
// and the end of the call when the caller hung up.
func (r *run) bridged(ctx context.Context, br Bridge, target, agent string, limit time.Duration, pay *callplan.PayStep) (err error) {
	r.emit("Dial", &event.Bridged{Target: target, Agent: agent})
	started := r.clock.Now()
	r.bridgeDone = br.Done()
	var line *deskLine
	if r.opts.Desk != nil {
		line = r.opts.Desk.open(r.callID, agent)
		r.commands = line.cmds
	}
	r.agent = nil
	by := "agent"
	defer func() {
		r.bridgeDone, r.commands = nil, nil
		if line != nil {
			r.opts.Desk.close(line)
		}
		if by != "agent" {
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = br.Hangup(hctx)
			cancel()
		}
		st := br.Stats()
		r.emit("Dial", &event.Unbridged{By: by, DurationMS: r.clock.Now().Sub(started).Milliseconds(),
			FramesSkipped: st.FramesSkipped, MaxDelayMS: st.MaxDelay.Milliseconds()})
		r.agent = nil
	}()
	if pay != nil {
		if _, err := r.agentStart(ctx, br, agent, AgentPaymentParams{}, pay); err != nil {
			r.log.Warn("Dial: the plan's agent payment did not open", "pos", pay.Pos.String(), "err", err)
		}
	}
	limitAt := started.Add(limit)
	for {
		wake := limitAt
		if a := r.agent; a != nil && a.current != "" && !a.deadline.IsZero() && a.deadline.Before(wake) {
			wake = a.deadline
		}
		ev := r.wait(ctx, r.clock.After(max(wake.Sub(r.clock.Now()), 0)), nil)
		switch ev.kind {
		case wDigit:
			r.agentKey(br, r.agent, ev.digit)
		case wTimer:
			now := r.clock.Now()
			if !now.Before(limitAt) {
				by = "time-limit"
				r.agentEnd(br, r.agent, callplan.PayResultAgentHungUp)
				return nil
			}
			if a := r.agent; a != nil && a.current != "" && !a.deadline.IsZero() && !now.Before(a.deadline) {
				r.agentFieldEnd(br, a, true)
			}
		case wCommand:
			r.serveDesk(ctx, br, agent, ev.cmd)
		case wBridgeEnd:
			r.agentEnd(br, r.agent, callplan.PayResultAgentHungUp)
			return nil
		case wHangup:
			by = "caller"
			r.agentEnd(br, r.agent, callplan.PayResultHungUp)
			return r.callerGone()
		default:
			by = "paybridge"
			r.agentEnd(br, r.agent, callplan.PayResultInternalError)
			if ev.err == nil {
				ev.err = errors.New("bridge wait failed")
			}
			return &endSignal{ResultError, "cancelled: " + ev.err.Error()}
		}
	}
}
