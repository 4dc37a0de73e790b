package pan

import "github.com/paybridge/paybridge/internal/cardsafe/regs"

// Zero overwrites p with zero bytes. Every byte slice that has held a digit of a card —
// a provider request body built with AppendTo, a form body, a scratch copy — goes through
// Zero (or SecureBuffer.Wipe) before it is dropped, so the garbage collector never frees
// memory that still holds one.
//
// It then clears the calling thread's vector and scratch registers (regs.Clear): copying,
// comparing and zeroing the digits went through them, and a thread that goes idle keeps them,
// where a core dump or a debugger reads them (docs/gateway.md, "Card data in memory").
func Zero(p []byte) {
	clear(p)
	regs.Clear()
}
