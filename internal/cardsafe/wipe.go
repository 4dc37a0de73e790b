package cardsafe

import "github.com/paybridge/paybridge/pan"

// Wipe zeroes p (pan.Zero). Every buffer of the request path that has held card digits — a
// connector's request body, the wire buffer of a card-bearing request, the read buffers of its
// connection, and the sandbox's copies of a received card — goes through Wipe before it is
// released, so the garbage collector never frees memory that still holds a digit.
//
// A binary built with the test-only tag paybridge_keepcards turns Wipe into a no-op (and says
// so loudly on stderr): the control of the core-image test, which proves the scan finds the
// card when nothing zeroes it. Release builds never carry that tag; see docs/gateway.md.
func Wipe(p []byte) {
	if keepCards {
		return
	}
	pan.Zero(p)
}
