// Command paybridge is the one binary of paybridge: the SIP/RTP payment bridge (`serve`) and the
// tools around it (`validate`, `replay`, `call`, `dtmf`, `sandbox`, `migrate`).
//
// Each subcommand lives in its own file and registers itself with register; main only
// dispatches. A command returns its exit status instead of calling os.Exit, so tests can run it
// in-process.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/paybridge/paybridge/internal/cardsafe"
)

// command is one subcommand of the binary.
type command struct {
	name    string
	usage   string // one line: "validate PLAN..."
	summary string // one sentence for the command list
	run     func(ctx context.Context, env *cmdEnv, args []string) int
	// cards: the command receives or sends card data, so the process runs without the
	// runtime's asynchronous preemption (main starts it again with GODEBUG=asyncpreemptoff=1;
	// internal/cardsafe/preempt.go says why).
	cards bool
}

// cmdEnv is what a command may touch of the process: its streams and environment.
type cmdEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("paybridge: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

func main() {
	if len(os.Args) > 1 {
		if c, ok := commands[os.Args[1]]; ok && c.cards {
			if err := cardsafe.ExecWithoutAsyncPreemption(); err != nil {
				fmt.Fprintf(os.Stderr, "paybridge: WARNING: running with asynchronous preemption on: %v\n", err)
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &cmdEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(dispatch(ctx, env, os.Args[1:]))
}

func dispatch(ctx context.Context, env *cmdEnv, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(env.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "paybridge: unknown command %q\n\n", args[0])
		printUsage(env.stderr)
		return 2
	}
	return c.run(ctx, env, args[1:])
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "paybridge — a self-hosted IVR payment bridge")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage: paybridge COMMAND [flags] [args]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := commands[n]
		fmt.Fprintf(w, "  %s\n      %s\n", c.usage, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'paybridge COMMAND -h' for a command's flags.")
}
