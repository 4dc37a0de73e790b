package clientip

import (
	"net/http"
	"testing"
)

func TestClientIP(t *testing.T) {
	r, err := New([]string{"10.0.0.0/8", "2001:db8:1::/48", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, peer string
		headers    map[string][]string
		want       string
	}{
		{"no proxy", "203.0.113.9:5555", nil, "203.0.113.9"},
		{"untrusted peer's header is ignored", "203.0.113.9:5555", map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "203.0.113.9"},
		{"untrusted peer's Forwarded is ignored", "203.0.113.9:5555", map[string][]string{"Forwarded": {"for=198.51.100.1"}}, "203.0.113.9"},
		{"trusted proxy", "10.1.1.1:40000", map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
		// The client prepended a forged address; the proxy appended the real one.
		{"forged left part", "10.1.1.1:40000", map[string][]string{"X-Forwarded-For": {"127.0.0.1, 198.51.100.1"}}, "198.51.100.1"},
		{"two trusted proxies", "10.1.1.1:40000", map[string][]string{"X-Forwarded-For": {"1.2.3.4, 198.51.100.1, 10.9.9.9"}}, "198.51.100.1"},
		{"several header lines", "10.1.1.1:40000", map[string][]string{"X-Forwarded-For": {"1.2.3.4", "198.51.100.1, 192.0.2.7"}}, "198.51.100.1"},
		{"all trusted", "10.1.1.1:40000", map[string][]string{"X-Forwarded-For": {"10.2.2.2, 10.3.3.3"}}, "10.2.2.2"},
		{"no header from a trusted proxy", "10.1.1.1:40000", nil, "10.1.1.1"},
		{"garbage hop", "10.1.1.1:40000", map[string][]string{"X-Forwarded-For": {"198.51.100.1, not-an-ip"}}, "10.1.1.1"},
		{"Forwarded wins", "10.1.1.1:40000", map[string][]string{"Forwarded": {`for=198.51.100.2;proto=https, for="[2001:db8:1::5]:443"`}, "X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.2"},
		{"Forwarded IPv6 client", "[2001:db8:1::9]:443", map[string][]string{"Forwarded": {`for="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::17"},
		{"Forwarded obfuscated", "10.1.1.1:40000", map[string][]string{"Forwarded": {`for=_hidden`}}, "10.1.1.1"},
		{"Forwarded quoted comma", "10.1.1.1:40000", map[string][]string{"Forwarded": {`for=198.51.100.3;by="a,b"`}}, "198.51.100.3"},
		{"IPv4-mapped peer", "[::ffff:10.1.1.1]:40000", map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
		{"hop with port", "10.1.1.1:40000", map[string][]string{"X-Forwarded-For": {"198.51.100.1:1234"}}, "198.51.100.1"},
	} {
		req := &http.Request{RemoteAddr: tc.peer, Header: http.Header{}}
		for k, vs := range tc.headers {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		if got := r.ClientIP(req); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	var none *Resolver
	req := &http.Request{RemoteAddr: "10.1.1.1:1", Header: http.Header{"X-Forwarded-For": {"198.51.100.1"}}}
	if got := none.ClientIP(req); got != "10.1.1.1" {
		t.Errorf("nil resolver: %q", got)
	}
	for _, bad := range []string{"10.0.0.0/40", "example.com", "1.2.3"} {
		if _, err := New([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzClientIP: whatever the headers say, the answer is the peer or an address the headers
// name, and a peer that is not a trusted proxy is always the answer.
func FuzzClientIP(f *testing.F) {
	f.Add("10.1.1.1:4000", "198.51.100.1, 10.2.2.2", "")
	f.Add("10.1.1.1:4000", "", `for="[2001:db8::1]:80";proto=http, for=10.3.3.3`)
	f.Add("203.0.113.1:1", "1.1.1.1", "for=2.2.2.2")
	r, _ := New([]string{"10.0.0.0/8"})
	f.Fuzz(func(t *testing.T, peer, xff, fwd string) {
		req := &http.Request{RemoteAddr: peer, Header: http.Header{}}
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		if fwd != "" {
			req.Header.Set("Forwarded", fwd)
		}
		got := r.ClientIP(req)
		p, ok := peerAddr(peer)
		if !ok {
			if got != peer {
				t.Fatalf("unparsable peer %q gave %q", peer, got)
			}
			return
		}
		if !r.Trusted(p) && got != p.String() {
			t.Fatalf("untrusted peer %s attributed to %q", p, got)
		}
		if got == p.String() {
			return
		}
		named := false
		for _, h := range forwardedFor(req.Header) {
			if a, ok := parseHop(h); ok && a.String() == got {
				named = true
			}
		}
		if !named {
			t.Fatalf("client %q is neither the peer %s nor a hop of %q %q", got, p, xff, fwd)
		}
	})
}
