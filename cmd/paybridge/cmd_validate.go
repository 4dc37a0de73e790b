package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/prompts"
)

func init() {
	register(&command{
		name:    "validate",
		usage:   "validate [--json] [--strict] PLAN|DIR|-...",
		summary: "check call plans; prints file:line:col: message per problem, exits 1 on any error",
		run:     runValidate,
	})
}

// validateReport is the --json output.
type validateReport struct {
	OK       bool                 `json:"ok"`
	Errors   int                  `json:"errors"`
	Warnings int                  `json:"warnings"`
	Files    []validateFileReport `json:"files"`
	// Set holds the checks across plans (two plans matching one number).
	Set callplan.Diagnostics `json:"set"`
}

type validateFileReport struct {
	File        string               `json:"file"`
	Plan        string               `json:"plan,omitempty"`
	Hash        string               `json:"sha256,omitempty"`
	OK          bool                 `json:"ok"`
	Diagnostics callplan.Diagnostics `json:"diagnostics"`
}

func runValidate(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	asJSON := fs.Bool("json", false, "print the result as JSON on stdout instead of messages on stderr")
	strict := fs.Bool("strict", false, "treat warnings as errors (exit 1 on any)")
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, "usage: paybridge validate [--json] [--strict] PLAN|DIR|-...")
		fmt.Fprintln(env.stderr, "Checks call plans (a directory means every *.xml in it, - reads one plan from standard input)")
		fmt.Fprintln(env.stderr, "and the plans against each other.")
		fmt.Fprintln(env.stderr, "Each problem is printed as file:line:col: message (warnings as file:line:col: warning: message).")
		fmt.Fprintln(env.stderr, "Exit status: 0 no errors, 1 errors found, 2 usage.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	files, diags := expandPlanArgs(fs.Args())
	report := validateReport{Files: []validateFileReport{}, Set: callplan.Diagnostics{}}
	var good []*callplan.Plan
	for _, f := range files {
		if ctx.Err() != nil {
			return 1
		}
		var p *callplan.Plan
		var ds callplan.Diagnostics
		if f == stdinName {
			p, ds = parseStdin(env)
		} else {
			p, ds = callplan.ParseFile(f, env.getenv)
		}
		fr := validateFileReport{File: f, OK: !ds.HasErrors(), Diagnostics: ds}
		if fr.Diagnostics == nil {
			fr.Diagnostics = callplan.Diagnostics{}
		}
		if p != nil {
			fr.Hash = p.Hash
			if !ds.HasErrors() {
				fr.Plan = p.Name // only a valid plan's name: a refused one may carry anything
				fr.Diagnostics = append(fr.Diagnostics, prompts.Check(p)...)
				fr.Diagnostics = append(fr.Diagnostics, engine.CheckSpeech(p)...)
				fr.Diagnostics.Sort()
				fr.OK = !fr.Diagnostics.HasErrors()
				if fr.OK {
					good = append(good, p)
				}
			}
		}
		report.Files = append(report.Files, fr)
	}
	report.Set = append(report.Set, diags...)
	_, setDiags := callplan.NewPlanSet(good...)
	report.Set = append(report.Set, setDiags...)
	for i := range report.Files {
		fr := &report.Files[i]
		for _, d := range setDiags {
			if d.Pos.File == fr.File && d.Severity == callplan.SeverityError {
				fr.OK = false
			}
		}
	}
	var all callplan.Diagnostics
	for _, fr := range report.Files {
		all = append(all, fr.Diagnostics...)
	}
	all = append(all, report.Set...)
	report.Errors = len(all.Errors())
	report.Warnings = len(all.Warnings())
	report.OK = report.Errors == 0 && (!*strict || report.Warnings == 0)

	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			fmt.Fprintf(env.stderr, "paybridge validate: %v\n", err)
			return 1
		}
	} else {
		for _, d := range all {
			fmt.Fprintln(env.stderr, d.String())
		}
		fmt.Fprintf(env.stderr, "%d %s checked: %d %s, %d %s\n", len(files), plural(len(files), "plan", "plans"),
			report.Errors, plural(report.Errors, "error", "errors"), report.Warnings, plural(report.Warnings, "warning", "warnings"))
	}
	if !report.OK {
		return 1
	}
	return 0
}

// stdinName is how a plan read from standard input ("-") is named in messages.
const stdinName = "<stdin>"

func parseStdin(env *cmdEnv) (*callplan.Plan, callplan.Diagnostics) {
	src, err := io.ReadAll(io.LimitReader(env.stdin, callplan.MaxPlanBytes+1))
	if err != nil {
		return nil, callplan.Diagnostics{{Pos: callplan.Pos{File: stdinName}, Severity: callplan.SeverityError, Code: "read", Message: "cannot read standard input: " + err.Error()}}
	}
	return callplan.Parse(stdinName, src, env.getenv)
}

// expandPlanArgs turns PLAN|DIR arguments into plan files; a directory contributes its *.xml
// files (not its subdirectories). A missing argument is an error diagnostic.
func expandPlanArgs(args []string) ([]string, callplan.Diagnostics) {
	var files []string
	var ds callplan.Diagnostics
	for _, a := range args {
		if a == "-" {
			files = append(files, stdinName)
			continue
		}
		fi, err := os.Stat(a)
		if err != nil || !fi.IsDir() {
			files = append(files, a) // ParseFile reports a missing file
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			ds = append(ds, callplan.Diagnostic{Pos: callplan.Pos{File: a}, Severity: callplan.SeverityError, Code: "read", Message: "cannot read directory: " + err.Error()})
			continue
		}
		var found []string
		for _, e := range entries {
			if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".xml") {
				found = append(found, filepath.Join(a, e.Name()))
			}
		}
		sort.Strings(found)
		if len(found) == 0 {
			ds = append(ds, callplan.Diagnostic{Pos: callplan.Pos{File: a}, Severity: callplan.SeverityWarning, Code: "empty-dir", Message: "no *.xml plans in this directory"})
		}
		files = append(files, found...)
	}
	// A file named twice (or also through its directory) is checked once: it must not
	// conflict with itself.
	seen := map[string]bool{}
	out := files[:0]
	for _, f := range files {
		key := f
		if f != stdinName {
			key = filepath.Clean(f)
			if abs, err := filepath.Abs(f); err == nil {
				key = abs
			}
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, f)
		}
	}
	return out, ds
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
