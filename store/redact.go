package store

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The store is the last line of defence for card data. Card digits are never handed to it —
// the Pay step keeps them in a dtmf.SecureBuffer — but free text reaches it from many places
// (provider error messages, references a caller keyed in, event fields, webhook payloads,
// admin notes). Every such string passes through redactPANs before it is written: any run of
// 13–19 digits (optionally grouped by single spaces or dashes) that passes the Luhn check is
// replaced by the canonical mask, so a PAN that slips through upstream still never lands on
// disk. Runs that follow a '+' are E.164 phone numbers and are kept.

// maskLen is the canonical mask: n characters, all '*' except the last four digits when
// n ≥ 12. It matches dtmf.MaskLen (store may not import dtmf; a test checks they agree).
func maskLen(n int, last4 string) string {
	if n <= 0 {
		return ""
	}
	out := make([]byte, n)
	for i := range out {
		out[i] = '*'
	}
	if n >= 12 && len(last4) == 4 {
		copy(out[n-4:], last4)
	}
	return string(out)
}

// validMask reports whether s is empty or a canonical mask: '*'s followed by at most four
// digits, the digits only when the mask is 12 characters or longer.
func validMask(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > 24 {
		return false
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '*':
			if digits > 0 {
				return false
			}
		case c >= '0' && c <= '9':
			digits++
		default:
			return false
		}
	}
	if digits == 0 {
		return true
	}
	return digits == 4 && len(s) >= 12
}

// luhn reports whether the digits pass the Luhn check.
func luhn(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// redactPANs returns s with every Luhn-valid run of 13–19 digits replaced by its mask. A run
// may be grouped by single spaces or dashes ("4242 4242 4242 4242"); within a longer grouped
// run (a reference followed by a card number) every span of whole groups is checked, so the
// card is still found. A single ungrouped run longer than 19 digits is an id, not a PAN.
func redactPANs(s string) string {
	var out []byte // nil until the first replacement
	last := 0
	type group struct{ start, end int }
	var groups []group
	var digits []byte
	for i := 0; i < len(s); {
		if !isDigit(s[i]) || (i > 0 && (isDigit(s[i-1]) || s[i-1] == '+')) {
			i++
			continue
		}
		// Collect the groups of one run.
		groups = groups[:0]
		j := i
		for {
			k := j
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			groups = append(groups, group{j, k})
			if k+1 < len(s) && (s[k] == ' ' || s[k] == '-') && isDigit(s[k+1]) {
				j = k + 1
				continue
			}
			break
		}
		for g := 0; g < len(groups); {
			found := -1
			n := 0
			for m := g; m < len(groups); m++ {
				n += groups[m].end - groups[m].start
				if n > 19 {
					break
				}
				if n >= 13 {
					digits = digits[:0]
					for _, gr := range groups[g : m+1] {
						digits = append(digits, s[gr.start:gr.end]...)
					}
					if luhn(digits) {
						found = m
					}
				}
			}
			if found < 0 {
				g++
				continue
			}
			digits = digits[:0]
			for _, gr := range groups[g : found+1] {
				digits = append(digits, s[gr.start:gr.end]...)
			}
			if out == nil {
				out = make([]byte, 0, len(s))
			}
			start := groups[g].start
			out = append(out, s[last:start]...)
			out = append(out, maskLen(len(digits), string(digits[len(digits)-4:]))...)
			last = groups[found].end
			g = found + 1
		}
		for k := range digits {
			digits[k] = 0
		}
		i = groups[len(groups)-1].end
	}
	if out == nil {
		return s
	}
	return string(append(out, s[last:]...))
}

// redactValue walks a decoded JSON-like value and redacts every string and every number that
// spells a PAN.
func redactValue(v any) any {
	switch x := v.(type) {
	case string:
		return redactPANs(x)
	case map[string]any:
		for k, e := range x {
			x[k] = redactValue(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = redactValue(e)
		}
		return x
	case float64:
		if x == math.Trunc(x) && x >= 1e12 && x < 1e19 {
			s := strconv.FormatFloat(x, 'f', 0, 64)
			if r := redactPANs(s); r != s {
				return r
			}
		}
		return x
	case json.Number:
		if r := redactPANs(x.String()); r != x.String() {
			return r
		}
		return x
	case int, int64, uint64, int32, uint32, uint, json.Marshaler, fmt.Stringer:
		s := fmt.Sprint(x)
		if r := redactPANs(s); r != s {
			return r
		}
		return x
	}
	return v
}

// redactJSON returns fields safe to store: every string redacted. Fields must be a JSON
// object (or empty).
func redactJSON(fields json.RawMessage) (string, error) {
	if len(fields) == 0 || string(fields) == "null" {
		return "", nil
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(fields, &probe); err != nil {
		return "", fmt.Errorf("%w: event fields are not a JSON object: %v", ErrInvalid, err)
	}
	return redactRawJSON(fields), nil
}

// redactRawJSON redacts a JSON document; text that is not JSON is redacted as plain text.
func redactRawJSON(raw []byte) string {
	if !mayHoldPAN(raw) {
		return string(raw)
	}
	var v any
	dec := json.NewDecoder(bytesReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		return redactPANs(string(raw))
	}
	out, err := json.Marshal(redactValue(v))
	if err != nil {
		return redactPANs(string(raw))
	}
	return string(out)
}

func bytesReader(b []byte) *strings.Reader { return strings.NewReader(string(b)) }

// RedactPANs masks every card number in free text (see the package comment). The console's log
// handler and live feed use it as their last line of defence too.
func RedactPANs(s string) string { return redactPANs(s) }

// RedactJSON masks every card number in a JSON document's strings and numbers; text that is
// not JSON is redacted as plain text.
func RedactJSON(raw []byte) []byte { return []byte(redactRawJSON(raw)) }

// mayHoldPAN is the fast path: false when raw has no run of 13 digits (separators allowed),
// so nothing could need redacting.
func mayHoldPAN(raw []byte) bool {
	n := 0
	for _, c := range raw {
		switch {
		case isDigit(c):
			n++
			if n >= 13 {
				return true
			}
		case c == ' ' || c == '-':
		default:
			n = 0
		}
	}
	return false
}
