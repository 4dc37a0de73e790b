package callplan

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"mime"
	"net/url"
	"strings"
)

// A template is an attribute value or element text that may contain $(Name) references:
//
//	"Bearer $(AccessToken)"   "$(Sandbox.Url)/globalpci/v1/session/$(GlobalPCI|SessionId)"
//
// Names are letters, digits, '_', '.' and '|', starting with a letter or '_'. A '$' that is
// not followed by '(' is an ordinary character; "$(" always starts a reference. Expanding a
// template replaces each reference with the variable's value passed through an escaper
// chosen for where the text goes (a URL path segment, a header value, a JSON body, …), so a
// value can never change the structure around it. An unset variable expands to "".

// An escaper makes a variable's value safe for one context. It returns an error (wrapping
// errUnsafeValue) when the value cannot be made safe, e.g. CR/LF in a header. There is one per
// context.
type escaper func(string) (string, error)

// escapePlain inserts the value unchanged (prompt names, Set values, comparisons).
func escapePlain(s string) (string, error) { return s, nil }

// escapePathSegment percent-encodes for one URL path segment ('/' becomes %2F).
func escapePathSegment(s string) (string, error) { return url.PathEscape(s), nil }

// escapeQuery percent-encodes for a URL query key or value ('&', '=', '+' are encoded).
func escapeQuery(s string) (string, error) { return url.QueryEscape(s), nil }

// escapeForm encodes for an application/x-www-form-urlencoded body.
func escapeForm(s string) (string, error) { return url.QueryEscape(s), nil }

// escapeJSON encodes for the inside of a JSON string ("…"): quotes, backslashes and control
// characters are escaped.
func escapeJSON(s string) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return "", fmt.Errorf("%w: %v", errUnsafeValue, err)
	}
	out := bytes.TrimSpace(b.Bytes())
	return string(out[1 : len(out)-1]), nil
}

// escapeXML encodes for XML text or an attribute value.
func escapeXML(s string) (string, error) {
	var b strings.Builder
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		return "", fmt.Errorf("%w: %v", errUnsafeValue, err)
	}
	return b.String(), nil
}

// escapeHeader refuses values that would break out of an HTTP (or SIP) header: CR, LF, NUL
// and other control characters except tab.
func escapeHeader(s string) (string, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' || c == 0x7f {
			return "", fmt.Errorf("%w: control character %#02x in a header value", errUnsafeValue, c)
		}
	}
	return s, nil
}

// bodyEscaper returns the escaper for a request body of the given Content-Type:
// JSON for application/json and +json, form for application/x-www-form-urlencoded, XML for
// application/xml, text/xml and +xml, plain otherwise.
func bodyEscaper(contentType string) escaper {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return escapeJSON
	case mt == "application/x-www-form-urlencoded":
		return escapeForm
	case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		return escapeXML
	}
	return escapePlain
}

// inferContentType guesses the Content-Type of a request body template that has no
// Content-Type header: "application/json" when it starts with { or [, "application/xml" when
// it starts with <, "application/x-www-form-urlencoded" when it reads as key=value pairs
// joined by &, and "text/plain; charset=utf-8" otherwise. The engine sends what it inferred.
func inferContentType(body string) string {
	t := strings.TrimSpace(body)
	switch {
	case t == "":
		return ""
	case t[0] == '{' || t[0] == '[':
		return "application/json"
	case t[0] == '<':
		return "application/xml"
	case !strings.ContainsAny(t, " \t\r\n") && strings.Contains(t, "="):
		return "application/x-www-form-urlencoded"
	}
	return "text/plain; charset=utf-8"
}

// templateVars returns every $(Name) reference in tmpl, in order. A malformed reference
// ("$(" without ")", a bad name) is an error wrapping errVarSyntax.
func templateVars(tmpl string) ([]varRef, error) {
	var out []varRef
	err := scanTemplate(tmpl, func(lit string) {}, func(name string, off int) error {
		out = append(out, varRef{Name: name, Offset: off})
		return nil
	})
	return out, err
}

// isLiteral reports whether tmpl contains no $( at all.
func isLiteral(tmpl string) bool { return !strings.Contains(tmpl, "$(") }

// scanTemplate calls lit for each literal run and ref for each reference.
func scanTemplate(tmpl string, lit func(string), ref func(name string, off int) error) error {
	i := 0
	for i < len(tmpl) {
		j := strings.Index(tmpl[i:], "$(")
		if j < 0 {
			lit(tmpl[i:])
			return nil
		}
		if j > 0 {
			lit(tmpl[i : i+j])
		}
		i += j
		name, n, err := scanVarRef(tmpl[i:])
		if err != nil {
			return &templateError{Offset: i, Err: err}
		}
		if err := ref(name, i); err != nil {
			return err
		}
		i += n
	}
	return nil
}

// templateError locates a malformed reference: Offset is the byte offset of its "$".
type templateError struct {
	Offset int
	Err    error
}

func (e *templateError) Error() string { return fmt.Sprintf("offset %d: %v", e.Offset, e.Err) }
func (e *templateError) Unwrap() error { return e.Err }

// Expand replaces every $(Name) in tmpl with the variable's value from lookup, unchanged (an
// unset variable is ""): the expansion of prompt names, Set and Switch values and the
// amounts, references and numbers of Pay and SendPaymentLink. An ApiInteraction's request
// escapes each value for where it goes instead (APIRequest.NewRequest).
func Expand(tmpl string, lookup func(string) (string, bool)) (string, error) {
	return expand(tmpl, lookup, escapePlain)
}

// expand replaces every $(Name) in tmpl with esc(lookup(Name)). Literal text is copied
// unchanged: it was written by the plan's author for this context.
func expand(tmpl string, lookup func(string) (string, bool), esc escaper) (string, error) {
	if isLiteral(tmpl) {
		return tmpl, nil
	}
	if esc == nil {
		esc = escapePlain
	}
	var b strings.Builder
	b.Grow(len(tmpl) + 16)
	err := scanTemplate(tmpl, func(s string) { b.WriteString(s) }, func(name string, _ int) error {
		v, _ := lookup(name)
		e, err := esc(v)
		if err != nil {
			return fmt.Errorf("$(%s): %w", name, err)
		}
		b.WriteString(e)
		return nil
	})
	if err != nil {
		return "", err
	}
	return b.String(), nil
}

// expandURL expands a URL template with the escaping each part needs:
//
//   - a reference at the very start is the base URL ($(Sandbox.Url)): inserted as is, and it
//     must be an absolute http or https URL;
//   - a reference in the path is one path segment (percent-encoded, '/' included);
//   - a reference after '?' is a query key or value (query-encoded);
//   - a reference after '#' is fragment text (query-encoded).
//
// The result must be an absolute http(s) URL without a user:password part.
func expandURL(tmpl string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	err := scanTemplate(tmpl, func(s string) { b.WriteString(s) }, func(name string, off int) error {
		v, _ := lookup(name)
		var e string
		var err error
		so := b.String()
		switch {
		case off == 0:
			e, err = checkBaseURL(v)
		case strings.ContainsAny(so, "?#"):
			e, err = escapeQuery(v)
		default:
			e, err = escapePathSegment(v)
		}
		if err != nil {
			return fmt.Errorf("$(%s): %w", name, err)
		}
		b.WriteString(e)
		return nil
	})
	if err != nil {
		return "", err
	}
	out := b.String()
	u, err := url.Parse(out)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errUnsafeValue, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("%w: %q is not an absolute http(s) URL", errUnsafeValue, redactURL(u))
	}
	if u.User != nil {
		return "", fmt.Errorf("%w: credentials in a URL are not allowed", errUnsafeValue)
	}
	return out, nil
}

func checkBaseURL(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.ContainsAny(v, " \t\r\n") {
		return "", fmt.Errorf("%w: a base URL must be an absolute http(s) URL without query or credentials", errUnsafeValue)
	}
	return strings.TrimSuffix(v, "/"), nil
}

func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	return c.String()
}

// urlOriginRefs returns the references of a URL template that can decide where the request
// goes: the base URL at the very start, and every reference before the path, query or
// fragment begins (in "http://$(Host)/x", or "$(Base)$(More)/x", or "https://a$(X).com:$(P)/").
// A reference after the first literal '/', '?' or '#' that follows the authority is escaped
// into that part and cannot change the scheme, host or port. A template that is not built
// on "scheme://" or a base reference has no origin of its own: every reference counts.
func urlOriginRefs(tmpl string) ([]varRef, error) {
	refs, err := templateVars(tmpl)
	if err != nil || len(refs) == 0 {
		return nil, err
	}
	start := -1
	switch {
	case refs[0].Offset == 0:
		start = strings.Index(tmpl, ")") + 1
	case strings.Contains(tmpl, "://"):
		start = strings.Index(tmpl, "://") + len("://")
	}
	end := len(tmpl)
	if start >= 0 {
		if i := strings.IndexAny(tmpl[start:], "/?#"); i >= 0 {
			end = start + i
		}
	}
	var out []varRef
	for _, r := range refs {
		if r.Offset < end {
			out = append(out, r)
		}
	}
	return out, nil
}
