package callplan

import "fmt"

// checkAPIOrigins is the load-time half of the untrusted-host rule (trust.go): an
// ApiInteraction whose URL takes its scheme, host or port from a variable that may hold
// untrusted data is an error unless the step says untrustedHost="true". A variable is trusted
// only when every step that sets it is a <Set> built from literal text and trusted variables
// (or it is $(Sandbox.Url) / $(Call.StartedAt)); the engine tracks the same at run time, so a
// step this check accepts is never refused for it.
func (v *validator) checkAPIOrigins() {
	type setter struct {
		step Step
		pos  Pos
		refs []string // a <Set>'s references; nil for any other step
		set  bool     // a <Set>
	}
	setters := map[string][]setter{}
	walkSteps(v.plan.Flow, func(s Step) bool {
		_, sets := v.stepIO(s)
		for _, st := range sets {
			w := setter{step: s, pos: st.pos}
			if ss, ok := s.(*SetStep); ok && st.name == ss.Var {
				w.set = true
				refs, _ := templateVars(ss.Value)
				for _, r := range refs {
					w.refs = append(w.refs, r.Name)
				}
			}
			setters[st.name] = append(setters[st.name], w)
		}
		return true
	})
	untrustedBuiltin := map[string]bool{"Call.From": true, "Call.To": true, "Call.Id": true}
	// The greatest fixpoint: assume every variable set only by <Set> is trusted, then drop
	// those that read an untrusted one until nothing changes.
	trusted := map[string]bool{}
	for name, ws := range setters {
		ok := !untrustedBuiltin[name]
		for _, w := range ws {
			ok = ok && w.set
		}
		trusted[name] = ok
	}
	isTrusted := func(name string) bool {
		if untrustedBuiltin[name] {
			return false
		}
		t, set := trusted[name]
		return t || !set // a variable nothing sets is "" (reported elsewhere)
	}
	for changed := true; changed; {
		changed = false
		for name, ws := range setters {
			if !trusted[name] {
				continue
			}
			for _, w := range ws {
				for _, r := range w.refs {
					if !isTrusted(r) {
						trusted[name], changed = false, true
					}
				}
			}
		}
	}
	// why explains where a variable's untrusted data comes from, following <Set>s back to
	// the step that brought it in.
	var why func(name string, seen map[string]bool) string
	why = func(name string, seen map[string]bool) string {
		if untrustedBuiltin[name] {
			return "comes from the caller's SIP request"
		}
		if seen[name] {
			return "holds untrusted data"
		}
		seen[name] = true
		for _, w := range setters[name] {
			if !w.set {
				what := "a step's result"
				switch w.step.(type) {
				case *APIInteractionStep:
					what = "response data"
				case *GatherStep, *MenuStep:
					what = "the caller's keys"
				}
				return fmt.Sprintf("holds %s (set by the <%s> at %d:%d)", what, w.step.StepName(), w.pos.Line, w.pos.Col)
			}
		}
		for _, w := range setters[name] {
			for _, r := range w.refs {
				if !isTrusted(r) {
					return fmt.Sprintf("is set at %d:%d from $(%s), which %s", w.pos.Line, w.pos.Col, r, why(r, seen))
				}
			}
		}
		return "holds untrusted data"
	}
	walkSteps(v.plan.Flow, func(s Step) bool {
		api, ok := s.(*APIInteractionStep)
		if !ok || api.UntrustedHost {
			return true
		}
		refs, err := urlOriginRefs(api.Request.URL)
		if err != nil {
			return true
		}
		uses := v.templateUses(&api.Request.URL, api.Request.Pos)
		for i, r := range refs {
			if isTrusted(r.Name) {
				continue
			}
			pos := api.Request.Pos
			if i < len(uses) {
				pos = uses[i].pos
			}
			v.sink.errorf(pos, "untrusted-host", "$(%s) decides where this request goes, but it %s: a response or a caller could send the request anywhere; take the scheme and host from literal text (or a <Set> of it), or allow it with untrustedHost=\"true\" (the operator's destination allow-list still applies)", r.Name, why(r.Name, map[string]bool{}))
		}
		return true
	})
}
