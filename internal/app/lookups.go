package app

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"sync"
)

// lookupNumbers remembers, per call, the phone numbers that the plan's own ApiInteraction
// lookups returned. The SMS-pumping guard of payment links trusts those (and the caller's own
// number) by default: a plan that texts "the mobile on the account" works, a plan that texts a
// number typed by the caller does not.
type lookupNumbers struct {
	mu    sync.Mutex
	calls map[string]map[string]bool
}

func newLookupNumbers() *lookupNumbers { return &lookupNumbers{calls: map[string]map[string]bool{}} }

// e164 finds E.164 numbers in a response body ("+447700900123").
var e164 = regexp.MustCompile(`\+[1-9][0-9]{6,14}\b`)

// maxLookupScan bounds how much of a response is scanned for numbers.
const maxLookupScan = 1 << 20

// Trusted implements gateway.GuardConfig.TrustedNumbers.
func (l *lookupNumbers) Trusted(_ context.Context, callID string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.calls[callID]))
	for n := range l.calls[callID] {
		out = append(out, n)
	}
	return out
}

// Forget drops a call's numbers when it ends.
func (l *lookupNumbers) Forget(callID string) {
	l.mu.Lock()
	delete(l.calls, callID)
	l.mu.Unlock()
}

// Client returns the HTTP client for one call's ApiInteraction steps: it records the numbers
// in every response body it reads and hands the body on unchanged.
func (l *lookupNumbers) Client(callID string) *http.Client {
	return &http.Client{Transport: &lookupTransport{base: http.DefaultTransport, l: l, callID: callID}}
}

type lookupTransport struct {
	base   http.RoundTripper
	l      *lookupNumbers
	callID string
}

func (t *lookupTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxLookupScan+1))
	rest := resp.Body
	if found := e164.FindAll(body, -1); len(found) > 0 {
		t.l.mu.Lock()
		set := t.l.calls[t.callID]
		if set == nil {
			set = map[string]bool{}
			t.l.calls[t.callID] = set
		}
		for _, n := range found {
			set[string(n)] = true
		}
		t.l.mu.Unlock()
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), errReader{rerr}, rest), rest}
	return resp, nil
}

// errReader replays a read error after the buffered part of a body.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}
