package app

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/gateway"
)

// callbackGuard is the transport of the status callbacks' client: the plans' transport, whose
// dialler (engine.Destinations) resolves a URL's host once, checks every address of that one
// answer against --http-allow and connects only to an allowed one — the decision and the
// connection cannot disagree, whatever a second lookup would say. When no address is allowed,
// the dialler's refusal (engine.ErrDestination, naming every refused address) becomes
// gateway.ErrDestinationRefused, which the outbox gives up at once instead of retrying.
type callbackGuard struct {
	next http.RoundTripper
}

func (g callbackGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := g.next.RoundTrip(r)
	if err != nil && errors.Is(err, engine.ErrDestination) {
		return nil, fmt.Errorf("%w: %w", gateway.ErrDestinationRefused, err)
	}
	return resp, err
}

// CloseIdleConnections closes the idle connections of the transport behind, if it can.
func (g callbackGuard) CloseIdleConnections() {
	if c, ok := g.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// callbackClient is the plans' HTTP client behind callbackGuard.
func callbackClient(plans *http.Client) *http.Client {
	c := *plans
	c.Transport = callbackGuard{next: plans.Transport}
	return &c
}
