package callplan

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// Hostile plans from the outside review (all held): external entities (XXE), entity expansion
// (billion laughs), a 50 MB file, deep nesting. Each is refused with a diagnostic, reads or
// fetches nothing, and costs little memory.

// allocated returns how many bytes fn allocates.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func hasCode(ds Diagnostics, code string) bool {
	for _, d := range ds {
		if d.Code == code && d.Severity == SeverityError {
			return true
		}
	}
	return false
}

func TestHostilePlanExternalEntities(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(secretFile, []byte("TOPSECRET-XXE-CONTENT"), 0o600); err != nil {
		t.Fatal(err)
	}
	var fetched atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		fmt.Fprint(w, "TOPSECRET-XXE-CONTENT")
	}))
	defer srv.Close()
	body := `<CallPlan name="&xxe;"><Match number="+441632960000"/><Flow><Play prompt="welcome"/><Set var="A" value="&xxe;"/></Flow></CallPlan>`
	for name, src := range map[string]string{
		"file entity": `<?xml version="1.0"?><!DOCTYPE CallPlan [<!ENTITY xxe SYSTEM "file://` + secretFile + `">]>` + body,
		"http entity": `<?xml version="1.0"?><!DOCTYPE CallPlan [<!ENTITY xxe SYSTEM "` + srv.URL + `/x">]>` + body,
		"parameter entity": `<?xml version="1.0"?><!DOCTYPE CallPlan [<!ENTITY % p SYSTEM "file://` + secretFile + `"> %p;]>` +
			strings.ReplaceAll(body, "&xxe;", "x"),
		"external DTD": `<?xml version="1.0"?><!DOCTYPE CallPlan SYSTEM "` + srv.URL + `/dtd">` + strings.ReplaceAll(body, "&xxe;", "x"),
		"xinclude": `<CallPlan name="x" xmlns:xi="http://www.w3.org/2001/XInclude"><Match number="+441632960000"/><Flow>` +
			`<xi:include href="file://` + secretFile + `" parse="text"/></Flow></CallPlan>`,
	} {
		p, ds := Parse("xxe.xml", []byte(src), func(string) string { return "" })
		out := ds.String()
		if p != nil {
			out += fmt.Sprintf("%+v", *p)
		}
		if strings.Contains(out, "TOPSECRET") {
			t.Errorf("%s: the entity's content reached the plan or a message: %s", name, out)
		}
		if name != "parameter entity" && name != "external DTD" && !ds.HasErrors() {
			t.Errorf("%s: accepted:\n%s", name, out)
		}
	}
	if n := fetched.Load(); n != 0 {
		t.Fatalf("the parser fetched an external entity %d times", n)
	}
}

func TestHostilePlanEntityExpansion(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><!DOCTYPE CallPlan [<!ENTITY lol0 "lollollollollollollollollollol">`)
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, `<!ENTITY lol%d "%s">`, i, strings.Repeat(fmt.Sprintf("&lol%d;", i-1), 10))
	}
	b.WriteString(`]><CallPlan name="&lol9;"><Flow><Set var="A" value="&lol9;"/></Flow></CallPlan>`)
	var ds Diagnostics
	used := allocated(func() { _, ds = Parse("lol.xml", []byte(b.String()), func(string) string { return "" }) })
	if !hasCode(ds, "xml") {
		t.Fatalf("billion laughs not refused: %s", ds)
	}
	if used > 16<<20 {
		t.Fatalf("billion laughs cost %d MB", used>>20)
	}
}

func TestHostilePlanTooLarge(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.xml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// 50 MB of a plausible plan: comments pad a valid document.
	if _, err := f.WriteString(`<CallPlan name="big"><Match number="+441632960000"/><Flow>`); err != nil {
		t.Fatal(err)
	}
	chunk := []byte("<!--" + strings.Repeat("x", 1<<20-7) + "-->")
	for i := 0; i < 50; i++ {
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	f.WriteString(`<Hangup/></Flow></CallPlan>`)
	f.Close()

	var ds Diagnostics
	used := allocated(func() { _, ds = ParseFile(path, func(string) string { return "" }) })
	if !hasCode(ds, "too-large") {
		t.Fatalf("50 MB plan file: %s", ds)
	}
	if used > 4<<20 {
		t.Fatalf("refusing a 50 MB file allocated %d MB: it was read", used>>20)
	}
	// The directory loader (serve, validate DIR) refuses it the same way and keeps the others.
	if err := os.WriteFile(filepath.Join(dir, "ok.xml"), []byte(`<CallPlan name="ok"><Match number="+441632960001"/><Flow><Hangup/></Flow></CallPlan>`), 0o644); err != nil {
		t.Fatal(err)
	}
	set, ds := LoadDir(dir, func(string) string { return "" })
	if !hasCode(ds, "too-large") || set == nil || len(set.Plans()) != 1 {
		t.Fatalf("LoadDir with a 50 MB plan: %v %s", set, ds)
	}
	// In memory (standard input), the bytes past the limit are refused too.
	big := bytes.Repeat([]byte(" "), MaxPlanBytes+1)
	if _, ds := Parse("<stdin>", big, func(string) string { return "" }); !hasCode(ds, "too-large") {
		t.Fatalf("oversized source: %s", ds)
	}
}

func TestHostilePlanDeepNesting(t *testing.T) {
	for name, src := range map[string]string{
		"elements": `<CallPlan name="deep"><Flow>` + strings.Repeat("<a>", 100000) + strings.Repeat("</a>", 100000) + `</Flow></CallPlan>`,
		"steps": `<CallPlan name="deep"><Flow>` + strings.Repeat(`<If test="1 == 1">`, 1000) + `<Hangup/>` +
			strings.Repeat("</If>", 1000) + `</Flow></CallPlan>`,
		"unclosed": `<CallPlan name="deep"><Flow>` + strings.Repeat("<If>", 200000),
	} {
		var ds Diagnostics
		used := allocated(func() { _, ds = Parse("deep.xml", []byte(src), func(string) string { return "" }) })
		if !hasCode(ds, "too-deep") {
			t.Errorf("%s: %s", name, ds)
		}
		if used > 32<<20 {
			t.Errorf("%s: %d MB allocated", name, used>>20)
		}
	}
}
