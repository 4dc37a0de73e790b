package callplan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writePlan(t *testing.T, dir, name, match string) {
	t.Helper()
	src := `<CallPlan name="` + strings.TrimSuffix(name, ".xml") + `"><Match number="` + match + `"/><Flow><Hangup/></Flow></CallPlan>`
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDirAndMatch(t *testing.T) {
	dir := t.TempDir()
	writePlan(t, dir, "a.xml", "+441632960001 +441632960002")
	writePlan(t, dir, "b.xml", "+441632960003")
	writePlan(t, dir, "fallback.xml", "*")
	if err := os.WriteFile(filepath.Join(dir, "broken.xml"), []byte(`<CallPlan><Match number="+441632960004"/><Flow><Gathr/></Flow></CallPlan>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a plan"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writePlan(t, filepath.Join(dir, "sub"), "ignored.xml", "+441632960001")

	ps, ds := LoadDir(dir, nil)
	if len(ds) != 1 || !strings.Contains(ds[0].String(), "broken.xml:1:48: unknown element <Gathr>") {
		t.Fatalf("diagnostics:\n%s", ds)
	}
	if len(ps.Plans()) != 3 {
		t.Fatalf("plans = %d, want 3 (broken one left out)", len(ps.Plans()))
	}
	tests := map[string]string{
		"+441632960001":     "a",
		"441632960002":      "a", // trunk dropped the +
		"tel:+441632960003": "b",
		" +441632960003 ":   "b",
		"+441632960004":     "fallback", // its plan is broken, so the fallback answers
		"+15555550100":      "fallback",
		"":                  "fallback",
	}
	for num, want := range tests {
		p, ok := ps.Match(num)
		if !ok || p.Name != want {
			t.Errorf("Match(%q) = %v, %v; want %s", num, p, ok, want)
		}
	}
}

func TestPlanSetConflicts(t *testing.T) {
	dir := t.TempDir()
	writePlan(t, dir, "a.xml", "+441632960001 +441632960009")
	writePlan(t, dir, "b.xml", "+441632960001")
	writePlan(t, dir, "c.xml", "*")
	writePlan(t, dir, "d.xml", "*")
	ps, ds := LoadDir(dir, nil)
	got := ds.String()
	for _, want := range []string{
		"a.xml:1:20: number +441632960001 is matched by this plan and by b (" + filepath.Join(dir, "b.xml") + ":1:20)",
		"b.xml:1:20: number +441632960001 is matched by this plan and by a (",
		"c.xml:1:20: the fallback number * is matched by this plan and by d (",
		"d.xml:1:20: the fallback number * is matched by this plan and by c (",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if len(ds.Errors()) != 4 {
		t.Errorf("errors = %d, want 4:\n%s", len(ds.Errors()), got)
	}
	if _, ok := ps.Match("+441632960001"); ok {
		t.Error("a number two plans claim must match neither (nor a fallback, as there are two)")
	}
	if p, ok := ps.Match("+441632960009"); !ok || p.Name != "a" {
		t.Error("an unshared number still matches")
	}
}

func TestLoadDirErrors(t *testing.T) {
	ps, ds := LoadDir(filepath.Join(t.TempDir(), "missing"), nil)
	if !ds.HasErrors() || !strings.Contains(ds[0].String(), "cannot read plan directory") {
		t.Fatalf("diagnostics: %s", ds)
	}
	if _, ok := ps.Match("+441632960001"); ok {
		t.Error("empty set matched")
	}
	var nilSet *PlanSet
	if _, ok := nilSet.Match("x"); ok {
		t.Error("nil set matched")
	}
	_, ds = ParseFile(filepath.Join(t.TempDir(), "nope.xml"), nil)
	if !ds.HasErrors() || !strings.Contains(ds.String(), "nope.xml: cannot read plan: no such file or directory") {
		t.Errorf("ParseFile missing: %s", ds)
	}
}

func TestExamplePlanSetMatchesVCC(t *testing.T) {
	ps, ds := LoadDir("../examples/plans", noEnv)
	if len(ds) > 0 {
		t.Fatalf("diagnostics:\n%s", ds)
	}
	p, ok := ps.Match("+441632960100")
	if !ok || p.Name != "vcc-secure-payments" {
		t.Fatalf("Match = %v, %v", p, ok)
	}
	// The VCC plan: Authorize → Start Session → Pay session=… → status query; then option B, the digital session.
	var order []string
	walkSteps(p.Flow, func(s Step) bool {
		switch s := s.(type) {
		case *APIInteractionStep:
			order = append(order, s.Name)
		case *PayStep:
			order = append(order, "Pay("+s.Session+")")
		}
		return true
	})
	if got := strings.Join(order, " → "); got != "LookupAccount → Authorize → StartSession → Pay($(GlobalPCI|SessionId)) → SessionStatus → StartDigitalSession" {
		t.Errorf("VCC order = %s", got)
	}
}

func TestPlanUsesSandbox(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{`<CallPlan name="a"><Connector name="p" type="stripe" baseUrl="sandbox" apiKey="#(env:K:-sk_test_x)"/><Flow><Pay connector="p" amount="1" currency="GBP"/></Flow></CallPlan>`, true},
		{`<CallPlan name="b"><Flow><ApiInteraction><Request><Url>$(Sandbox.Url)/ledger</Url></Request></ApiInteraction></Flow></CallPlan>`, true},
		{`<CallPlan name="c"><Flow><If test="1 == 1"><Set var="X" value="$(Sandbox.Url)"/></If></Flow></CallPlan>`, true},
		{`<CallPlan name="d"><Flow><ApiInteraction><Request><Url>https://api.example.com/</Url></Request></ApiInteraction></Flow></CallPlan>`, false},
	} {
		p, ds := Parse("t.xml", []byte(tc.src), func(string) string { return "" })
		if p == nil {
			t.Fatalf("%s: %v", tc.src, ds)
		}
		if got := p.UsesSandbox(); got != tc.want {
			t.Errorf("%s: UsesSandbox = %v, want %v", p.Name, got, tc.want)
		}
	}
}
