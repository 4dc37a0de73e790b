package app

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/gateway"
)

// callbackGuard is the transport of the status callbacks' client: it refuses, before any
// connection, a URL whose every address --http-allow refuses, as gateway.ErrDestinationRefused
// — which the outbox gives up at once instead of retrying. A URL it lets through still goes
// through the plans' client, whose dialler checks each address it connects to (a name that
// resolves elsewhere the second time gains nothing): the check here only makes a refusal
// final and clear.
type callbackGuard struct {
	dest *engine.Destinations
	next http.RoundTripper
}

func (g callbackGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	host := r.URL.Hostname()
	port := r.URL.Port()
	if port == "" {
		port = "80"
		if r.URL.Scheme == "https" {
			port = "443"
		}
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("%w: port %q", gateway.ErrDestinationRefused, port)
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else if addrs, err = net.DefaultResolver.LookupNetIP(r.Context(), "ip", host); err != nil {
		return nil, err // DNS may recover: retried
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s: no address", host)
	}
	var refused error
	for _, ip := range addrs {
		if refused = g.dest.Check(host, netip.AddrPortFrom(ip, uint16(p))); refused == nil {
			return g.next.RoundTrip(r)
		}
	}
	return nil, fmt.Errorf("%w: %v", gateway.ErrDestinationRefused, refused)
}

// callbackClient is the plans' HTTP client behind callbackGuard.
func callbackClient(plans *http.Client, dest *engine.Destinations) *http.Client {
	c := *plans
	c.Transport = callbackGuard{dest: dest, next: plans.Transport}
	return &c
}
