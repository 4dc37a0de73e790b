package callplan

// PromptRef is one literal prompt name a plan plays. Names given as $(…) templates are only
// known at run time and are not listed.
type PromptRef struct {
	Name string
	Pos  Pos    // the attribute value that names it
	Step string // element: Play, Gather, Menu, Pay
}

// PromptRefs lists the literal prompt names of a plan in document order, so a loader can
// check them against the plan's prompt directory and the bundled pack before a caller hears
// silence. (callplan does not read audio; serve and validate do this check.)
func PromptRefs(p *Plan) []PromptRef {
	var out []PromptRef
	add := func(s Step, items []PromptItem) {
		for i := range items {
			if items[i].Say == nil && isLiteral(items[i].Name) {
				out = append(out, PromptRef{Name: items[i].Name, Pos: p.posOf(&items[i].Name, s.StepPos()), Step: s.StepName()})
			}
		}
	}
	eachPromptList(p, nil, add)
	return out
}

// SayRef is one <Say> of a plan (a step, a <Say> child, or a prompt="say:…" attribute), with
// the step it belongs to.
type SayRef struct {
	Say  *Say
	Step Step
}

// Says lists every Say of a plan in document order, for the checks and the pre-rendering of
// speech at load time.
func Says(p *Plan) []SayRef {
	var out []SayRef
	add := func(s Step, items []PromptItem) {
		for _, it := range items {
			if it.Say != nil {
				out = append(out, SayRef{Say: it.Say, Step: s})
			}
		}
	}
	eachPromptList(p, func(s *SayStep) { out = append(out, SayRef{Say: s.Say, Step: s}) }, add)
	return out
}

// eachPromptList calls list with every prompt list of the plan's steps (Play, Gather, Menu and
// Pay's per-field prompts) and say with every <Say> step (nil: not wanted), in document order.
func eachPromptList(p *Plan, say func(*SayStep), list func(s Step, items []PromptItem)) {
	walkSteps(p.Flow, func(s Step) bool {
		switch s := s.(type) {
		case *SayStep:
			if say != nil {
				say(s)
			}
		case *PlayStep:
			list(s, s.Prompts)
		case *GatherStep:
			list(s, s.Prompt)
			list(s, s.InvalidPrompt)
			list(s, s.TimeoutPrompt)
		case *MenuStep:
			list(s, s.Prompt)
			list(s, s.InvalidPrompt)
			list(s, s.TimeoutPrompt)
		case *PayStep:
			for _, pp := range s.Prompts {
				list(s, pp.Prompt)
			}
		}
		return true
	})
}
