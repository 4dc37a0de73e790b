package callplan

import (
	"errors"
	"testing"
)

func TestTemplateVars(t *testing.T) {
	refs, err := templateVars("Bearer $(AccessToken) for $(GlobalPCI|SessionId) costs $5 $(Pay.Result)")
	if err != nil {
		t.Fatal(err)
	}
	want := []varRef{{"AccessToken", 7}, {"GlobalPCI|SessionId", 26}, {"Pay.Result", 58}}
	if len(refs) != len(want) {
		t.Fatalf("refs = %+v", refs)
	}
	for i := range want {
		if refs[i] != want[i] {
			t.Errorf("ref %d = %+v, want %+v", i, refs[i], want[i])
		}
	}
	for _, bad := range []string{"$(", "x $(A", "$()", "$(1x)", "$(a b)", "$(a-b)"} {
		_, err := templateVars(bad)
		var te *templateError
		if !errors.As(err, &te) || !errors.Is(err, errVarSyntax) {
			t.Errorf("TemplateVars(%q) = %v, want a TemplateError wrapping ErrVarSyntax", bad, err)
		}
	}
}

func TestExpandEscapers(t *testing.T) {
	vars := map[string]string{
		"Q":   `he said "hi" \ bye`,
		"Amp": "a&b=c d/e?f",
		"Lt":  "<tag attr='x'>&",
		"NL":  "a\r\nX-Injected: 1",
		"U":   "ünï",
	}
	tests := []struct {
		tmpl string
		esc  escaper
		want string
	}{
		{`{"name":"$(Q)"}`, escapeJSON, `{"name":"he said \"hi\" \\ bye"}`},
		{`{"c":"$(NL)"}`, escapeJSON, `{"c":"a\r\nX-Injected: 1"}`},
		{`{"u":"$(U)"}`, escapeJSON, `{"u":"ünï"}`},
		{"k=$(Amp)&x=1", escapeForm, "k=a%26b%3Dc+d%2Fe%3Ff&x=1"},
		{"<v>$(Lt)</v>", escapeXML, "<v>&lt;tag attr=&#39;x&#39;&gt;&amp;</v>"},
		{"/a/$(Amp)", escapePathSegment, "/a/a&b=c%20d%2Fe%3Ff"},
		{"q=$(Amp)", escapeQuery, "q=a%26b%3Dc+d%2Fe%3Ff"},
		{"plain $(Amp) $(Unset).", escapePlain, "plain a&b=c d/e?f ."},
		{"no vars at all", escapeJSON, "no vars at all"},
		{"$(Q)", nil, `he said "hi" \ bye`},
	}
	for _, tt := range tests {
		got, err := expand(tt.tmpl, langLookup(vars), tt.esc)
		if err != nil || got != tt.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tt.tmpl, got, err, tt.want)
		}
	}
}

func TestExpandHeaderRefusesInjection(t *testing.T) {
	for _, v := range []string{"a\r\nX: 1", "a\nb", "a\rb", "a\x00b", "a\x7fb", "a\x01"} {
		_, err := expand("Bearer $(T)", langLookup(map[string]string{"T": v}), escapeHeader)
		if !errors.Is(err, errUnsafeValue) {
			t.Errorf("header value %q: err = %v, want ErrUnsafeValue", v, err)
		}
	}
	got, err := expand("Bearer $(T)", langLookup(map[string]string{"T": "abc.def\tghi"}), escapeHeader)
	if err != nil || got != "Bearer abc.def\tghi" {
		t.Errorf("tab in header: %q, %v", got, err)
	}
}

func TestBodyEscaper(t *testing.T) {
	probe := `"&<`
	tests := []struct {
		ct   string
		want string
	}{
		{"application/json", `\"&<`},
		{"application/json; charset=utf-8", `\"&<`},
		{"application/vnd.api+json", `\"&<`},
		{"application/x-www-form-urlencoded", "%22%26%3C"},
		{"application/xml", "&#34;&amp;&lt;"},
		{"text/xml; charset=utf-8", "&#34;&amp;&lt;"},
		{"application/soap+xml", "&#34;&amp;&lt;"},
		{"text/plain", probe},
		{"", probe},
		{";;garbage", probe},
	}
	for _, tt := range tests {
		got, err := bodyEscaper(tt.ct)(probe)
		if err != nil || got != tt.want {
			t.Errorf("BodyEscaper(%q) = %q, %v; want %q", tt.ct, got, err, tt.want)
		}
	}
}

func TestInferContentType(t *testing.T) {
	tests := map[string]string{
		`{"a":1}`: "application/json",
		` [1]`:    "application/json",
		"<x/>":    "application/xml",
		"grant_type=client_credentials&scope=globalpci&client_id=#(env:ID)": "application/x-www-form-urlencoded",
		"hello world": "text/plain; charset=utf-8",
		"":            "",
	}
	for body, want := range tests {
		if got := inferContentType(body); got != want {
			t.Errorf("InferContentType(%q) = %q, want %q", body, got, want)
		}
	}
}

func TestExpandURL(t *testing.T) {
	vars := map[string]string{
		"Sandbox.Url":         "http://127.0.0.1:4321",
		"Slash":               "http://127.0.0.1:4321/",
		"GlobalPCI|SessionId": "s 1/../admin",
		"Q":                   "a&b=c",
		"Evil":                "http://evil.example/x?y=1",
		"NotURL":              "javascript:alert(1)",
	}
	tests := []struct {
		tmpl, want string
	}{
		{"$(Sandbox.Url)/globalpci/v1/session/$(GlobalPCI|SessionId)", "http://127.0.0.1:4321/globalpci/v1/session/s%201%2F..%2Fadmin"},
		{"$(Slash)/auth/connect/token", "http://127.0.0.1:4321/auth/connect/token"},
		{"https://api.example.com/search?q=$(Q)&x=$(GlobalPCI|SessionId)", "https://api.example.com/search?q=a%26b%3Dc&x=s+1%2F..%2Fadmin"},
		{"https://api.example.com/p#$(Q)", "https://api.example.com/p#a%26b%3Dc"},
	}
	for _, tt := range tests {
		got, err := expandURL(tt.tmpl, langLookup(vars))
		if err != nil || got != tt.want {
			t.Errorf("ExpandURL(%q) = %q, %v; want %q", tt.tmpl, got, err, tt.want)
		}
	}
	for _, bad := range []string{"$(Evil)/x", "$(NotURL)/x", "$(Unset)/x", "ftp://x/$(Q)", "https://user:pw@x/", "/relative/$(Q)"} {
		if got, err := expandURL(bad, langLookup(vars)); !errors.Is(err, errUnsafeValue) {
			t.Errorf("ExpandURL(%q) = %q, %v; want ErrUnsafeValue", bad, got, err)
		}
	}
}

func TestIsLiteral(t *testing.T) {
	for s, want := range map[string]bool{"cost $5 (approx)": true, "x $(Y)": false, "": true, "$(": false} {
		if got := isLiteral(s); got != want {
			t.Errorf("IsLiteral(%q) = %v, want %v", s, got, want)
		}
	}

}
