package callplan

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// PlanSet is the plans a server answers with: each dialled number maps to at most one plan,
// and at most one plan is the fallback ("*").
type PlanSet struct {
	plans    []*Plan
	byNumber map[string]*Plan
	fallback *Plan
}

// NewPlanSet builds a set from parsed plans. Plans are checked against each other: two plans
// matching the same number, or two fallbacks, are errors reported at both <Match> elements,
// and neither plan keeps the number. Plans passed in are assumed valid on their own.
func NewPlanSet(plans ...*Plan) (*PlanSet, Diagnostics) {
	ps := &PlanSet{byNumber: map[string]*Plan{}}
	sink := &diagSink{}
	owners := map[string][]*Plan{}
	var fallbacks []*Plan
	for _, p := range plans {
		if p == nil {
			continue
		}
		ps.plans = append(ps.plans, p)
		for _, n := range p.Match {
			owners[n] = append(owners[n], p)
		}
		if p.Fallback {
			fallbacks = append(fallbacks, p)
		}
	}
	numbers := make([]string, 0, len(owners))
	for n := range owners {
		numbers = append(numbers, n)
	}
	sort.Strings(numbers)
	for _, n := range numbers {
		ow := owners[n]
		if len(ow) == 1 {
			continue
		}
		for _, p := range ow {
			others := otherFiles(ow, p)
			sink.errorf(matchPos(p), "duplicate-match", "number %s is matched by this plan and by %s", n, others)
		}
	}
	for n, ow := range owners {
		if len(ow) == 1 {
			ps.byNumber[n] = ow[0]
		}
	}
	switch len(fallbacks) {
	case 0:
	case 1:
		ps.fallback = fallbacks[0]
	default:
		for _, p := range fallbacks {
			sink.errorf(matchPos(p), "duplicate-match", "the fallback number * is matched by this plan and by %s", otherFiles(fallbacks, p))
		}
	}
	sink.ds.Sort()
	return ps, sink.ds
}

func matchPos(p *Plan) Pos {
	if p.MatchPos.IsValid() {
		return p.MatchPos
	}
	if p.Pos.IsValid() {
		return p.Pos
	}
	return Pos{File: p.File}
}

func otherFiles(ps []*Plan, self *Plan) string {
	var out []string
	for _, p := range ps {
		if p != self {
			pos := matchPos(p)
			out = append(out, fmt.Sprintf("%s (%s)", p.Name, pos))
		}
	}
	return strings.Join(out, ", ")
}

// LoadDir parses every *.xml file directly in dir (not in subdirectories) and builds a
// PlanSet of the plans without errors. The Diagnostics hold every problem of every file
// (warnings included) plus the cross-plan checks; a plan with an error is left out of the
// set, so it is never run. env reads #(env:…) references (nil = no environment).
func LoadDir(dir string, env func(string) string) (*PlanSet, Diagnostics) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return &PlanSet{byNumber: map[string]*Plan{}}, Diagnostics{{Pos: Pos{File: dir}, Severity: SeverityError, Code: "read",
			Message: fmt.Sprintf("cannot read plan directory: %v", unwrapPathError(err)), Err: ErrInvalidPlan}}
	}
	var all Diagnostics
	var good []*Plan
	for _, e := range entries {
		if e.IsDir() || !strings.EqualFold(filepath.Ext(e.Name()), ".xml") {
			continue
		}
		p, ds := ParseFile(filepath.Join(dir, e.Name()), env)
		all = append(all, ds...)
		if p != nil && !ds.HasErrors() {
			good = append(good, p)
		}
	}
	ps, ds := NewPlanSet(good...)
	all = append(all, ds...)
	all.Sort()
	return ps, all
}

// Plans returns the plans of the set, in the order given.
func (ps *PlanSet) Plans() []*Plan { return ps.plans }

// Match returns the plan for a dialled number (the Request-URI user part): an exact match
// first; then, for a number written without '+', the same digits with '+' (trunks often drop
// it); then the fallback plan.
func (ps *PlanSet) Match(number string) (*Plan, bool) {
	if ps == nil {
		return nil, false
	}
	n := strings.TrimSpace(number)
	n = strings.TrimPrefix(n, "tel:")
	if p, ok := ps.byNumber[n]; ok {
		return p, true
	}
	if !strings.HasPrefix(n, "+") {
		if p, ok := ps.byNumber["+"+n]; ok {
			return p, true
		}
	}
	if ps.fallback != nil {
		return ps.fallback, true
	}
	return nil, false
}
