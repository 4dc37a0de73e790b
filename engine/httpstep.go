package engine

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

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/event"
)

// stepAPI runs an <ApiInteraction>: builds the request from its templates (each part with
// its own escaping), sends it with the step's timeout, stores the HTTP status in
// ResponseCodeDestination and each located Field in its Destination (a field the response
// does not have, or that does not convert, becomes ""). When no response arrives the status
// is "", $(<Name>.Error) says why, and the flow jumps to OnError if set.
func (r *run) stepAPI(ctx context.Context, s *callplan.APIInteractionStep) error {
	started := time.Now()
	ev := &event.APICalled{Name: s.Name}
	status, err := r.doAPI(ctx, s, ev)
	ev.Status, ev.DurationMS = status, time.Since(started).Milliseconds()
	if err != nil {
		ev.Error = err.Error()
	}
	r.emit("ApiInteraction", ev)
	switch {
	case status != 0:
		r.frameOutcome(fmt.Sprintf("HTTP %d", status))
	case err != nil:
		r.frameOutcome("no response")
	}
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
func (r *run) doAPI(ctx context.Context, s *callplan.APIInteractionStep, ev *event.APICalled) (int, error) {
	if name := r.untrustedOrigin(&s.Request); name != "" && !s.UntrustedHost {
		return 0, fmt.Errorf("%w: %w: $(%s) decides where the request goes and holds data from a response or the caller (untrustedHost=\"true\" allows it)",
			errNoResponse, errUntrustedHost, name)
	}
	req, err := s.Request.NewRequest(ctx, r.lookup)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errNoResponse, err)
	}
	host, timeout := req.URL.Host, s.Timeout
	ev.Method, ev.Host = req.Method, host
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
			return 0, fmt.Errorf("%w: %s %s: timed out after %v", errNoResponse, req.Method, host, timeout)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("%w: %s %s: %v", errNoResponse, req.Method, host, err)
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
	body, err := io.ReadAll(io.LimitReader(resp.Body, callplan.MaxResponseBytes+1))
	if err != nil {
		r.clearFields(s)
		return resp.StatusCode, fmt.Errorf("%s %s: reading response: %v", req.Method, host, err)
	}
	if len(s.Response.Fields) == 0 {
		return resp.StatusCode, nil
	}
	values, err := s.Response.Values(body)
	if values == nil && err != nil {
		r.clearFields(s)
		return resp.StatusCode, fmt.Errorf("%s %s: response: %w", req.Method, host, err)
	}
	for i, f := range s.Response.Fields {
		r.set(f.Destination, values[i])
		r.lookedUp[f.Destination] = true
		if f.Secret {
			r.secrets.note(f.Destination, values[i])
		}
	}
	return resp.StatusCode, err
}

// maxAPIRedirects bounds the redirects one ApiInteraction follows.
const maxAPIRedirects = 5

// checkRedirect applies a step's redirect policy to the next hop of a redirect chain.
func checkRedirect(p callplan.RedirectPolicy, next *http.Request, via []*http.Request) error {
	if len(via) > maxAPIRedirects {
		return fmt.Errorf("%w: more than %d redirects", errRedirect, maxAPIRedirects)
	}
	switch p {
	case callplan.RedirectAny:
		return nil
	case callplan.RedirectNone:
		return fmt.Errorf("%w: redirects=\"none\"", errRedirect)
	}
	if from := via[0].URL; !sameOrigin(from, next.URL) {
		return fmt.Errorf("%w: it goes to another origin (%s://%s); redirects=\"any\" follows it", errRedirect, next.URL.Scheme, next.URL.Host)
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

func (r *run) clearFields(s *callplan.APIInteractionStep) {
	for _, f := range s.Response.Fields {
		r.set(f.Destination, "")
	}
}
