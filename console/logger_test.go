package console

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

type stringer string

func (s stringer) String() string { return string(s) }

func TestRedactingLogger(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log, err := NewLogger(&buf, format, "debug")
		if err != nil {
			t.Fatal(err)
		}
		log = log.With("pan", testPANs[0])
		log.WithGroup("g").Info("card "+testPANs[1]+" declined",
			"err", errors.New("provider said 5555-5555-5555-4444 is bad"),
			"n", int64(378282246310005),
			"s", stringer("x 4242 4242 4242 4242"),
			"grp", []any{"a", testPANs[2]},
			"cvv", "737", "exp_month", 12,
			"ok", "call-1")
		out := buf.String()
		for _, pan := range testPANs {
			if strings.Contains(out, pan) {
				t.Errorf("%s log holds %s: %s", format, pan, out)
			}
		}
		if strings.Contains(out, "737") || strings.Contains(out, "exp_month=12") || strings.Contains(out, `"exp_month":12`) {
			t.Errorf("%s log holds the security code or the expiry month: %s", format, out)
		}
		for _, want := range []string{"************4242", "************4444", "call-1", "***"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s log lacks %q: %s", format, want, out)
			}
		}
	}
	var buf bytes.Buffer
	log, _ := NewLogger(&buf, "text", "warn")
	log.Info("hidden")
	if buf.Len() != 0 {
		t.Errorf("info logged at warn level")
	}
	for _, bad := range [][2]string{{"xml", "info"}, {"text", "loud"}, {"json", ""}} {
		if _, err := NewLogger(&buf, bad[0], bad[1]); err == nil {
			t.Errorf("NewLogger(%q, %q) accepted", bad[0], bad[1])
		}
	}
}
