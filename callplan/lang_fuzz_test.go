package callplan

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paybridge/paybridge/pan"
)

// FuzzParse: any bytes give diagnostics, never a panic; every position lies inside the file;
// no message shows a card-length digit run (diagnostics mask them).
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"../testdata/plans/*.xml", "../testdata/plans/bad/*.xml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`<CallPlan><Flow><If test="((("/></Flow></CallPlan>`))
	f.Add([]byte(`<CallPlan><Flow><Set var="A" value="4242424242424242"/></Flow></CallPlan>`))
	f.Add([]byte("<CallPlan>\n<Flow>\n<Play prompt=\"$(\"/>"))
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><CallPlan/>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "aaaa">]><CallPlan name="&a;"/>`))
	f.Fuzz(func(t *testing.T, src []byte) {
		p, ds := Parse("fuzz.xml", src, func(k string) string {
			if k == "SET" {
				return "value"
			}
			return ""
		})
		lines := bytes.Count(src, []byte("\n")) + 1
		for _, d := range ds {
			if d.Pos.IsValid() && (d.Pos.Line > lines || d.Pos.Col < 1) {
				t.Fatalf("position %v outside a %d-line file: %s", d.Pos, lines, d)
			}
			if d.Message == "" {
				t.Fatalf("empty message at %v", d.Pos)
			}
			if r := unmaskedCardRun(d.Message); r != "" {
				t.Fatalf("unmasked digit run %q in %q", r, d.Message)
			}
		}
		if p != nil && !ds.HasErrors() {
			// A clean plan validates cleanly again, and every Goto has its label.
			if again := validatePlan(p); again.HasErrors() {
				t.Fatalf("Validate disagrees with Parse:\n%s", again)
			}
			walkSteps(p.Flow, func(s Step) bool {
				if g, ok := s.(*GotoStep); ok {
					if _, ok := p.Labels[g.Label]; !ok {
						t.Fatalf("valid plan with a dangling Goto %q", g.Label)
					}
				}
				return true
			})
		}
	})
}

// FuzzExpr: parsing never panics, errors carry a column inside the source (or just after
// it), and a parsed expression evaluates without error whatever the variables hold.
func FuzzExpr(f *testing.F) {
	for _, s := range []string{
		"$(A) == 1", "not ($(A) < 2.5 or empty($(B))) and $(C) != 'x y'", "((((", "$(A) = 1",
		"1 < 2 < 3", "$(GlobalPCI|SessionId) >= -0.5", `"unterminated`, "empty(", "not not not",
	} {
		f.Add(s, "12.5")
	}
	f.Fuzz(func(t *testing.T, src, val string) {
		e, err := parseExpr(src)
		if err != nil {
			var ee *exprError
			if !asExprError(err, &ee) {
				t.Fatalf("error %v is not an *ExprError", err)
			}
			if ee.Col < 1 || ee.Col > len(src)+1 {
				t.Fatalf("column %d outside %q", ee.Col, src)
			}
			return
		}
		if e.String() != src {
			t.Fatalf("String() = %q, want %q", e.String(), src)
		}
		if _, err := e.Eval(func(string) (string, bool) { return val, true }); err != nil {
			t.Fatalf("Eval: %v", err)
		}
		for _, r := range e.varRefs() {
			if r.Offset < 0 || r.Offset >= len(src) || src[r.Offset] != '$' {
				t.Fatalf("VarRef %+v does not point at a $ in %q", r, src)
			}
		}
	})
}

// unmaskedCardRun returns what of msg the one redactor should have masked: a complete card
// number (pan.FindCard), or "".
func unmaskedCardRun(msg string) string {
	if at := pan.FindCard(msg); at >= 0 {
		return msg[at:]
	}
	return ""
}

func asExprError(err error, target **exprError) bool {
	ee, ok := err.(*exprError)
	if ok {
		*target = ee
	}
	return ok
}

// FuzzTemplate: expansion never panics, and each escaper keeps the structure around the
// value: a JSON string stays one valid JSON string holding the value, a header never gains a
// line, a form or query value decodes back to the value, XML text parses back to it.
func FuzzTemplate(f *testing.F) {
	f.Add("Bearer $(T)", `x"y\z`)
	f.Add("$(A|B.c) and $(", "a\r\nb")
	f.Add("$(Sandbox.Url)/s/$(V)", "../x?y#z")
	f.Add("no vars", "")
	f.Fuzz(func(t *testing.T, tmpl, val string) {
		lookup := func(string) (string, bool) { return val, true }
		for _, esc := range []escaper{escapePlain, escapePathSegment, escapeQuery, escapeForm, escapeJSON, escapeXML, escapeHeader} {
			_, _ = expand(tmpl, lookup, esc)
		}
		_, _ = expandURL(tmpl, lookup)
		_, _ = templateVars(tmpl)

		if out, err := expand(`"$(V)"`, lookup, escapeJSON); err == nil {
			var back string
			if json.Unmarshal([]byte(out), &back) != nil {
				t.Fatalf("JSON escaping of %q gave invalid JSON %s", val, out)
			}
			if strings.ToValidUTF8(val, "\uFFFD") == val && back != val {
				t.Fatalf("JSON round trip %q → %q", val, back)
			}
		}
		if out, err := expand("X: $(V)", lookup, escapeHeader); err == nil && strings.ContainsAny(out, "\r\n\x00") {
			t.Fatalf("header value %q kept a line break", out)
		}
		if out, err := expand("$(V)", lookup, escapeForm); err == nil {
			if back, err := url.QueryUnescape(out); err != nil || back != val || strings.ContainsAny(out, "&=") {
				t.Fatalf("form round trip %q → %q → %q, %v", val, out, back, err)
			}
		}
		if out, err := expand("$(V)", lookup, escapePathSegment); err == nil {
			if back, err := url.PathUnescape(out); err != nil || back != val || strings.ContainsAny(out, "/?#") {
				t.Fatalf("path round trip %q → %q → %q, %v", val, out, back, err)
			}
		}
		if out, err := expand("<v>$(V)</v>", lookup, escapeXML); err == nil && isXMLText(val) {
			var back struct {
				V string `xml:",chardata"`
			}
			if err := xml.Unmarshal([]byte(out), &back); err != nil || back.V != val {
				t.Fatalf("XML round trip %q → %s → %q, %v", val, out, back.V, err)
			}
		}
	})
}

// isXMLText reports whether s holds only characters XML 1.0 can carry (and no CR, which
// parsers normalise).
func isXMLText(s string) bool {
	for _, r := range s {
		if r == '\r' || r == 0xFFFD || r < 0x20 && r != '\t' && r != '\n' || r >= 0xD800 && r <= 0xDFFF || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return strings.ToValidUTF8(s, "") == s
}

// FuzzLocator: any body and locator give a value or an error, never a panic; a locator that
// checkJSONLocator accepts never fails with errLocator on a parsed document.
func FuzzLocator(f *testing.F) {
	f.Add([]byte(`{"a":{"b":[1,{"c":"x"}]}}`), "a.b[1].c")
	f.Add([]byte(`[[1,2],[3]]`), "[1][0]")
	f.Add([]byte(`<r><a x="1"><b>t</b><b>u</b></a></r>`), "r/a/b[2]")
	f.Add([]byte(`<r><a x="1"/></r>`), "/r/a/@x")
	f.Add([]byte(`{"n": 1.5e300}`), "n")
	f.Fuzz(func(t *testing.T, body []byte, loc string) {
		for _, typ := range []ResponseType{ResponseJSON, ResponseXML} {
			doc, err := parseResponse(typ, body)
			if err != nil {
				continue
			}
			v, err := doc.Locate(loc)
			wellFormed := checkJSONLocator(loc) == nil
			if typ == ResponseXML {
				wellFormed = checkXMLLocator(loc) == nil
			}
			if wellFormed && err != nil && !errors.Is(err, errNotFound) {
				t.Fatalf("%s locator %q accepted by the parser but Locate says %v", typ, loc, err)
			}
			if !wellFormed && !errors.Is(err, errLocator) {
				t.Fatalf("%s locator %q refused by the parser but Locate says %v", typ, loc, err)
			}
			if err == nil {
				for _, dt := range []DataType{DataString, DataDecimal, DataInteger, DataBoolean} {
					_, _ = convertValue(v, dt)
				}
			}
		}
	})
}

// FuzzURLOrigin: the references urlOriginRefs leaves out cannot move a request. With the
// origin references fixed, whatever the others hold, every URL that expands has the same
// scheme, host and port as with harmless values.
func FuzzURLOrigin(f *testing.F) {
	f.Add("https://api.example.com/$(A)?q=$(B)", "evil.com:1/x@y")
	f.Add("$(Base)$(Tail)/x", ".evil.com")
	f.Add("$(Base)/x/$(Tail)", "@evil.com")
	f.Add("https://a$(X).example.com:$(P)/", "b")
	f.Add("http://h/$(A)#$(B)", "//evil.com")
	f.Fuzz(func(t *testing.T, tmpl, val string) {
		origin, err := urlOriginRefs(tmpl)
		if err != nil {
			return
		}
		fixed := map[string]bool{}
		for _, r := range origin {
			fixed[r.Name] = true
		}
		expand := func(other string) (string, bool) {
			out, err := expandURL(tmpl, func(name string) (string, bool) {
				if fixed[name] {
					return "https://base.example", true
				}
				return other, true
			})
			return out, err == nil
		}
		a, okA := expand("x")
		b, okB := expand(val)
		if !okA || !okB {
			return
		}
		ua, errA := url.Parse(a)
		ub, errB := url.Parse(b)
		if errA != nil || errB != nil {
			return
		}
		if !urlSameOrigin(ua, ub) || ua.User.String() != ub.User.String() {
			t.Fatalf("%q with %q goes to %s://%s, with \"x\" to %s://%s", tmpl, val, ub.Scheme, ub.Host, ua.Scheme, ua.Host)
		}
	})
}

// urlSameOrigin compares scheme, host and port (default ports made explicit), as the engine
// does for redirects.
func urlSameOrigin(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if strings.EqualFold(u.Scheme, "https") {
			return "443"
		}
		return "80"
	}
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}
