package callplan

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The stored hostile plans of testdata/hostile (README.md there), which `paybridge validate`
// is also tested with: each must be refused with a positioned diagnostic, without reading a
// file or using unbounded memory. parse_hostile_test.go covers the generated ones (external
// entities over HTTP, 50 MB, 100 000 levels).

func hostile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "hostile", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHostilePlanVectors(t *testing.T) {
	passwd, _ := os.ReadFile("/etc/passwd")
	firstLine, _, _ := bytes.Cut(passwd, []byte("\n"))
	if len(firstLine) == 0 {
		t.Fatal("control: /etc/passwd is not readable here, so a leak of it could not be seen")
	}
	cases := []struct {
		file, code, msg string
		maxAlloc        uint64
	}{
		{"xxe-file.xml", "xml", "entity", 1 << 20},
		{"xxe-text.xml", "xml", "entity", 1 << 20},
		{"billion-laughs.xml", "xml", "entity", 1 << 20},
		{"quadratic-blowup.xml", "xml", "entity", 4 << 20},
		{"utf7-charset.xml", "xml", "UTF-7", 1 << 20},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			src := hostile(t, tc.file)
			var ds Diagnostics
			alloc := allocated(func() { _, ds = Parse(tc.file, src, noEnv) })
			if !ds.HasErrors() {
				t.Fatalf("accepted:\n%s", ds)
			}
			d := ds[0]
			if d.Code != tc.code || !strings.Contains(d.Message, tc.msg) || d.Pos.Line < 1 || d.Pos.Col < 1 {
				t.Errorf("first diagnostic %q (code %s), want code %s mentioning %q at a line:col", d.String(), d.Code, tc.code, tc.msg)
			}
			if out := ds.String(); bytes.Contains([]byte(out), firstLine) || strings.Contains(out, "root:") {
				t.Errorf("the diagnostics hold /etc/passwd:\n%s", out)
			}
			if alloc > tc.maxAlloc {
				t.Errorf("parsing allocated %d bytes (limit %d): entities are being expanded", alloc, tc.maxAlloc)
			}
			t.Logf("%s → %s (%d bytes allocated)", tc.file, d.String(), alloc)
		})
	}
}

// TestHostilePlanDepthBoundary: the nesting limit (parse_hostile_test.go sends 100 000 levels)
// sits exactly at maxPlanDepth: one level less is a plan, one more is refused.
func TestHostilePlanDepthBoundary(t *testing.T) {
	nest := func(depth int) []byte {
		var b bytes.Buffer
		b.WriteString(`<CallPlan name="deep"><Match number="+441632960000"/><Flow>`)
		b.WriteString(strings.Repeat(`<If test="1 == 1">`, depth))
		b.WriteString(`<Play prompt="welcome"/>`)
		b.WriteString(strings.Repeat(`</If>`, depth))
		b.WriteString(`</Flow></CallPlan>`)
		return b.Bytes()
	}
	// CallPlan and Flow take two levels, the Play one: maxPlanDepth-3 Ifs reach the limit.
	if _, ds := Parse("ok.xml", nest(maxPlanDepth-3), noEnv); ds.HasErrors() {
		t.Fatalf("nesting at the limit refused:\n%s", ds)
	}
	if _, ds := Parse("over.xml", nest(maxPlanDepth-2), noEnv); !ds.HasErrors() || ds[0].Code != "too-deep" || ds[0].Pos.Line != 1 {
		t.Fatalf("one level over the limit: %v", ds)
	}
}
