package cardsafe

import (
	"github.com/paybridge/paybridge/internal/cardsafe/regs"
	"github.com/paybridge/paybridge/pan"
)

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

// ClearRegisters zeroes the calling thread's vector and scratch registers (regs.Clear): call
// it where card digits have just been copied or parsed and the buffers stay alive, before the
// goroutine may block — a thread that goes idle keeps its registers, and a core image holds
// every thread's. Wipe (through pan.Zero) does it too. The control build leaves them.
func ClearRegisters() {
	if keepCards {
		return
	}
	regs.Clear()
}
