package prompts

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/internal/suggest"
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
		pr, err := set.Load(r.Name)
		switch {
		case err == nil && pr.Converted != "":
			ds = append(ds, callplan.Diagnostic{Pos: r.Pos, Severity: callplan.SeverityWarning, Code: "converted-prompt",
				Message: fmt.Sprintf("prompt %q of <%s> is %s, converted to 8 kHz mono 16-bit PCM at load (convert the file once: sox %s.wav -r 8000 -c 1 -b 16 -e signed-integer OUT.wav)", r.Name, r.Step, pr.Converted, r.Name)})
		case errors.Is(err, ErrFormat):
			ds = append(ds, callplan.Diagnostic{Pos: r.Pos, Severity: callplan.SeverityWarning, Code: "unreadable-prompt",
				Message: fmt.Sprintf("prompt %q of <%s> cannot be read (%v): the caller would hear silence", r.Name, r.Step, err)})
		case err != nil:
			where := "the bundled pack"
			if dir != "" {
				where = dir + " or the bundled pack"
			}
			hint := ""
			if s := suggest.Closest(r.Name, promptNames(dir)); s != "" {
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
