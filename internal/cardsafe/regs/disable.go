package regs

import "sync/atomic"

var disabled atomic.Bool

// Disable turns Clear into a no-op for the rest of the process's life. It exists for the
// controls of tests (a child process that must leave its registers as the code did before
// Clear existed); nothing in paybridge's commands calls it.
func Disable() { disabled.Store(true) }
