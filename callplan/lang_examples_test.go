package callplan

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// noEnv is an empty environment: example plans must validate with their #(env:…:-default)s.
func noEnv(string) string { return "" }

// TestExamplePlansValidate checks that every example plan in examples/plans is free of errors
// and warnings, and that together they form a valid PlanSet.
func TestExamplePlansValidate(t *testing.T) {
	files, err := filepath.Glob("../examples/plans/*.xml")
	if err != nil || len(files) < 10 {
		t.Fatalf("example plans: %v (found %d)", err, len(files))
	}
	var plans []*Plan
	for _, f := range files {
		p, ds := ParseFile(f, noEnv)
		if len(ds) > 0 {
			t.Errorf("%s:\n%s", f, ds)
			continue
		}
		if len(p.Flow) == 0 {
			t.Errorf("%s: empty flow", f)
		}
		plans = append(plans, p)
	}
	if _, ds := NewPlanSet(plans...); len(ds) > 0 {
		t.Errorf("plan set:\n%s", ds)
	}
}

// badExpectations reads the "expect: LINE:COL: MESSAGE" lines of a bad plan's leading comment.
func badExpectations(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "expect:"); ok {
			out = append(out, strings.TrimSpace(rest))
		}
	}
	return out
}

// TestBadPlans checks that every plan in testdata/plans/bad fails with exactly the messages
// its comment expects (each as file:LINE:COL: MESSAGE), and no other error.
func TestBadPlans(t *testing.T) {
	files, err := filepath.Glob("../testdata/plans/bad/*.xml")
	if err != nil || len(files) < 10 {
		t.Fatalf("bad plans: %v (found %d)", err, len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want := badExpectations(t, f)
			if len(want) == 0 {
				t.Fatalf("%s has no expect: lines", f)
			}
			_, ds := ParseFile(f, noEnv)
			if !ds.HasErrors() {
				t.Fatalf("no error reported; diagnostics:\n%s", ds)
			}
			got := map[string]bool{}
			for _, d := range ds {
				got[d.String()] = true
			}
			for _, w := range want {
				if !got[f+":"+w] {
					t.Errorf("missing diagnostic %q; got:\n%s", f+":"+w, ds)
				}
			}
			for _, d := range ds.Errors() {
				found := false
				for _, w := range want {
					if d.String() == f+":"+w {
						found = true
					}
				}
				if !found {
					t.Errorf("unexpected error %q", d)
				}
			}
		})
	}
}

// TestBadPlanSets validates each directory of testdata/plans/bad as one PlanSet (the checks
// across plans) and compares with the expect: lines of its files.
func TestBadPlanSets(t *testing.T) {
	dirs := planSubdirs(t, "../testdata/plans/bad")
	if len(dirs) == 0 {
		t.Fatal("no bad plan sets")
	}
	for _, dir := range dirs {
		_, ds := LoadDir(dir, noEnv)
		got := map[string]bool{}
		for _, d := range ds {
			got[d.String()] = true
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
		n := 0
		for _, f := range files {
			for _, w := range badExpectations(t, f) {
				n++
				want := f + ":" + strings.ReplaceAll(w, "testdata/plans/", "../testdata/plans/")
				if !got[want] {
					t.Errorf("missing %q; got:\n%s", want, ds)
				}
			}
		}
		if n != len(ds.Errors()) {
			t.Errorf("%s: %d errors, %d expected:\n%s", dir, len(ds.Errors()), n, ds)
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
