package siptest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseDigitScript(t *testing.T) {
	steps, err := ParseDigitScript("12w#W a-D.*")
	if err != nil {
		t.Fatal(err)
	}
	var keys strings.Builder
	var pause time.Duration
	for _, s := range steps {
		if s.Digit != 0 {
			keys.WriteByte(s.Digit.Char())
		}
		pause += s.Pause
	}
	if keys.String() != "12#AD*" || pause != 1500*time.Millisecond {
		t.Fatalf("keys %q pause %v", keys.String(), pause)
	}
	if _, err := ParseDigitScript("4242x"); err == nil || strings.Contains(err.Error(), "4242") {
		t.Fatalf("bad script: %v (the error must name the position, not the keys)", err)
	}
}

func TestParseDigitScriptWait(t *testing.T) {
	steps, err := ParseDigitScript("|12|3")
	if err != nil {
		t.Fatal(err)
	}
	var shape strings.Builder
	for _, s := range steps {
		switch {
		case s.Wait:
			shape.WriteByte('|')
		case s.Digit != 0:
			shape.WriteByte(s.Digit.Char())
		}
	}
	if shape.String() != "|12|3" {
		t.Fatalf("steps %q", shape.String())
	}
	if _, err := Dial(t.Context(), CallerConfig{Target: "sip:x@127.0.0.1:9", Digits: "|1"}); err == nil || !strings.Contains(err.Error(), "go on") {
		t.Fatalf("a waiting script with nothing to release it: %v", err)
	}
}

func ExampleParseDigitScript() {
	steps, _ := ParseDigitScript("1W#")
	fmt.Println(len(steps), steps[1].Pause)
	// Output: 3 1s
}

func FuzzParseDigitScript(f *testing.F) {
	f.Add("4242424242424242w1230W123#")
	f.Add("x")
	f.Fuzz(func(t *testing.T, s string) {
		steps, err := ParseDigitScript(s)
		if err != nil {
			return
		}
		for _, st := range steps {
			if (st.Digit == 0) == (st.Pause == 0) || st.Digit != 0 && !st.Digit.Valid() {
				t.Fatalf("bad step %+v", st)
			}
		}
	})
}
