package engine

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Destinations is the operator's allow-list for the connections of plan HTTP steps
// (`serve --http-allow`). It is enforced when a connection is made, against the address
// actually dialled (after DNS resolution, for every address tried, redirects included), so a
// name that resolves to something else on the second lookup (DNS rebinding) gains nothing.
//
// An entry is one of:
//
//   - "public": any global unicast address outside the special ranges below;
//   - an IP address or CIDR ("10.1.2.0/24", "::1"): any address inside it, special or not;
//   - a host name ("billing.example.com") or a wildcard ("*.example.com", the subdomains
//     only): requests to that name, when it resolves to a public address.
//
// Loopback, private (RFC 1918, fc00::/7), link-local (169.254/16 — cloud metadata — and
// fe80::/10), CGNAT, unspecified, multicast, benchmarking, reserved and IPv4-embedding IPv6
// ranges (NAT64, 6to4, Teredo) are refused unless an IP or CIDR entry covers the address: a
// listed host name that resolves into them is still refused. The empty list means "public".
// The addresses given as always (the node's own HTTP listener, where $(Sandbox.Url) points)
// are allowed whatever the list says.
type Destinations struct {
	public   bool
	prefixes []netip.Prefix
	hosts    []string // lower case; "*.example.com" matches subdomains
	always   []netip.AddrPort
	list     string // as given, for messages
}

// NewDestinations parses an allow-list (see Destinations). always are addresses reachable
// whatever the list says.
func NewDestinations(allow []string, always ...netip.AddrPort) (*Destinations, error) {
	d := &Destinations{always: always, list: strings.Join(allow, " ")}
	if len(allow) == 0 {
		d.public = true
		d.list = "public"
	}
	for _, e := range allow {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
		case strings.EqualFold(e, "public"):
			d.public = true
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("%q: not a CIDR: %v", e, err)
			}
			d.prefixes = append(d.prefixes, p.Masked())
		default:
			if a, err := netip.ParseAddr(e); err == nil {
				d.prefixes = append(d.prefixes, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
				continue
			}
			h := strings.ToLower(strings.TrimSuffix(e, "."))
			if !validDestHost(strings.TrimPrefix(h, "*.")) {
				return nil, fmt.Errorf("%q: not a host name, IP address, CIDR or \"public\"", e)
			}
			d.hosts = append(d.hosts, h)
		}
	}
	return d, nil
}

func validDestHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// String is the list as configured.
func (d *Destinations) String() string { return d.list }

// Check reports whether a connection for a request to host (the URL's host name, without
// port) may go to addr. The error says why not in the operator's terms (--http-allow).
func (d *Destinations) Check(host string, addr netip.AddrPort) error {
	ip := addr.Addr().Unmap().WithZone("")
	for _, a := range d.always {
		if a.Addr().Unmap() == ip && a.Port() == addr.Port() {
			return nil
		}
	}
	for _, p := range d.prefixes {
		if p.Contains(ip) {
			return nil
		}
	}
	if kind := specialAddr(ip); kind != "" {
		return fmt.Errorf("%w: %s is %s: list it in --http-allow to reach it", errDestination, ip, kind)
	}
	if d.public {
		return nil
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, want := range d.hosts {
		if h == want || strings.HasPrefix(want, "*.") && strings.HasSuffix(h, want[1:]) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s (%s) is not in --http-allow %q", errDestination, host, ip, d.list)
}

// specialRanges are refused unless listed, besides what netip classifies (loopback, private,
// link-local, multicast, unspecified).
var specialRanges = []struct {
	p    netip.Prefix
	kind string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a 'this network' address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("64:ff9b::/96"), "a NAT64 address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a NAT64 address"},
	{netip.MustParsePrefix("2002::/16"), "a 6to4 address"},
	{netip.MustParsePrefix("2001::/32"), "a Teredo address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
}

// specialAddr names the kind of a non-public address, or "".
func specialAddr(ip netip.Addr) string {
	switch {
	case !ip.IsValid():
		return "not an address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsUnspecified():
		return "the unspecified address"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast(), ip.IsLinkLocalMulticast():
		return "a multicast address"
	}
	for _, r := range specialRanges {
		if r.p.Contains(ip) {
			return r.kind
		}
	}
	if !ip.IsGlobalUnicast() {
		return "not a unicast address"
	}
	return ""
}

// dial connects like a net.Dialer whose Control hook checks each address it is about to
// connect to, after resolution.
func (d *Destinations) dial(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second,
		Control: func(_, addr string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				return fmt.Errorf("%w: %s: %v", errDestination, addr, err)
			}
			return d.Check(host, ap)
		}}
	return dialer.DialContext(ctx, network, address)
}

// HTTPClient returns a client for plan HTTP steps that connects only where d allows, never
// through a proxy from the environment, and follows no redirect by itself (the engine decides
// per step: see APIInteractionStep.Redirects).
func (d *Destinations) HTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil,
			DialContext:            d.dial,
			ForceAttemptHTTP2:      true,
			MaxIdleConns:           100,
			MaxIdleConnsPerHost:    10,
			IdleConnTimeout:        90 * time.Second,
			TLSHandshakeTimeout:    10 * time.Second,
			ExpectContinueTimeout:  time.Second,
			MaxResponseHeaderBytes: 64 << 10,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// defaultClients holds one default client per sandbox URL, so that runs share connections.
var defaultClients sync.Map // sandbox URL → *http.Client

// defaultHTTPClient is the client of a run without RunOptions.HTTPClient: public destinations,
// plus the sandbox's own address when $(Sandbox.Url) names an IP literal.
func defaultHTTPClient(sandboxURL string) *http.Client {
	if c, ok := defaultClients.Load(sandboxURL); ok {
		return c.(*http.Client)
	}
	var always []netip.AddrPort
	if ap, ok := urlAddrPort(sandboxURL); ok {
		always = append(always, ap)
	}
	d, _ := NewDestinations(nil, always...)
	c, _ := defaultClients.LoadOrStore(sandboxURL, d.HTTPClient())
	return c.(*http.Client)
}

// urlAddrPort returns the IP:port of an http(s) URL whose host is an IP literal.
func urlAddrPort(raw string) (netip.AddrPort, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return netip.AddrPort{}, false
	}
	ip, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return netip.AddrPort{}, false
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	ap, err := netip.ParseAddrPort(net.JoinHostPort(ip.String(), port))
	return ap, err == nil
}
