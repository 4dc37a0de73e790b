package engine

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Destinations is the operator's allow-list for the connections of plan HTTP steps
// (`serve --http-allow`). It is enforced when a connection is made: the dialler resolves the
// URL's host once, checks every address of that answer and connects only to the allowed ones,
// in the resolver's order (redirects included, each a new request). The check and the
// connection use the same answer, so a name that resolves elsewhere on another lookup (DNS
// rebinding) gains nothing; when no address is allowed the error (ErrDestination) names every
// refused one.
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
	// Resolver looks up the addresses of a URL's host name, once per connection; the check
	// and the connection use that one answer. Nil: net.DefaultResolver. Set it before the
	// first request.
	Resolver Resolver

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
// port) may go to addr. The error (ErrDestination) says why not in the operator's terms
// (--http-allow).
func (d *Destinations) Check(host string, addr netip.AddrPort) error {
	if why := d.refusal(host, addr); why != "" {
		return fmt.Errorf("%w: %s", ErrDestination, why)
	}
	return nil
}

// refusal says why addr is refused for a request to host, or "" when it is allowed.
func (d *Destinations) refusal(host string, addr netip.AddrPort) string {
	ip := addr.Addr().Unmap().WithZone("")
	for _, a := range d.always {
		if a.Addr().Unmap() == ip && a.Port() == addr.Port() {
			return ""
		}
	}
	for _, p := range d.prefixes {
		if p.Contains(ip) {
			return ""
		}
	}
	if kind := specialAddr(ip); kind != "" {
		return fmt.Sprintf("%s is %s: list it in --http-allow to reach it", ip, kind)
	}
	if d.public {
		return ""
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, want := range d.hosts {
		if h == want || strings.HasPrefix(want, "*.") && strings.HasSuffix(h, want[1:]) {
			return ""
		}
	}
	return fmt.Sprintf("%s (%s) is not in --http-allow %q", host, ip, d.list)
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

// Resolver looks up the addresses of a host name (network "ip", "ip4" or "ip6");
// *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(ctx context.Context, network, host string) ([]netip.Addr, error)

// LookupNetIP calls f.
func (f ResolverFunc) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	return f(ctx, network, host)
}

const (
	// dialTimeout bounds one connection, all its addresses together.
	dialTimeout = 10 * time.Second
	// minAddrTimeout is the least time one address gets when several share dialTimeout.
	minAddrTimeout = 2 * time.Second
)

// dial resolves address's host once, checks every address of the answer and connects to the
// allowed ones in order until one answers. When none is allowed it returns ErrDestination
// naming every refused address; when the allowed ones all fail, the first failure (a network
// error, retryable), with the refused ones noted.
func (d *Destinations) dial(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("%w: port %q", ErrDestination, port)
	}
	ips, err := d.resolve(ctx, network, host)
	if err != nil {
		return nil, err
	}
	var allowed []netip.AddrPort
	var refused []string
	for _, ip := range ips {
		ap := netip.AddrPortFrom(ip, uint16(p))
		if why := d.refusal(host, ap); why != "" {
			refused = append(refused, why)
			continue
		}
		allowed = append(allowed, ap)
	}
	if len(allowed) == 0 {
		if len(refused) == 1 {
			return nil, fmt.Errorf("%w: %s", ErrDestination, refused[0])
		}
		return nil, fmt.Errorf("%w: %s resolves to %d addresses, none allowed: %s",
			ErrDestination, host, len(refused), strings.Join(refused, "; "))
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	conn, err := dialAllowed(ctx, network, allowed)
	if err == nil {
		return conn, nil
	}
	if len(refused) > 0 {
		return nil, fmt.Errorf("%w (not tried, refused by --http-allow: %s)", err, strings.Join(refused, "; "))
	}
	return nil, err
}

// fallbackDelay is how long the first address's family has before the other family is tried
// alongside it (Happy Eyeballs, RFC 8305, as net.Dialer does it).
const fallbackDelay = 300 * time.Millisecond

// dialAllowed connects to the first of addrs that answers, the way net.Dialer does with a
// name's addresses: those of the first address's family in order and, once fallbackDelay has
// passed or they have all failed, the other family's in order alongside. Both failing, the
// error is the first family's.
func dialAllowed(ctx context.Context, network string, addrs []netip.AddrPort) (net.Conn, error) {
	var primary, fallback []netip.AddrPort
	for _, ap := range addrs {
		if ap.Addr().Unmap().Is4() == addrs[0].Addr().Unmap().Is4() {
			primary = append(primary, ap)
		} else {
			fallback = append(fallback, ap)
		}
	}
	if len(fallback) == 0 {
		return dialSerial(ctx, network, primary)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		conn    net.Conn
		err     error
		primary bool
	}
	results := make(chan result, 2)
	pending := 0
	start := func(addrs []netip.AddrPort, primary bool) {
		pending++
		go func() {
			c, err := dialSerial(ctx, network, addrs)
			results <- result{c, err, primary}
		}()
	}
	start(primary, true)
	timer := time.NewTimer(fallbackDelay)
	defer timer.Stop()
	fallbackStarted := false
	var primaryErr, fallbackErr error
	for {
		select {
		case <-timer.C:
			if !fallbackStarted {
				fallbackStarted = true
				start(fallback, false)
			}
		case r := <-results:
			pending--
			if r.err == nil {
				if pending > 0 { // the other family may connect too: not to be kept
					go func() {
						if late := <-results; late.conn != nil {
							late.conn.Close()
						}
					}()
				}
				return r.conn, nil
			}
			if r.primary {
				primaryErr = r.err
			} else {
				fallbackErr = r.err
			}
			if !fallbackStarted {
				fallbackStarted = true
				start(fallback, false)
				continue
			}
			if pending == 0 {
				if primaryErr != nil {
					return nil, primaryErr
				}
				return nil, fallbackErr
			}
		}
	}
}

// dialSerial connects to the first of addrs that answers, trying them in order.
func dialSerial(ctx context.Context, network string, addrs []netip.AddrPort) (net.Conn, error) {
	var first error
	for i, ap := range addrs {
		conn, err := dialOne(ctx, network, ap, len(addrs)-i)
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// resolve returns the addresses of host: host itself when it is an IP literal.
func (d *Destinations) resolve(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	lookup := "ip"
	switch network {
	case "tcp4":
		lookup = "ip4"
	case "tcp6":
		lookup = "ip6"
	}
	var r Resolver = net.DefaultResolver
	if d.Resolver != nil {
		r = d.Resolver
	}
	ips, err := r.LookupNetIP(ctx, lookup, host)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("lookup %s: no address", host)
	}
	return ips, nil
}

// dialOne connects to ap with a share of ctx's remaining time: left addresses share it, each
// getting at least minAddrTimeout (as net.Dialer shares its timeout).
func dialOne(ctx context.Context, network string, ap netip.AddrPort, left int) (net.Conn, error) {
	if deadline, ok := ctx.Deadline(); ok && left > 1 {
		share := time.Until(deadline) / time.Duration(left)
		if share < minAddrTimeout {
			share = minAddrTimeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, share)
		defer cancel()
	}
	dialer := net.Dialer{KeepAlive: 30 * time.Second}
	return dialer.DialContext(ctx, network, ap.String())
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
