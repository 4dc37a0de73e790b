package suggest

import (
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
	cands := []string{"maxDigits", "finishOnKey", "Play", "Gather", "Menu", "SayDigits", "Hangup", "Pay", "SendPaymentLink"}
	for _, tt := range tests {
		if got := Closest(tt.got, cands); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.got, got, tt.want)
		}
	}
	if DidYouMean("Gathr", cands) != ` (did you mean "Gather"?)` || DidYouMean("zzz", cands) != "" {
		t.Error("DidYouMean format")
	}
}
