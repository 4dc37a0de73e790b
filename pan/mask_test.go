package pan

import (
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "",
		"7":                    "*",
		"123":                  "***",
		"12345678901":          "***********",
		"501800000009":         "********0009", // 12: Maestro's shortest
		"4242424242424242":     "************4242",
		"378282246310005":      "***********0005",
		"4242424242424242424":  "***************2424",
		"42424242424242424242": strings.Repeat("*", 20), // 20 digits: no card, no last four
	} {
		if got := Mask([]byte(in)); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
		if !ValidMask(Mask([]byte(in))) {
			t.Errorf("ValidMask refuses the mask of %q", in)
		}
	}
}

func TestValidMask(t *testing.T) {
	for s, want := range map[string]bool{
		"": true, "************4242": true, "***": true, "***********0005": true, "********0009": true,
		"4242424242424242": false, "****4242": false, "**42**": false, "****-4242": false,
		"************42424": false, strings.Repeat("*", 30): false, "****************42424242": false,
		"*******************4242": false, // 23: no card has that length
	} {
		if got := ValidMask(s); got != want {
			t.Errorf("ValidMask(%q) = %v, want %v", s, got, want)
		}
	}
}
