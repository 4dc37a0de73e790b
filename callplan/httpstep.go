package callplan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paybridge/paybridge/event"
)

// stepAPI runs an <ApiInteraction>: builds the request from its templates (each part with
// its own escaping), sends it with the step's timeout, stores the HTTP status in
// ResponseCodeDestination and each located Field in its Destination (a field the response
// does not have, or that does not convert, becomes ""). When no response arrives the status
// is "", $(<Name>.Error) says why, and the flow jumps to OnError if set.
func (r *run) stepAPI(ctx context.Context, s *APIInteractionStep) error {
	started := time.Now()
	status, err := r.doAPI(ctx, s)
	ev := &event.APICalled{Name: s.Name, Status: status, DurationMS: time.Since(started).Milliseconds()}
	if err != nil {
		ev.Error = err.Error()
	}
	r.emit("ApiInteraction", ev)
	if s.Name != "" {
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		r.set(s.Name+".Error", msg)
	}
	if err != nil && status == 0 {
		if s.Response.ResponseCodeDestination != "" {
			r.set(s.Response.ResponseCodeDestination, "")
		}
		if s.OnError != "" {
			return &gotoSignal{label: s.OnError}
		}
	}
	return nil
}

// doAPI returns the HTTP status (0 = no response) and what went wrong. Errors name the
// step's method and host, never its URL path, body or header values.
func (r *run) doAPI(ctx context.Context, s *APIInteractionStep) (int, error) {
	if name := r.untrustedOrigin(s.Request.URL); name != "" && !s.UntrustedHost {
		return 0, fmt.Errorf("%w: %w: $(%s) decides where the request goes and holds data from a response or the caller (untrustedHost=\"true\" allows it)",
			ErrNoResponse, ErrUntrustedHost, name)
	}
	req, host, err := r.buildRequest(ctx, s)
	if err != nil {
		return 0, err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultAPITimeout
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := *r.http
	var redirectErr error
	hc.CheckRedirect = func(next *http.Request, via []*http.Request) error {
		if err := checkRedirect(s.Redirects, next, via); err != nil {
			redirectErr = err
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := hc.Do(req.WithContext(tctx))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(tctx.Err(), context.DeadlineExceeded) {
			return 0, fmt.Errorf("%w: %s %s: timed out after %v", ErrNoResponse, req.Method, host, timeout)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("%w: %s %s: %v", ErrNoResponse, req.Method, host, err)
	}
	defer resp.Body.Close()
	if s.Response.ResponseCodeDestination != "" {
		r.set(s.Response.ResponseCodeDestination, strconv.Itoa(resp.StatusCode))
	}
	if redirectErr != nil {
		// The 3xx is the step's response; its body is not what the plan asked for.
		r.clearFields(s)
		return resp.StatusCode, fmt.Errorf("%s %s: %w", req.Method, host, redirectErr)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		r.clearFields(s)
		return resp.StatusCode, fmt.Errorf("%s %s: reading response: %v", req.Method, host, err)
	}
	if len(s.Response.Fields) == 0 {
		return resp.StatusCode, nil
	}
	doc, err := ParseResponse(s.Response.Type, body)
	if err != nil {
		r.clearFields(s)
		return resp.StatusCode, fmt.Errorf("%s %s: response: %w", req.Method, host, err)
	}
	var firstErr error
	for _, f := range s.Response.Fields {
		v, err := doc.Locate(f.Locator)
		if err == nil {
			v, err = ConvertValue(v, f.DataType)
		}
		if err != nil {
			v = ""
			if firstErr == nil && !errors.Is(err, ErrNotFound) {
				firstErr = fmt.Errorf("field %s: %w", f.Destination, err)
			}
		}
		r.set(f.Destination, v)
		r.lookedUp[f.Destination] = true
		if f.Secret {
			r.secrets.note(f.Destination, v)
		}
	}
	return resp.StatusCode, firstErr
}

// checkRedirect applies a step's redirect policy to the next hop of a redirect chain.
func checkRedirect(p RedirectPolicy, next *http.Request, via []*http.Request) error {
	if len(via) > MaxAPIRedirects {
		return fmt.Errorf("%w: more than %d redirects", ErrRedirect, MaxAPIRedirects)
	}
	switch p {
	case RedirectAny:
		return nil
	case RedirectNone:
		return fmt.Errorf("%w: redirects=\"none\"", ErrRedirect)
	}
	if from := via[0].URL; !sameOrigin(from, next.URL) {
		return fmt.Errorf("%w: it goes to another origin (%s://%s); redirects=\"any\" follows it", ErrRedirect, next.URL.Scheme, next.URL.Host)
	}
	return nil
}

// sameOrigin compares scheme, host and port (default ports made explicit).
func sameOrigin(a, b *url.URL) bool {
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

func (r *run) clearFields(s *APIInteractionStep) {
	for _, f := range s.Response.Fields {
		r.set(f.Destination, "")
	}
}

func (r *run) buildRequest(ctx context.Context, s *APIInteractionStep) (*http.Request, string, error) {
	u, err := ExpandURL(s.Request.URL, r.lookup)
	if err != nil {
		return nil, "", fmt.Errorf("%w: url: %w", ErrNoResponse, err)
	}
	pu, _ := url.Parse(u)
	host := pu.Host
	method := strings.ToUpper(s.Request.Method)
	if method == "" {
		method = DefaultAPIMethod
	}
	h := http.Header{}
	for _, hd := range s.Request.Headers {
		v, err := Expand(hd.Value, r.lookup, EscapeHeader)
		if err != nil {
			return nil, host, fmt.Errorf("%w: header %s: %w", ErrNoResponse, hd.Key, err)
		}
		h.Add(hd.Key, v)
	}
	var body io.Reader
	if strings.TrimSpace(s.Request.Body) != "" {
		ct := h.Get("Content-Type")
		if ct == "" {
			ct = InferContentType(s.Request.Body)
			h.Set("Content-Type", ct)
		}
		b, err := Expand(s.Request.Body, r.lookup, BodyEscaper(ct))
		if err != nil {
			return nil, host, fmt.Errorf("%w: body: %w", ErrNoResponse, err)
		}
		body = strings.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, host, fmt.Errorf("%w: %s %s: %v", ErrNoResponse, method, host, err)
	}
	req.Header = h
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "paybridge-callplan/1")
	}
	return req, host, nil
}
