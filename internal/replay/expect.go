package replay

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Match compares a replay's output with an expectation: a JSON document that is a subset of
// it. Objects match when every key of the expectation is present and matches (extra keys in
// the output are fine); arrays match when the expected elements match output elements in the
// same order (a subsequence: other events may come between); numbers, strings, booleans and
// null match when equal. It returns one line per difference, "path: expected X, got Y",
// sorted, or nil when the output matches.
func Match(expected, actual any) []string {
	var diffs []string
	match("$", normalize(expected), normalize(actual), &diffs)
	sort.Strings(diffs)
	return diffs
}

// MatchJSON is Match for an expectation given as JSON text and any output value.
func MatchJSON(expectJSON []byte, output any) ([]string, error) {
	var exp any
	if err := json.Unmarshal(expectJSON, &exp); err != nil {
		return nil, fmt.Errorf("expect file is not JSON: %w", err)
	}
	return Match(exp, output), nil
}

// normalize turns any value into the generic JSON shape (map[string]any, []any, float64, …).
func normalize(v any) any {
	switch v.(type) {
	case map[string]any, []any, string, float64, bool, nil:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func match(path string, exp, act any, diffs *[]string) {
	switch e := exp.(type) {
	case map[string]any:
		a, ok := act.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: expected an object, got %s", path, show(act)))
			return
		}
		for k, ev := range e {
			av, ok := a[k]
			if !ok {
				*diffs = append(*diffs, fmt.Sprintf("%s.%s: expected %s, missing", path, k, show(ev)))
				continue
			}
			match(path+"."+k, ev, av, diffs)
		}
	case []any:
		a, ok := act.([]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: expected an array, got %s", path, show(act)))
			return
		}
		j := 0
		for i, ev := range e {
			found := false
			for ; j < len(a); j++ {
				var d []string
				match("", ev, a[j], &d)
				if len(d) == 0 {
					found = true
					j++
					break
				}
			}
			if !found {
				*diffs = append(*diffs, fmt.Sprintf("%s[%d]: expected %s, not found (in order) in the output", path, i, show(ev)))
				return
			}
		}
	default:
		if !equalScalar(exp, act) {
			*diffs = append(*diffs, fmt.Sprintf("%s: expected %s, got %s", path, show(exp), show(act)))
		}
	}
}

func equalScalar(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	}
	return false
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}
