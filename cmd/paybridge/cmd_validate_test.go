package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateExamplePlans(t *testing.T) {
	files, _ := filepath.Glob("../../examples/plans/*.xml")
	if len(files) < 10 {
		t.Fatalf("found %d example plans", len(files))
	}
	code, stdout, stderr := runCmd(t, append([]string{"validate"}, files...)...)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	want := itoa(len(files)) + " plans checked: 0 errors, 0 warnings\n"
	if stderr != want {
		t.Fatalf("stderr = %q, want %q", stderr, want)
	}
	// A directory argument means its *.xml files (not bad/).
	code, _, stderr = runCmd(t, "validate", "../../examples/plans")
	if code != 0 || stderr != want {
		t.Fatalf("directory: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestValidateBadPlans runs the command on every plan of testdata/plans/bad and checks the
// exit status and that each expected file:line:col: message line is printed on stderr.
func TestValidateBadPlans(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/plans/bad/*.xml")
	if len(files) < 10 {
		t.Fatalf("found %d bad plans", len(files))
	}
	for _, f := range files {
		code, stdout, stderr := runCmd(t, "validate", f)
		if code != 1 || stdout != "" {
			t.Errorf("%s: exit %d, stdout %q", f, code, stdout)
		}
		lines := map[string]bool{}
		for _, l := range strings.Split(stderr, "\n") {
			lines[l] = true
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		n := 0
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "expect:"); ok {
				n++
				if want := f + ":" + strings.TrimSpace(rest); !lines[want] {
					t.Errorf("missing line %q in stderr:\n%s", want, stderr)
				}
			}
		}
		fh.Close()
		if n == 0 {
			t.Errorf("%s: no expect: lines", f)
		}
	}
}

// TestValidateBadPlanSets validates each directory of testdata/plans/bad as one set.
func TestValidateBadPlanSets(t *testing.T) {
	dirs := planSubdirs(t, "../../testdata/plans/bad")
	if len(dirs) == 0 {
		t.Fatal("no bad plan sets")
	}
	for _, dir := range dirs {
		code, _, stderr := runCmd(t, "validate", dir)
		if code != 1 {
			t.Errorf("%s: exit %d", dir, code)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(string(src), "\n") {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "expect:"); ok {
					want := f + ":" + strings.ReplaceAll(strings.TrimSpace(rest), "testdata/plans/", "../../testdata/plans/")
					if !strings.Contains(stderr, want+"\n") {
						t.Errorf("missing %q in\n%s", want, stderr)
					}
				}
			}
		}
	}
}

func writeFile(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateJSON(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.xml", `<CallPlan name="good"><Match number="+441632960001"/><Flow><Play prompt="welcome"/><Set var="X" value="$(Y)"/><Set var="Y" value="1"/></Flow></CallPlan>`)
	bad := writeFile(t, dir, "bad.xml", `<CallPlan name="bad"><Match number="+441632960002"/><Flow><Gathr var="A"/></Flow></CallPlan>`)
	code, stdout, stderr := runCmd(t, "validate", "--json", good, bad, filepath.Join(dir, "missing.xml"))
	if code != 1 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var rep struct {
		OK       bool `json:"ok"`
		Errors   int  `json:"errors"`
		Warnings int  `json:"warnings"`
		Files    []struct {
			File        string `json:"file"`
			Plan        string `json:"plan"`
			Hash        string `json:"sha256"`
			OK          bool   `json:"ok"`
			Diagnostics []struct {
				File     string `json:"file"`
				Line     int    `json:"line"`
				Col      int    `json:"col"`
				Severity string `json:"severity"`
				Code     string `json:"code"`
				Message  string `json:"message"`
			} `json:"diagnostics"`
		} `json:"files"`
		Set []json.RawMessage `json:"set"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("JSON: %v\n%s", err, stdout)
	}
	if rep.OK || rep.Errors != 2 || rep.Warnings != 1 || len(rep.Files) != 3 || rep.Set == nil {
		t.Fatalf("report = %+v", rep)
	}
	g, b, m := rep.Files[0], rep.Files[1], rep.Files[2]
	if !g.OK || g.Plan != "good" || len(g.Hash) != 64 || len(g.Diagnostics) != 1 || g.Diagnostics[0].Severity != "warning" || g.Diagnostics[0].Code != "used-before-set" {
		t.Errorf("good = %+v", g)
	}
	if b.OK || len(b.Diagnostics) != 1 {
		t.Fatalf("bad = %+v", b)
	}
	if d := b.Diagnostics[0]; d.File != bad || d.Line != 1 || d.Col != 59 || d.Severity != "error" || d.Code != "unknown-element" || d.Message != `unknown element <Gathr> (did you mean "Gather"?)` {
		t.Errorf("bad diagnostic = %+v", d)
	}
	if m.OK || len(m.Diagnostics) != 1 || !strings.Contains(m.Diagnostics[0].Message, "cannot read plan") {
		t.Errorf("missing = %+v", m)
	}
}

func TestValidateAcrossPlansAndStrict(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.xml", `<CallPlan name="a"><Match number="+441632960001"/><Flow><Hangup/></Flow></CallPlan>`)
	b := writeFile(t, dir, "b.xml", `<CallPlan name="b"><Match number="+441632960001"/><Flow><Hangup/></Flow></CallPlan>`)
	code, _, stderr := runCmd(t, "validate", a, b)
	if code != 1 || !strings.Contains(stderr, a+":1:20: number +441632960001 is matched by this plan and by b ("+b+":1:20)") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	// A file named twice, or with its directory, is checked once.
	if code, _, stderr := runCmd(t, "validate", a, a, dir+"/../"+filepath.Base(dir)+"/a.xml"); code != 0 || !strings.HasSuffix(stderr, "1 plan checked: 0 errors, 0 warnings\n") {
		t.Fatalf("same file twice: exit %d\n%s", code, stderr)
	}
	// Each alone is fine.
	if code, _, stderr := runCmd(t, "validate", a); code != 0 {
		t.Fatalf("alone: exit %d\n%s", code, stderr)
	}
	// A warning passes, unless --strict.
	w := writeFile(t, dir, "w.xml", `<CallPlan name="w"><Match number="+441632960003"/><Flow><Play prompt="no-such-prompt"/></Flow></CallPlan>`)
	code, _, stderr = runCmd(t, "validate", w)
	if code != 0 || !strings.Contains(stderr, w+`:1:71: warning: prompt "no-such-prompt" of <Play> is not in the bundled pack: the caller would hear silence`) {
		t.Fatalf("warning: exit %d\n%s", code, stderr)
	}
	if code, _, _ := runCmd(t, "validate", "--strict", w); code != 1 {
		t.Fatalf("--strict: exit %d, want 1", code)
	}
	// A plan's own prompt directory is searched first; a missing one is an error.
	if err := os.Mkdir(filepath.Join(dir, "audio"), 0o755); err != nil {
		t.Fatal(err)
	}
	own := writeFile(t, dir, "own.xml", `<CallPlan name="own"><Match number="+441632960004"/><Prompts dir="audio"/><Flow><Play prompt="welcome"/></Flow></CallPlan>`)
	if code, _, stderr := runCmd(t, "validate", own); code != 0 {
		t.Fatalf("own dir: exit %d\n%s", code, stderr)
	}
	gone := writeFile(t, dir, "gone.xml", `<CallPlan name="gone"><Match number="+441632960005"/><Prompts dir="nowhere"/><Flow><Play prompt="welcome"/></Flow></CallPlan>`)
	if code, _, stderr := runCmd(t, "validate", gone); code != 1 || !strings.Contains(stderr, "prompt directory "+filepath.Join(dir, "nowhere")+" cannot be used") {
		t.Fatalf("missing dir: exit %d\n%s", code, stderr)
	}
}

func TestValidateStdin(t *testing.T) {
	run := func(src string) (int, string) {
		var out, errb bytes.Buffer
		env := &cmdEnv{stdin: strings.NewReader(src), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		return dispatch(context.Background(), env, []string{"validate", "-"}), errb.String()
	}
	code, stderr := run(`<CallPlan><Match number="+441632960001"/><Flow><Play prompt="welcome"/><Gathr/></Flow></CallPlan>`)
	if want := "<stdin>:1:72: unknown element <Gathr> (did you mean \"Gather\"?)\n1 plan checked: 1 error, 0 warnings\n"; code != 1 || stderr != want {
		t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", code, stderr, want)
	}
	code, stderr = run(`<CallPlan><Match number="+441632960001"/><Flow><Play prompt="welcom"/></Flow></CallPlan>`)
	want := "<stdin>:1:62: warning: prompt \"welcom\" of <Play> is not in the bundled pack: the caller would hear silence (did you mean \"welcome\"?)\n" +
		"1 plan checked: 0 errors, 1 warning\n"
	if code != 0 || stderr != want {
		t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", code, stderr, want)
	}
}

func TestValidateUsage(t *testing.T) {
	if code, _, stderr := runCmd(t, "validate"); code != 2 || !strings.Contains(stderr, "usage: paybridge validate") {
		t.Fatalf("no args: exit %d\n%s", code, stderr)
	}
	if code, _, _ := runCmd(t, "validate", "--bogus", "x.xml"); code != 2 {
		t.Fatalf("bad flag: exit %d", code)
	}
	if code, _, _ := runCmd(t, "validate", "-h"); code != 0 {
		t.Fatalf("-h: exit %d", code)
	}
}

// TestValidateNeverPrintsCardDigits pastes the test cards into a plan and scans everything the
// command prints, as text and as JSON.
func TestValidateNeverPrintsCardDigits(t *testing.T) {
	cards := []string{"4242424242424242", "5555555555554444", "378282246310005"}
	dir := t.TempDir()
	var src strings.Builder
	src.WriteString(`<CallPlan name="` + cards[2] + `"><Match number="+441632960001 ` + cards[0] + `"/><Flow>`)
	for _, c := range cards {
		src.WriteString(`<Set var="A" value="` + c + `"/><SayDigits value="` + c + `#x"/><Play prompt="card-` + c + `"/>`)
		src.WriteString(`<Transfer to="` + c + `"/><If test="$(A) == ` + c + ` ` + c + `"/><Gather var="G` + c + `"/>`)
	}
	src.WriteString(`</Flow></CallPlan>`)
	f := writeFile(t, dir, "leak-"+cards[1]+".xml", src.String())
	for _, args := range [][]string{{"validate", f}, {"validate", "--json", f}} {
		code, stdout, stderr := runCmd(t, args...)
		if code != 1 {
			t.Fatalf("%v: exit %d", args, code)
		}
		out := strings.ReplaceAll(stdout+stderr, f, "FILE") // the file name is the caller's own argument
		for _, c := range cards {
			if strings.Contains(out, c) {
				t.Fatalf("%v printed a card number:\n%s", args, out)
			}
		}
	}
}

// planSubdirs lists the directories directly in dir.
func planSubdirs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

// TestValidateSayAsValues: validate reports a say-as value text to speech cannot say — a day
// the calendar does not have, a currency without words, a letter among digits — at its
// file:line:col, and exits 1; the same plan with sayable values passes.
func TestValidateSayAsValues(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(`<CallPlan name="s"><Match number="+441632960399"/><Flow>
`+body+`
<Hangup/></Flow></CallPlan>`), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.xml", `<Say>Due <say-as interpret-as="date">2026-02-30</say-as>, <say-as interpret-as="currency">JPY 5</say-as>, ref <say-as interpret-as="digits">12a</say-as></Say>`)
	code, _, stderr := runCmd(t, "validate", bad)
	if code != 1 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	for _, want := range []string{
		bad + `:2:38: say-as date: "2026-02-30" is not a day of the calendar`,
		bad + `:2:91: say-as currency: currency "JPY" cannot be spoken in English (GBP, USD, EUR)`,
		bad + `:2:141: say-as digits: 'a' is not a digit, '*', '#' or '+'`,
	} {
		if !strings.Contains(stderr, want+"\n") {
			t.Errorf("missing %q in:\n%s", want, stderr)
		}
	}
	good := write("good.xml", `<Say>Due <say-as interpret-as="date">2028-02-29</say-as>, <say-as interpret-as="currency">GBP 5</say-as>, ref <say-as interpret-as="digits">12 34</say-as></Say>`)
	if code, _, stderr := runCmd(t, "validate", good); code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
}
