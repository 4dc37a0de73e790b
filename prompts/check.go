package prompts

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/internal/suggest"
)

// OpenPlan opens the prompts of a plan: its <Prompts dir>, then the bundled pack of its
// <Prompts lang> (see MatchLanguage); a language without a pack falls back to the default
// pack (Check warns about it).
func OpenPlan(p *callplan.Plan) (*Set, error) {
	dir, lang := "", BundledLang
	if p.Prompts != nil {
		dir = p.Prompts.Dir
		if p.Prompts.Lang != "" {
			lang = p.Prompts.Lang
		}
	}
	if _, err := MatchLanguage(lang); err != nil {
		lang = BundledLang
	}
	return OpenLang(dir, lang)
}

// Check resolves every literal prompt name of a plan against its prompt directory
// and the bundled pack of its language: a missing directory is an error, a missing prompt a
// warning (the engine plays silence for it and says so in the call's events), and so is a
// language no bundled pack has (its prompts come from the default pack).
func Check(p *callplan.Plan) callplan.Diagnostics {
	var ds callplan.Diagnostics
	dir, lang := "", BundledLang
	var dirPos callplan.Pos
	if p.Prompts != nil {
		dir, dirPos = p.Prompts.Dir, p.Prompts.Pos
		if p.Prompts.Lang != "" {
			if _, err := MatchLanguage(p.Prompts.Lang); err != nil {
				ds = append(ds, callplan.Diagnostic{Pos: dirPos, Severity: callplan.SeverityWarning, Code: "prompt-lang",
					Message: fmt.Sprintf("no bundled prompt pack for lang %q (bundled: %s): prompts not in the plan's dir come from %s", p.Prompts.Lang, strings.Join(Languages(), ", "), BundledLang)})
			} else {
				lang = p.Prompts.Lang
			}
		}
	}
	set, err := OpenLang(dir, lang)
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
			if s := suggest.Closest(r.Name, promptNames(dir, lang)); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", s)
			}
			ds = append(ds, callplan.Diagnostic{Pos: r.Pos, Severity: callplan.SeverityWarning, Code: "missing-prompt",
				Message: fmt.Sprintf("prompt %q of <%s> is not in %s: the caller would hear silence%s", r.Name, r.Step, where, hint)})
		}
	}
	return ds
}

// promptNames lists the prompts a plan can play: the *.wav files of dir and the bundled pack
// of lang.
func promptNames(dir, lang string) []string {
	names := PackNames(lang)
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
