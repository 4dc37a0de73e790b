package callplan

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// The hostile plans of issue 10's attack run (XXE, billion laughs, 50 MB, deep nesting), kept
// as regression tests: each must be refused (or, for an external DTD, judged without it) with
// a positioned diagnostic, without reading a file, fetching a URL or using unbounded memory.
// Vectors: testdata/hostile/README.md.

// allocDuring returns the bytes allocated while f ran.
func allocDuring(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func hostile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "hostile", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHostilePlans(t *testing.T) {
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
			alloc := allocDuring(func() { _, ds = Parse(tc.file, src, noEnv) })
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

// TestHostilePlanExternalDTDIsNeverFetched: an external parameter entity names a URL we serve;
// nothing may ever ask for it, and the plan is judged as if the DTD were not there.
func TestHostilePlanExternalDTDIsNeverFetched(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`<!ENTITY % send "<!ENTITY leak SYSTEM 'file:///etc/passwd'>">`))
	}))
	defer srv.Close()
	src := bytes.ReplaceAll(hostile(t, "xxe-parameter-http.xml"), []byte("@URL@"), []byte(srv.URL))
	_, ds := Parse("xxe-parameter-http.xml", src, noEnv)
	if ds.HasErrors() {
		t.Fatalf("the plan itself is valid; with the DTD ignored it must parse:\n%s", ds)
	}
	// Control: the server answers, so a fetch would have been counted.
	if res, err := http.Get(srv.URL + "/evil.dtd"); err != nil || res.StatusCode != 200 {
		t.Fatalf("control request: %v", err)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("the DTD URL was requested %d times by the parser", n-1)
	}
}

// TestHostilePlanTooLarge: 50 MB of plan is refused before it is parsed, from memory and from
// a file (which is not even read).
func TestHostilePlanTooLarge(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`<CallPlan name="huge"><Match number="+441632960000"/><Flow>`)
	for b.Len() < 50<<20 {
		b.WriteString(`<Play prompt="welcome"/>`)
	}
	b.WriteString(`</Flow></CallPlan>`)
	src := b.Bytes()
	var ds Diagnostics
	alloc := allocDuring(func() { _, ds = Parse("huge.xml", src, noEnv) })
	if len(ds) != 1 || ds[0].Code != "too-large" {
		t.Fatalf("50 MB in memory: %v", ds)
	}
	if alloc > 1<<20 {
		t.Errorf("refusing 50 MB allocated %d bytes", alloc)
	}
	path := filepath.Join(t.TempDir(), "huge.xml")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	alloc = allocDuring(func() { _, ds = ParseFile(path, noEnv) })
	if len(ds) != 1 || ds[0].Code != "too-large" || ds[0].Pos.File != path {
		t.Fatalf("50 MB file: %v", ds)
	}
	if alloc > 1<<20 {
		t.Errorf("ParseFile read the 50 MB file (%d bytes allocated) before refusing it", alloc)
	}
}

// TestHostilePlanDeepNesting: 100 000 nested elements stop at the depth limit with a
// positioned error; the limit itself is allowed.
func TestHostilePlanDeepNesting(t *testing.T) {
	nest := func(depth int, open, close string) []byte {
		var b bytes.Buffer
		b.WriteString(`<CallPlan name="deep"><Match number="+441632960000"/><Flow>`)
		for i := 0; i < depth; i++ {
			b.WriteString(open)
		}
		b.WriteString(`<Play prompt="welcome"/>`)
		for i := 0; i < depth; i++ {
			b.WriteString(close)
		}
		b.WriteString(`</Flow></CallPlan>`)
		return b.Bytes()
	}
	var ds Diagnostics
	alloc := allocDuring(func() { _, ds = Parse("deep.xml", nest(100000, "<a>", "</a>"), noEnv) })
	if !ds.HasErrors() || ds[0].Code != "too-deep" || ds[0].Pos.Line != 1 || ds[0].Pos.Col < 1 {
		t.Fatalf("100 000 levels: %v", ds)
	}
	if alloc > 16<<20 {
		t.Errorf("100 000 levels allocated %d bytes", alloc)
	}
	// Flow and CallPlan take two levels: maxPlanDepth-2 nested Ifs hold the Play at the limit.
	if _, ds := Parse("ok.xml", nest(maxPlanDepth-3, `<If test="1 == 1">`, `</If>`), noEnv); ds.HasErrors() {
		t.Fatalf("nesting within the limit refused:\n%s", ds)
	}
	if _, ds := Parse("over.xml", nest(maxPlanDepth-2, `<If test="1 == 1">`, `</If>`), noEnv); !ds.HasErrors() || ds[0].Code != "too-deep" {
		t.Fatalf("one level over the limit: %v", ds)
	}
}
