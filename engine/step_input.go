package engine

import (
	"context"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/pan"
)

// Gather results ($(Var.Result)).
const (
	gatherSuccess = "success"
	gatherTimeout = "timeout"
	gatherInvalid = "invalid"
	gatherHungUp  = "caller-hung-up"
)

// stepGather collects up to Max keys into Var. Each attempt plays Prompt (barge-in), waits
// FirstDigitTimeout for the first key and Timeout between keys, and ends on FinishOnKey (not
// kept), on Max keys, or on a timeout. An entry shorter than Min or not matching Pattern is
// invalid (InvalidPrompt, default gather-invalid); no key at all is a timeout (TimeoutPrompt,
// default gather-timeout). After the last failed attempt $(Var) is "" and the flow goes on.
func (r *run) stepGather(ctx context.Context, s *callplan.GatherStep) error {
	attempts := max(s.Attempts, 1)
	first := s.FirstDigitTimeout
	if first <= 0 {
		first = s.Timeout
	}
	result := gatherTimeout
	for attempt := 1; attempt <= attempts; attempt++ {
		if _, err := r.playItems(ctx, r.items(s.Prompt), true); err != nil {
			return r.gatherEnd(s, err)
		}
		// Sized once, so that a card typed here by mistake leaves no stray copies when refused.
		entry := make([]byte, 0, s.Max)
		finished := false
		var firstKey time.Time
		for len(entry) < s.Max || s.Max <= 0 {
			timeout := s.Timeout
			if len(entry) == 0 {
				timeout = first
			}
			d, ok, err := r.nextKey(ctx, timeout)
			if err != nil {
				return r.gatherEnd(s, err)
			}
			if !ok {
				break
			}
			if firstKey.IsZero() {
				firstKey = r.clock.Now()
			}
			if s.FinishOnKey != "" && d.Char() == s.FinishOnKey[0] {
				finished = true
				break
			}
			entry = append(entry, d.Char())
		}
		if !finished && s.Max > 0 && len(entry) >= s.Max && s.FinishOnKey != "" {
			r.expectHabit(s.FinishOnKey[0], s.Timeout)
		}
		// A caller who types a card at the wrong prompt never puts it into a variable, a log
		// or an API request: an entry that is a complete card number is refused and zeroed.
		var entryMS int64
		if !firstKey.IsZero() {
			entryMS = r.clock.Now().Sub(firstKey).Milliseconds()
		}
		looksLikeCard := pan.Valid(entry)
		if looksLikeCard {
			pan.Zero(entry)
		}
		switch {
		case len(entry) == 0 && !finished:
			result = gatherTimeout
		case looksLikeCard:
			result = gatherInvalid
			r.emit("Gather", &event.GatherCardRefused{Var: s.Var, Digits: len(entry), Attempt: attempt})
		case len(entry) < s.Min || s.Pattern != nil && !s.Pattern.Match(entry):
			result = gatherInvalid
		default:
			r.set(s.Var, string(entry))
			r.set(s.Var+".Result", gatherSuccess)
			r.emit("Gather", &event.Gathered{Var: s.Var, Result: gatherSuccess, Digits: len(entry), Attempt: attempt, EntryMS: entryMS})
			return nil
		}
		r.emit("Gather", &event.Gathered{Var: s.Var, Result: result, Digits: len(entry), Attempt: attempt, EntryMS: entryMS})
		prompt, def := s.InvalidPrompt, callplan.PromptGatherInvalid
		if result == gatherTimeout {
			prompt, def = s.TimeoutPrompt, callplan.PromptGatherTimeout
		}
		items := r.items(prompt)
		if len(items) == 0 {
			items = named([]string{def})
		}
		if _, err := r.playItems(ctx, items, true); err != nil {
			return r.gatherEnd(s, err)
		}
	}
	r.set(s.Var, "")
	r.set(s.Var+".Result", result)
	return nil
}

func (r *run) gatherEnd(s *callplan.GatherStep, err error) error {
	r.set(s.Var, "")
	r.set(s.Var+".Result", gatherHungUp)
	return err
}

// stepMenu waits Timeout for one key after Prompt; a key with a Choice runs that choice; any
// other key is invalid, no key a timeout, each retried up to Attempts times. After the last
// failed attempt the flow continues after the Menu with $(Var) = "".
func (r *run) stepMenu(ctx context.Context, s *callplan.MenuStep) error {
	attempts := max(s.Attempts, 1)
	for attempt := 1; attempt <= attempts; attempt++ {
		if _, err := r.playItems(ctx, r.items(s.Prompt), true); err != nil {
			return err
		}
		d, ok, err := r.nextKey(ctx, s.Timeout)
		if err != nil {
			return err
		}
		if ok {
			for _, c := range s.Choices {
				if c.Key != "" && c.Key[0] == d.Char() {
					if s.Var != "" {
						r.set(s.Var, c.Key)
					}
					r.frameOutcome("chose " + c.Key)
					r.emit("Menu", &event.MenuChosen{Choice: c.Key, Attempt: attempt})
					return r.execList(ctx, c.Steps)
				}
			}
		}
		prompt, def, result := s.InvalidPrompt, callplan.PromptMenuInvalid, "invalid"
		if !ok {
			prompt, def, result = s.TimeoutPrompt, callplan.PromptMenuTimeout, "timeout"
		}
		r.emit("Menu", &event.MenuChosen{Result: result, Attempt: attempt})
		items := r.items(prompt)
		if len(items) == 0 {
			items = named([]string{def})
		}
		if _, err := r.playItems(ctx, items, true); err != nil {
			return err
		}
	}
	if s.Var != "" {
		r.set(s.Var, "")
	}
	r.frameOutcome("no valid key")
	return nil
}
