package regs

import "golang.org/x/sys/cpu"

// The widest vector registers this CPU and OS use, read once.
var (
	hasAVX    = cpu.X86.HasAVX
	hasAVX512 = cpu.X86.HasAVX512F
)

// Clear zeroes the calling thread's vector registers and the general-purpose registers Go
// code uses as scratch. It is cheap (a few dozen instructions) and safe to call from any
// goroutine at any point: Go treats all of them as clobbered across a call.
func Clear() {
	if disabled.Load() {
		return
	}
	switch {
	case hasAVX512:
		clearAVX512()
	case hasAVX:
		clearAVX()
	default:
		clearSSE()
	}
}

// Implemented in clear_amd64.s.
func clearSSE()
func clearAVX()
func clearAVX512()
