package cardsafe

import (
	"os"
	"strings"
	"syscall"
)

// Card data and asynchronous preemption.
//
// The Go runtime stops a goroutine that has run too long, or that the garbage collector needs
// to scan, by sending its thread a signal (SIGURG). The kernel then saves every register of the
// thread, the vector registers included, into a frame on the thread's signal stack, and the
// runtime saves X0–X15 again into an area of its own in the heap (per P, and per goroutine
// while it is stopped). Copying, comparing or scanning bytes — memmove, bytes.IndexByte, a
// string comparison — goes through those vector registers, in paybridge's own code and in
// net/http's alike, so a preemption landing while a card request is being copied or parsed
// leaves 16-byte pieces of it (a whole card number and security code, for a request of 129 to
// 256 bytes) in memory that no Wipe can reach: the core image of a busy serve held them.
//
// GODEBUG=asyncpreemptoff=1 turns that preemption off; goroutines are then preempted only at
// function calls, where no register is saved to memory. The processes that handle card data
// (serve, sandbox) run with it: [ExecWithoutAsyncPreemption] starts them again with it set.

// asyncPreemptOff is the GODEBUG setting card-handling processes run with.
const asyncPreemptOff = "asyncpreemptoff=1"

// AsyncPreemption reports how GODEBUG value godebug sets asynchronous preemption: off is
// true when the last asyncpreemptoff setting is 1, set when there is any (the runtime reads
// the settings left to right, the last one wins).
func AsyncPreemption(godebug string) (off, set bool) {
	for _, kv := range strings.Split(godebug, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok && k == "asyncpreemptoff" {
			off, set = v == "1", true
		}
	}
	return off, set
}

// WithoutAsyncPreemption returns environ (KEY=value entries) with asyncpreemptoff=1 added to
// GODEBUG, and whether it changed anything: nothing is changed when GODEBUG already sets
// asyncpreemptoff, to either value.
func WithoutAsyncPreemption(environ []string) ([]string, bool) {
	out := make([]string, 0, len(environ)+1)
	found := false
	for _, e := range environ {
		v, ok := strings.CutPrefix(e, "GODEBUG=")
		if !ok {
			out = append(out, e)
			continue
		}
		if found {
			continue // a duplicate: the runtime reads the first
		}
		found = true
		if _, set := AsyncPreemption(v); set {
			return environ, false
		}
		if v = strings.Trim(v, ","); v != "" {
			v += ","
		}
		out = append(out, "GODEBUG="+v+asyncPreemptOff)
	}
	if !found {
		out = append(out, "GODEBUG="+asyncPreemptOff)
	}
	return out, true
}

// ExecWithoutAsyncPreemption replaces the running process with the same binary and arguments
// and GODEBUG's asyncpreemptoff=1 added (the process id, open files and standard streams stay).
// Call it first thing in main, before any card data is handled. It returns nil when the
// process already runs without asynchronous preemption, ErrAsyncPreemptOn when GODEBUG sets
// asyncpreemptoff=0 (the operator's choice is honoured, and reported), and the exec's error if the binary cannot be run again
// (then the process goes on with preemption on; the caller says so).
func ExecWithoutAsyncPreemption() error {
	env, changed := WithoutAsyncPreemption(os.Environ())
	if !changed {
		if off, _ := AsyncPreemption(os.Getenv("GODEBUG")); !off {
			return ErrAsyncPreemptOn
		}
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return syscall.Exec(exe, os.Args, env)
}

// AsyncPreemptionOff reports whether this process runs without asynchronous preemption.
func AsyncPreemptionOff() bool {
	off, _ := AsyncPreemption(os.Getenv("GODEBUG"))
	return off
}
