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
	add := func(s Step, names []string) {
		for i := range names {
			if isLiteral(names[i]) {
				out = append(out, PromptRef{Name: names[i], Pos: p.posOf(&names[i], s.StepPos()), Step: s.StepName()})
			}
		}
	}
	walkSteps(p.Flow, func(s Step) bool {
		switch s := s.(type) {
		case *PlayStep:
			add(s, s.Prompts)
		case *GatherStep:
			add(s, s.Prompt)
			add(s, s.InvalidPrompt)
			add(s, s.TimeoutPrompt)
		case *MenuStep:
			add(s, s.Prompt)
			add(s, s.InvalidPrompt)
			add(s, s.TimeoutPrompt)
		case *PayStep:
			for _, pp := range s.Prompts {
				add(s, pp.Prompt)
			}
		}
		return true
	})
	return out
}
