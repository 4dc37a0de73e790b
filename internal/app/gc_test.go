package app

import (
	"runtime/debug"
	"testing"
)

func TestSetServeGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct {
		gogc string
		want int // the collector's percentage afterwards
		set  bool
	}{
		{"", serveGCPercent, true},
		{"100", 100, false},
		{"200", 100, false}, // the runtime applied GOGC at start: SetServeGC leaves the collector as it is
		{"off", 100, false},
	} {
		debug.SetGCPercent(100)
		getenv := func(k string) string {
			if k == "GOGC" {
				return tc.gogc
			}
			return ""
		}
		p, set := SetServeGC(getenv)
		if got := debug.SetGCPercent(100); got != tc.want || set != tc.set || (set && p != tc.want) {
			t.Errorf("GOGC=%q: collector at %d%% (set %v, reported %d), want %d%% (set %v)", tc.gogc, got, set, p, tc.want, tc.set)
		}
	}
	if serveGCPercent >= 100 || serveGCPercent <= 0 {
		t.Fatalf("serveGCPercent %d: the default must be below the runtime's 100 and positive", serveGCPercent)
	}
}
