package app

import "runtime/debug"

// serveGCPercent is the garbage collector's target serve runs with when the environment sets
// no GOGC: the heap may grow to 1.5× its live data between collections instead of the
// runtime's 2×. At 1,000 concurrent calls that is ~25 KB of resident memory a call less
// (102–111 → 79–83 KB), for about twice the collections — CPU per call-second stayed within
// this box's run-to-run noise (docs/sip.md, "GOGC and GOMEMLIMIT").
const serveGCPercent = 50

// SetServeGC applies serve's collector default; every binary that runs a node calls it before
// New (paybridge serve, and loadtest/serveprof so that its profiles show the collector serve
// runs with). An operator's GOGC (any value, "off" included) is honoured and nothing is
// changed; GOMEMLIMIT is the runtime's own and is never touched. It reports the percentage it
// set and whether it set one.
func SetServeGC(getenv func(string) string) (int, bool) {
	if getenv("GOGC") != "" {
		return 0, false
	}
	debug.SetGCPercent(serveGCPercent)
	return serveGCPercent, true
}
