package dtmf

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseInfo(t *testing.T) {
	cases := []struct {
		ct, body string
		key      byte
		dur      time.Duration
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', 160 * time.Millisecond},
		{"Application/DTMF-Relay; charset=utf-8", "signal = #\nduration= 250", '#', 250 * time.Millisecond},
		{"application/dtmf-relay", "  SIGNAL=*  \r\n\r\n", '*', 0},
		{"application/dtmf-relay", "Signal=11\r\nDuration=100\r\n", '#', 100 * time.Millisecond},
		{"application/dtmf-relay", "Signal=10\r\n", '*', 0},
		{"application/dtmf-relay", "Signal=d\r\nDuration=100\r\nX-Vendor=1\r\n", 'D', 100 * time.Millisecond},
		{"application/dtmf", "7", '7', 0},
		{"application/dtmf", " 0\r\n", '0', 0},
		{"application/dtmf", "11", '#', 0},
	}
	for _, c := range cases {
		d, dur, err := ParseInfo(c.ct, []byte(c.body))
		if err != nil || d.Char() != c.key || dur != c.dur {
			t.Errorf("ParseInfo(%q, %q) = %c %v %v, want %c %v", c.ct, c.body, d.Char(), dur, err, c.key, c.dur)
		}
	}
	bad := []struct {
		ct, body string
		err      error
	}{
		{"text/plain", "Signal=5", ErrInfoContentType},
		{"application/dtmf-relay", "Duration=160", ErrInfoBody},
		{"application/dtmf-relay", "Signal=55", ErrInfoBody},
		{"application/dtmf-relay", "Signal=x", ErrInfoBody},
		{"application/dtmf-relay", "Signal=5\nDuration=-1", ErrInfoBody},
		{"application/dtmf-relay", "Signal=16", ErrInfoBody},
		{"application/dtmf", "", ErrInfoBody},
		{"application/dtmf", "4242424242424242", ErrInfoBody},
		{"application/dtmf-relay", strings.Repeat("x", 5000), ErrInfoBody},
	}
	for _, c := range bad {
		_, _, err := ParseInfo(c.ct, []byte(c.body))
		if !errors.Is(err, c.err) {
			t.Errorf("ParseInfo(%q, %q) = %v, want %v", c.ct, c.body, err, c.err)
		}
		if err != nil && strings.Contains(err.Error(), "4242") {
			t.Errorf("error quotes the body: %v", err)
		}
	}
}

func TestFormatInfoRelayRoundTrip(t *testing.T) {
	for i := 0; i < len(keys); i++ {
		body := FormatInfoRelay(Digit(keys[i]), 160*time.Millisecond)
		d, dur, err := ParseInfo("application/dtmf-relay", body)
		if err != nil || d != Digit(keys[i]) || dur != 160*time.Millisecond {
			t.Fatalf("%q -> %c %v %v", body, d.Char(), dur, err)
		}
	}
	if got := string(FormatInfoRelay('5', 250*time.Millisecond)); got != "Signal=5\r\nDuration=250\r\n" {
		t.Fatalf("FormatInfoRelay = %q", got)
	}
}
