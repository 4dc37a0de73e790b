package prompts

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/paybridge/paybridge/callplan"
)

// Check resolves every literal prompt name of a plan against its prompt directory
// and the bundled pack: a missing directory is an error, a missing prompt a warning (the
// engine plays silence for it and says so in the call's events).
func Check(p *callplan.Plan) callplan.Diagnostics {
	var ds callplan.Diagnostics
	dir := ""
	var dirPos callplan.Pos
	if p.Prompts != nil {
		dir, dirPos = p.Prompts.Dir, p.Prompts.Pos
	}
	set, err := Open(dir)
	if err != nil {
		return append(ds, callplan.Diagnostic{Pos: dirPos, Severity: callplan.SeverityError, Code: "prompt-dir",
			Message: fmt.Sprintf("prompt directory %s cannot be used: %v", dir, errors.Unwrap(err))})
	}
	seen := map[string]bool{}
	for _, r := range callplan.PromptRefs(p) {
		if seen[r.Name] {
			continue
		}
		seen[r.Name] = true
		_, err := set.Load(r.Name)
		if err != nil && errors.Is(err, ErrFormat) {
			// The file is there but cannot be played: say what is wrong with it.
			ds = append(ds, callplan.Diagnostic{Pos: r.Pos, Severity: callplan.SeverityWarning, Code: "prompt-format",
				Message: fmt.Sprintf("prompt %q of <%s>: %v; convert it: sox IN.wav -r 8000 -c 1 -b 16 -e signed-integer %s.wav (the caller would hear silence)",
					r.Name, r.Step, strings.TrimPrefix(err.Error(), "prompts: "), r.Name)})
			continue
		}
		if err != nil {
			where := "the bundled pack"
			if dir != "" {
				where = dir + " or the bundled pack"
			}
			hint := ""
			if s := callplan.Suggest(r.Name, promptNames(dir)); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", s)
			}
			ds = append(ds, callplan.Diagnostic{Pos: r.Pos, Severity: callplan.SeverityWarning, Code: "missing-prompt",
				Message: fmt.Sprintf("prompt %q of <%s> is not in %s: the caller would hear silence%s", r.Name, r.Step, where, hint)})
		}
	}
	return ds
}

// promptNames lists the prompts a plan can play: the *.wav files of dir and the bundled pack.
func promptNames(dir string) []string {
	names := BundledNames()
	if dir != "" {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if n, ok := strings.CutSuffix(e.Name(), ".wav"); ok && !e.IsDir() {
				names = append(names, n)
			}
		}
	}
	return names
}
