//go:build !amd64

package regs

// Clear does nothing on this architecture (see the package documentation).
func Clear() {}
