package callplan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// userAgent is sent when a plan's request sets no User-Agent header.
const userAgent = "paybridge-callplan/1"

// NewRequest builds the HTTP request an <ApiInteraction> sends, with lookup giving the
// variables' current values: the URL expanded part by part (a base URL at the start, path
// segments and query values each with their own escaping; see expandURL), every header value
// refusing CR, LF and NUL, the body escaped for its Content-Type (the plan's, or one inferred
// from the body and then set), the method (GET when none) and a User-Agent unless
// the plan sets one.
//
// An error names the part that failed — "url: …", "header NAME: …", "body: …" — and wraps
// errVarSyntax or errUnsafeValue; it never quotes a variable's value.
func (r *APIRequest) NewRequest(ctx context.Context, lookup func(string) (string, bool)) (*http.Request, error) {
	u, err := expandURL(r.URL, lookup)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	pu, _ := url.Parse(u)
	host := pu.Host
	method := strings.ToUpper(r.Method)
	if method == "" {
		method = defaultAPIMethod
	}
	h := http.Header{}
	for _, hd := range r.Headers {
		v, err := expand(hd.Value, lookup, escapeHeader)
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", hd.Key, err)
		}
		h.Add(hd.Key, v)
	}
	var body io.Reader
	if strings.TrimSpace(r.Body) != "" {
		ct := h.Get("Content-Type")
		if ct == "" {
			ct = inferContentType(r.Body)
			h.Set("Content-Type", ct)
		}
		b, err := expand(r.Body, lookup, bodyEscaper(ct))
		if err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
		body = strings.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", method, host, err)
	}
	req.Header = h
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", userAgent)
	}
	return req, nil
}

// OriginVars returns the variables of the request's URL template that decide where it goes —
// its scheme, host or port (see urlOriginRefs) — in template order. The engine refuses to send
// the request when one of them holds untrusted data and the step does not allow it
// (UntrustedHost); the validator applies the same rule to a plan.
func (r *APIRequest) OriginVars() []string {
	refs, _ := urlOriginRefs(r.URL)
	out := make([]string, len(refs))
	for i, ref := range refs {
		out[i] = ref.Name
	}
	return out
}

// Values reads a response body into one value per Field, in order: each located (Locator)
// and converted (DataType). A field the response does not have, or whose value does not
// convert, is "". The error reports the first field that failed for another reason than being
// absent ("field DEST: …"). When the body does not parse as the response's Type at all, Values
// returns nil and that error.
func (r *APIResponse) Values(body []byte) ([]string, error) {
	doc, err := parseResponse(r.Type, body)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(r.Fields))
	var firstErr error
	for i, f := range r.Fields {
		v, err := doc.Locate(f.Locator)
		if err == nil {
			v, err = convertValue(v, f.DataType)
		}
		if err != nil {
			v = ""
			if firstErr == nil && !errors.Is(err, errNotFound) {
				firstErr = fmt.Errorf("field %s: %w", f.Destination, err)
			}
		}
		out[i] = v
	}
	return out, firstErr
}

// Sources returns the variables the Set's value is computed from, and false when the value is
// not a well-formed template.
func (s *SetStep) Sources() ([]string, bool) {
	refs, err := templateVars(s.Value)
	if err != nil {
		return nil, false
	}
	out := make([]string, len(refs))
	for i, ref := range refs {
		out[i] = ref.Name
	}
	return out, true
}
