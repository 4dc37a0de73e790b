package archcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const root = "../.."

func readRules(t *testing.T) Rules {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseDoc(md)
	if err != nil {
		t.Fatalf("docs/architecture.md: %v", err)
	}
	return r
}

// goList returns the direct imports and the transitive dependencies of every package of the
// module, as `go list` reports them for the code that ships (test files aside).
func goList(t *testing.T) (direct, deps Graph) {
	t.Helper()
	mod := run(t, "go", "list", "-m")
	direct, deps = Graph{}, Graph{}
	rel := func(p string) string {
		if p == mod {
			return "."
		}
		return strings.TrimPrefix(p, mod+"/")
	}
	out := run(t, "go", "list", "-f", "{{.ImportPath}}\t{{join .Imports \" \"}}\t{{join .Deps \" \"}}", "./...")
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("go list: %q", line)
		}
		pkg := rel(f[0])
		direct[pkg] = []string{}
		for _, p := range strings.Fields(f[1]) {
			direct[pkg] = append(direct[pkg], rel(p))
		}
		for _, p := range strings.Fields(f[2]) {
			deps[pkg] = append(deps[pkg], rel(p))
		}
	}
	return direct, deps
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(b))
}

// TestImportsMatchArchitecture: every package imports exactly what its row of
// docs/architecture.md lists, every package has a row, and no wall is crossed.
func TestImportsMatchArchitecture(t *testing.T) {
	r := readRules(t)
	direct, deps := goList(t)
	if len(direct) < 30 {
		t.Fatalf("go list found only %d packages", len(direct))
	}
	for _, problem := range Check(r, direct, deps) {
		t.Error(problem)
	}
}

// TestCheckFindsBrokenLayers is the control: the imports the page forbids, added to the real
// graph one at a time, are each reported, and so are a package without a row and a row that
// lists an import the package no longer has.
func TestCheckFindsBrokenLayers(t *testing.T) {
	r := readRules(t)
	direct, deps := goList(t)
	if got := Check(r, direct, deps); len(got) > 0 {
		t.Fatalf("the real graph must pass before the control means anything: %q", got)
	}
	with := func(g Graph, pkg string, extra ...string) Graph {
		out := Graph{}
		for k, v := range g {
			out[k] = v
		}
		out[pkg] = append(append([]string{}, g[pkg]...), extra...)
		return out
	}
	cases := []struct {
		name         string
		direct, deps Graph
		want         string
	}{
		{"media imports sipgo", with(direct, "media", "github.com/emiago/sipgo/sip"), with(deps, "media", "github.com/emiago/sipgo/sip"),
			"media imports github.com/emiago/sipgo/sip"},
		{"callplan imports the engine", with(direct, "callplan", "engine"), deps, "callplan imports engine"},
		{"gateway imports the parser", with(direct, "gateway", "callplan"), deps, "gateway imports callplan"},
		{"gateway imports the sandbox", with(direct, "gateway", "sandbox"), deps, "gateway imports sandbox"},
		{"the engine reaches sipgo through another package", direct, with(deps, "engine", "github.com/emiago/sipgo"),
			"engine depends on github.com/emiago/sipgo, which its wall forbids"},
		{"the gateway reaches the engine through payment", direct, with(deps, "gateway", "engine"),
			"gateway depends on engine, which its wall forbids"},
		{"a package without a row", with(direct, "newpkg"), deps, "newpkg: no row"},
	}
	for _, tc := range cases {
		got := strings.Join(Check(r, tc.direct, tc.deps), "\n")
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: not reported (got %q)", tc.name, got)
		}
	}
	stale := Graph{}
	for k, v := range direct {
		stale[k] = v
	}
	var kept []string
	for _, p := range direct["engine"] {
		if p != "event" {
			kept = append(kept, p)
		}
	}
	stale["engine"] = kept
	if got := strings.Join(Check(r, stale, deps), "\n"); !strings.Contains(got, "engine: its row lists event, which it does not import") {
		t.Errorf("a stale row entry is not reported (got %q)", got)
	}
}

func TestParseDoc(t *testing.T) {
	md := "# x\n\n| package | owns | imports (besides the standard library) |\n|---|---|---|\n" +
		"| `a` | one thing | — |\n| `b` | another, `with` code | `a`, `github.com/x/y` |\n\ntext\n\n" +
		"| # | package | function |\n|---|---|---|\n| 1 | `a` | `F` |\n\n" +
		"| package | never depends on, directly or not |\n|---|---|\n| `a` | `b` |\n"
	r, err := ParseDoc([]byte(md))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Imports) != 2 || len(r.Imports["a"]) != 0 || strings.Join(r.Imports["b"], ",") != "a,github.com/x/y" {
		t.Fatalf("imports %v", r.Imports)
	}
	if strings.Join(r.Walls["a"], ",") != "b" || len(r.Walls) != 1 {
		t.Fatalf("walls %v", r.Walls)
	}
	if _, err := ParseDoc([]byte("no tables")); err == nil {
		t.Fatal("a page without a package table accepted")
	}
}
