//go:build paybridge_upperbound || paybridge_upperbound_store

package store

import (
	"fmt"
	"os"
)

// upperBound is true only in the measurement builds of issue 17's upper-bound experiment
// (tags paybridge_upperbound, paybridge_upperbound_store; docs/sip.md "What the goals would
// take: every guarantee off"): the SQLite writer runs with synchronous=OFF, so a write that
// returned can be lost by a power cut. No Makefile target builds with these tags; such a
// binary must never hold real records, so it says so on every start.
const upperBound = true

func init() {
	fmt.Fprintln(os.Stderr, "paybridge: MEASUREMENT BUILD (paybridge_upperbound): synchronous=OFF and a reduced call timeline; never use this binary for real calls")
}
