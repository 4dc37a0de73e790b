//go:build paybridge_upperbound

package main

import "os"

// Only the measurement build of issue 17's upper-bound experiment (tag paybridge_upperbound;
// docs/sip.md "What the goals would take: every guarantee off") runs serve with the runtime's
// own GOGC=100 instead of serveGCPercent: GOGC in the environment is an operator's choice
// that setServeGC honours (gc.go), and the runtime read it as unset (100) before this ran. No
// Makefile target builds with this tag.
func init() {
	if os.Getenv("GOGC") == "" {
		os.Setenv("GOGC", "100")
	}
}
