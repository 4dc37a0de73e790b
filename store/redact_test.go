package store

import (
	"strings"
	"testing"
)

func TestRedactPANs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"no digits", "no digits"},
		{"4242424242424242", "************4242"},
		{"card 4242424242424242.", "card ************4242."},
		{"4242 4242 4242 4242", "************4242"},
		{"5555-5555-5555-4444 ok", "************4444 ok"},
		{"amex 378282246310005", "amex ***********0005"},
		{"4242424242424241", "4242424242424241"},                 // fails Luhn
		{"+4242424242424242", "+4242424242424242"},               // E.164 phone, kept
		{"424242424242424242424242", "424242424242424242424242"}, // 24 digits: not a PAN
		{"12345", "12345"},
		{"a4242424242424242b", "a************4242b"},
		{"4242424242424242 and 5555555555554444", "************4242 and ************4444"},
		{"4242  4242424242424", "4242  4242424242424"},             // double space breaks the run
		{"ref 1234 4242424242424242", "ref 1234 ************4242"}, // a PAN after a reference
		{"42424242424242420 x", "42424242424242420 x"},             // 17 digits, not Luhn
	}
	for _, tt := range tests {
		if got := redactPANs(tt.in); got != tt.want {
			t.Errorf("redactPANs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidMask(t *testing.T) {
	for s, want := range map[string]bool{
		"": true, "************4242": true, "***": true, "***********0005": true,
		"4242424242424242": false, "****4242": false, "**42**": false, "****-4242": false,
		"************42424": false, strings.Repeat("*", 30): false,
	} {
		if got := validMask(s); got != want {
			t.Errorf("validMask(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestRedactRawJSON(t *testing.T) {
	in := `{"a":"4242424242424242","n":4242424242424242,"k":[1,"x 5555555555554444"],"ok":12}`
	got := redactRawJSON([]byte(in))
	for _, pan := range testPANs {
		if strings.Contains(got, pan) {
			t.Fatalf("redactRawJSON left %s in %s", pan, got)
		}
	}
	if !strings.Contains(got, `"ok":12`) || !strings.Contains(got, `"************4242"`) {
		t.Errorf("redactRawJSON = %s", got)
	}
	if got := redactRawJSON([]byte("not json 4242424242424242")); got != "not json ************4242" {
		t.Errorf("plain text: %s", got)
	}
}

func FuzzRedactPANs(f *testing.F) {
	for _, s := range []string{"4242424242424242", "4242 4242 4242 4242", "+4242424242424242", "x378282246310005y", "5555-5555-5555-4444", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := redactPANs(s)
		if len(out) > len(s) {
			t.Fatalf("output longer than input: %q → %q", s, out)
		}
		for _, pan := range testPANs {
			if strings.Contains(out, pan) && !embedded(out, pan) {
				t.Fatalf("PAN survived: %q → %q", s, out)
			}
		}
	})
}

// embedded reports whether every occurrence of pan in s is part of a longer ungrouped digit
// run or a phone number (then it is not a PAN on its own and is kept).
func embedded(s, pan string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], pan)
		if j < 0 {
			return true
		}
		j += i
		before := j > 0 && (isDigit(s[j-1]) || s[j-1] == '+')
		end := j + len(pan)
		after := end < len(s) && isDigit(s[end])
		if !before && !after {
			return false
		}
		i = j + 1
	}
}

func FuzzRedactRawJSON(f *testing.F) {
	for _, s := range []string{`{"a":"4242424242424242"}`, `[4242424242424242]`, `"x"`, `{`, `null`, `1e400`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = redactRawJSON(b) // must not panic
	})
}
