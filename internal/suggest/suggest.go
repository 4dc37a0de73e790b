package suggest

import "strings"

// Closest returns the candidate closest to got when it is close enough to be a plausible typo
// ("Gathr" → "Gather", "maxdigits" → "maxDigits"), or "".
//
// Closeness is the Levenshtein distance between the lower-cased strings: a case-only
// difference always qualifies; otherwise the distance may be at most a third of the longer
// name (at least 1, at most 3).
func Closest(got string, candidates []string) string {
	g := strings.ToLower(got)
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := levenshtein(g, strings.ToLower(c))
		if d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	if bestD == 0 {
		return best
	}
	limit := max(len(got), len(best)) / 3
	limit = min(max(limit, 1), 3)
	if bestD <= limit {
		return best
	}
	return ""
}

// DidYouMean formats Closest as a message suffix: ` (did you mean "X"?)`, or "" when no
// candidate is close enough.
func DidYouMean(got string, candidates []string) string {
	if s := Closest(got, candidates); s != "" {
		return ` (did you mean "` + s + `"?)`
	}
	return ""
}

// levenshtein is the edit distance (insert, delete, substitute; each 1) between a and b,
// counted in bytes. Inputs are element and attribute names, so short.
func levenshtein(a, b string) int {
	if len(a) > 64 || len(b) > 64 { // names are short; a long one is no typo of a known name
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
