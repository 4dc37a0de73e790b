package dtmf

import (
	"fmt"
	"strings"
	"testing"
)

func TestDigitMasksAndMaps(t *testing.T) {
	if s := fmt.Sprintf("%v %s", Digit('7'), Digit('7')); strings.Contains(s, "7") {
		t.Fatalf("Digit prints itself: %q", s)
	}
	for code := uint8(0); code < 16; code++ {
		d, ok := DigitFromEvent(code)
		if !ok || d.EventCode() != int(code) {
			t.Fatalf("event %d -> %c -> %d", code, d.Char(), d.EventCode())
		}
	}
	if _, ok := DigitFromEvent(16); ok {
		t.Fatal("event 16 is not a digit")
	}
	if d, ok := ParseDigit('b'); !ok || d.Char() != 'B' {
		t.Fatal("ParseDigit('b')")
	}
	if Digit('x').Valid() {
		t.Fatal("'x' is not a DTMF key")
	}
}
