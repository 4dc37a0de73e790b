package engine

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// errDestination is ErrDestination under the name the older tests use.
var errDestination = ErrDestination

// fixedResolver answers "svc.test" with addrs and counts its lookups.
func fixedResolver(lookups *atomic.Int32, addrs ...string) ResolverFunc {
	return func(_ context.Context, _, host string) ([]netip.Addr, error) {
		lookups.Add(1)
		if host != "svc.test" {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		var out []netip.Addr
		for _, a := range addrs {
			out = append(out, netip.MustParseAddr(a))
		}
		return out, nil
	}
}

// The dialler resolves once per connection and decides on that answer: it skips the refused
// addresses, connects to an allowed one, and when none is allowed names every refused one.
// A refusal is ErrDestination; an allowed address that does not answer is a network error
// (retryable) that still names the refused ones.
func TestDestinationsDialOneAnswer(t *testing.T) {
	ledger, hits := ledgerServer(t)
	port := strconv.Itoa(ledger.Listener.Addr().(*net.TCPAddr).Port)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := strconv.Itoa(closed.Addr().(*net.TCPAddr).Port)
	closed.Close()
	for _, tc := range []struct {
		name    string
		allow   []string
		answer  []string
		port    string
		refusal bool     // ErrDestination
		says    []string // in the error
		hits    int32
	}{
		{"a refused address first, then an allowed one", []string{"127.0.0.1/32"}, []string{"127.0.0.2", "127.0.0.1"}, port, false, nil, 1},
		{"one refused address", nil, []string{"127.0.0.1"}, port, true, []string{"127.0.0.1 is a loopback address"}, 0},
		{"every address refused", []string{"svc.test"}, []string{"127.0.0.1", "10.9.8.7", "::1"}, port, true,
			[]string{"svc.test resolves to 3 addresses, none allowed", "127.0.0.1 is a loopback", "10.9.8.7 is a private", "::1 is a loopback"}, 0},
		{"the allowed address does not answer", []string{"127.0.0.1/32"}, []string{"10.9.8.7", "127.0.0.1"}, closedPort, false,
			[]string{"connection refused", "10.9.8.7 is a private address"}, 0},
		// Happy Eyeballs: the first family (IPv6 here) fails, the other is tried and answers.
		{"the first family does not answer, the other does", []string{"::1/128", "127.0.0.1/32"}, []string{"::1", "127.0.0.1"}, port, false, nil, 1},
		{"neither family answers: the first one's error", []string{"::1/128", "127.0.0.1/32"}, []string{"::1", "127.0.0.1"}, closedPort, false,
			[]string{"[::1]:" + closedPort, "connection refused"}, 0},
	} {
		var lookups atomic.Int32
		d, err := NewDestinations(tc.allow)
		if err != nil {
			t.Fatal(err)
		}
		d.Resolver = fixedResolver(&lookups, tc.answer...)
		before := hits.Load()
		resp, err := d.HTTPClient().Get("http://svc.test:" + tc.port + "/")
		if err == nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, ErrDestination); got != tc.refusal {
			t.Errorf("%s: %v, refusal %v, want %v", tc.name, err, got, tc.refusal)
		}
		if len(tc.says) == 0 && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		for _, s := range tc.says {
			if err == nil || !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %v does not say %q", tc.name, err, s)
			}
		}
		if n := hits.Load() - before; n != tc.hits {
			t.Errorf("%s: the server got %d requests, want %d", tc.name, n, tc.hits)
		}
		if n := lookups.Load(); n != 1 {
			t.Errorf("%s: %d lookups for one request", tc.name, n)
		}
	}
	// A lookup that fails is not a refusal: DNS may recover.
	d, _ := NewDestinations(nil)
	var lookups atomic.Int32
	d.Resolver = fixedResolver(&lookups)
	if _, err := d.HTTPClient().Get("http://other.test/"); err == nil || errors.Is(err, ErrDestination) {
		t.Errorf("failed lookup: %v", err)
	}
}
