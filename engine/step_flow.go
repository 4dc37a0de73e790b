package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/paybridge/paybridge/callplan"
)

// maxPlayLoops bounds <Play loop="0"> (TwiML: repeat until a key or the end of the call).
const maxPlayLoops = 1000

// bargeInFor resolves a Play's barge-in: what the plan said, else whether next takes input.
func bargeInFor(explicit *bool, next callplan.Step) bool {
	if explicit != nil {
		return *explicit
	}
	return next != nil && takesInput(next)
}

func (r *run) stepPlay(ctx context.Context, s *callplan.PlayStep, next callplan.Step) error {
	items := r.items(s.Prompts)
	loops := s.Loop
	if loops == 0 {
		loops = maxPlayLoops
	}
	barge := bargeInFor(s.BargeIn, next)
	for range loops {
		stop, err := r.playItems(ctx, items, barge)
		if err != nil || stop {
			return err
		}
	}
	return nil
}

func (r *run) stepSayDigits(ctx context.Context, s *callplan.SayDigitsStep, next callplan.Step) error {
	_, err := r.play(ctx, s.Prompts(r.expand(s.Value)), bargeInFor(nil, next))
	return err
}

func (r *run) stepSayCharacters(ctx context.Context, s *callplan.SayCharactersStep, next callplan.Step) error {
	_, err := r.play(ctx, s.Prompts(r.expand(s.Value)), bargeInFor(nil, next))
	return err
}

func (r *run) stepSayAmount(ctx context.Context, s *callplan.SayAmountStep, next callplan.Step) error {
	names, err := s.Prompts(r.expand(s.Value), r.expand(s.Currency))
	if err != nil {
		r.log.Warn("SayAmount: cannot say the amount", "pos", s.Pos.String(), "err", err)
		return nil
	}
	_, err = r.play(ctx, names, bargeInFor(nil, next))
	return err
}

func (r *run) stepPause(ctx context.Context, s *callplan.PauseStep) error {
	return r.sleep(ctx, s.Length)
}

func (r *run) stepSet(s *callplan.SetStep) error {
	r.set(s.Var, r.expand(s.Value))
	r.trustSet(s)
	return nil
}

func (r *run) stepIf(ctx context.Context, s *callplan.IfStep) error {
	for i, b := range s.Branches {
		ok, err := b.Test.Eval(r.lookup)
		if err != nil {
			// A test that cannot be evaluated is false; the call goes on.
			r.log.Warn("If: test failed to evaluate", "pos", b.Pos.String(), "err", err)
			continue
		}
		if ok {
			r.frameOutcome(branchOutcome(i, len(s.Branches), s.Else != nil))
			return r.execList(ctx, b.Steps)
		}
	}
	r.frameOutcome(branchOutcome(len(s.Branches), len(s.Branches), s.Else != nil))
	return r.execList(ctx, s.Else)
}

func (r *run) stepSwitch(ctx context.Context, s *callplan.SwitchStep) error {
	v := r.expand(s.Value)
	for _, c := range s.Cases {
		if slices.Contains(c.Is, v) {
			r.frameOutcome(fmt.Sprintf("case %q", v))
			return r.execList(ctx, c.Steps)
		}
	}
	r.frameOutcome(fmt.Sprintf("%q: default", v))
	return r.execList(ctx, s.Default)
}

func (r *run) stepTransfer(ctx context.Context, s *callplan.TransferStep) error {
	to := r.expand(s.To)
	if err := r.ch.Transfer(ctx, to); err != nil {
		if errors.Is(err, ErrHangup) {
			return r.callerGone()
		}
		// A failed transfer leaves the caller on the line: the flow continues.
		r.log.Warn("transfer failed", "pos", s.Pos.String(), "err", err)
		r.set("Transfer.Result", "failed")
		return nil
	}
	r.set("Transfer.Result", "success")
	return &endSignal{ResultTransferred, to}
}

func (r *run) stepHangup(ctx context.Context, s *callplan.HangupStep) error {
	reason := s.Reason
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := r.ch.Hangup(hctx, reason); err != nil && !errors.Is(err, ErrHangup) {
		r.log.Warn("hangup failed", "err", err)
	}
	return &endSignal{ResultHangup, reason}
}
