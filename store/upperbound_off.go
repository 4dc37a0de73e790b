//go:build !paybridge_upperbound && !paybridge_upperbound_store

package store

// upperBound is false in every real build. It exists only for one measurement (issue 17,
// session 9, docs/sip.md "What the goals would take"): see upperbound_on.go.
const upperBound = false
