//go:build paybridge_upperbound || paybridge_upperbound_store

package app

// upperBound is true only in the measurement builds of issue 17's upper-bound experiment
// (tags paybridge_upperbound, paybridge_upperbound_store; docs/sip.md "What the goals would
// take: every guarantee off"): a call's stored timeline keeps only its pay.completed rows, the
// ones loadtest/capacity reads to verify each payment. No Makefile target builds with these
// tags.
const upperBound = true
