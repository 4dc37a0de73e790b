package callplan

import (
	"strings"
	"testing"
)

func TestLevenshtein(t *testing.T) {
	tests := []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"gather", "gather", 0},
		{"gathr", "gather", 1}, {"kitten", "sitting", 3}, {"flaw", "lawn", 2},
	}
	for _, tt := range tests {
		if got := levenshtein(tt.a, tt.b); got != tt.d {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.d)
		}
		if got := levenshtein(tt.b, tt.a); got != tt.d {
			t.Errorf("levenshtein is not symmetric for %q, %q", tt.a, tt.b)
		}
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		got  string
		want string
	}{
		{"Gathr", "Gather"},
		{"gather", "Gather"},       // case only: always suggested
		{"GATHER", "Gather"},       // case only
		{"maxdigits", "maxDigits"}, // case only
		{"finishOnkey", "finishOnKey"},
		{"SayDigit", "SayDigits"},
		{"Hangpu", "Hangup"}, // transposition = 2 edits, allowed for 6 letters
		{"Xyz", ""},          // nothing close
		{"Paymentlinks", ""}, // too far from anything
		{"", ""},
	}
	cands := append([]string{"maxDigits", "finishOnKey"}, stepNames...)
	for _, tt := range tests {
		if got := Suggest(tt.got, cands); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.got, got, tt.want)
		}
	}
	if didYouMean("Gathr", cands) != ` (did you mean "Gather"?)` || didYouMean("zzz", cands) != "" {
		t.Error("didYouMean format")
	}
}

func TestMaskCardRuns(t *testing.T) {
	tests := []struct{ in, want string }{
		{"value 4242424242424242 here", "value ************4242 here"},
		{"spaced 4242 4242 4242 4242.", "spaced ************4242."},
		{"dashed 3782-822463-10005", "dashed ***********0005"},
		{"amex 378282246310005", "amex ***********0005"},
		{"phone +441632960000 stays", "phone +441632960000 stays"},
		{"phone +4242424242424242 (16 after +) masked", "phone +************4242 (16 after +) masked"},
		{"short 12345678901 stays", "short 12345678901 stays"},
		{"twelve 123456789012 stays (not Luhn)", "twelve 123456789012 stays (not Luhn)"},
		{"long 12345678901234567890123", "long " + strings.Repeat("*", 19) + "0123"},
		{"at 1:2: fine", "at 1:2: fine"},
	}
	for _, tt := range tests {
		if got := maskCardRuns(tt.in); got != tt.want {
			t.Errorf("maskCardRuns(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
