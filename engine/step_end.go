package engine

import (
	"errors"
	"fmt"
	"slices"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/pan"
)

// The end of a step, for the readable timeline (event.StepEnded): how the step came out in
// its own words, how long it took, and what it set.

// frameOutcome notes how the running step came out, when only the step knows (the branch an
// If took, the key a Menu got).
func (r *run) frameOutcome(outcome string) {
	if n := len(r.frames); n > 0 {
		r.frames[n-1].outcome = outcome
	}
}

// stepEnded builds the StepEnded event of step s, which ran in frame f and returned err.
func (r *run) stepEnded(s callplan.Step, f *stepFrame, err error) *event.StepEnded {
	ev := &event.StepEnded{Pos: s.StepPos().String(), DurationMS: r.clock.Now().Sub(f.started).Milliseconds()}
	ev.Outcome = r.outcomeOf(s, f, err)
	for _, name := range f.set { // each variable once, in the order first set, with its last value
		if slices.ContainsFunc(ev.Set, func(v event.VarSet) bool { return v.Name == name }) {
			continue
		}
		ev.Set = append(ev.Set, event.VarSet{Name: name, Value: pan.Redact(r.secrets.maskVar(name, r.vars[name]))})
	}
	return ev
}

// outcomeOf says how step s came out.
func (r *run) outcomeOf(s callplan.Step, f *stepFrame, err error) string {
	var end *endSignal
	var g *gotoSignal
	switch {
	case errors.As(err, &end) && end.result == ResultCallerHungUp:
		return "caller hung up"
	case errors.As(err, &g):
		return "goto " + g.label
	}
	switch s := s.(type) {
	case *callplan.GatherStep:
		return r.vars[s.Var+".Result"]
	case *callplan.PayStep:
		out := r.vars[s.Var+".Result"]
		if et := r.vars[s.Var+".ErrorType"]; et != "" && out != callplan.PayResultSuccess {
			out += " (" + et + ")"
		}
		return out
	case *callplan.AuthorizeStep:
		return r.vars[s.Var+".Result"]
	case *callplan.SendPaymentLinkStep:
		return r.vars[s.Var+".Result"]
	case *callplan.TransferStep:
		if end != nil && end.result == ResultTransferred {
			return "transferred to " + end.reason
		}
		return "transfer " + r.vars["Transfer.Result"]
	case *callplan.HangupStep:
		return "hung up: " + s.Reason
	case *callplan.SetStep:
		return ""
	}
	if f.outcome != "" {
		return f.outcome
	}
	switch s.(type) {
	case *callplan.PlayStep, *callplan.SayStep, *callplan.SayDigitsStep, *callplan.SayCharactersStep, *callplan.SayAmountStep:
		if f.bargedIn {
			return "barged in"
		}
		return "played"
	}
	return ""
}

// branchOutcome names the branch an If took: "then", "elseif 2", "else" or "no branch".
func branchOutcome(i, branches int, hasElse bool) string {
	switch {
	case i == 0:
		return "then"
	case i < branches:
		return fmt.Sprintf("elseif %d", i)
	case hasElse:
		return "else"
	}
	return "no branch"
}
