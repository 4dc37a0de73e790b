//go:build paybridge_upperbound || paybridge_upperbound_gc

package app

import "os"

// Only the measurement builds of issue 17's upper-bound experiment (tag paybridge_upperbound,
// or paybridge_upperbound_gc for this lever alone; docs/sip.md "What the goals would take:
// every guarantee off") run serve (and serveprof) with the runtime's
// own GOGC=100 instead of serveGCPercent: GOGC in the environment is an operator's choice
// that SetServeGC honours (gc.go), and the runtime read it as unset (100) before this ran. No
// Makefile target builds with this tag.
func init() {
	if os.Getenv("GOGC") == "" {
		os.Setenv("GOGC", "100")
	}
}
