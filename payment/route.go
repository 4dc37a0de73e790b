package payment

import "errors"

// Routing across providers: a <Pay connector="primary backup"> offers the card to the next
// connector only when the one before provably did not take the payment. The rule is here, so
// that the engine applies it to every connector the same way; what "provably" means for one
// provider (it never received the request, or it was asked and has no such payment, and can
// no longer take it) is the connector's to establish before it answers.

// Why a payment went on to the next connector (Route.Reason).
const (
	RouteUnavailable  = "unavailable"   // no answer, 5xx or a timeout — and nothing charged
	RouteSoftDecline  = "soft-decline"  // a decline the provider marked retryable
	RouteApproved     = "approved"      // the route ended here: approved
	RouteDeclined     = "declined"      // the route ended here: a decline (hard, or the last connector)
	RouteUnknown      = "unknown"       // the route ended here: no answer, and the outcome is not known
	RouteConfigFailed = "not-available" // the connector could not be opened or asked
)

// FailOver decides, from what a connector answered, whether the same card may go to the next
// connector: only after a soft decline the provider marked retryable, or an error that proves
// nothing was charged (ErrNotCharged). Never after a hard decline, never after an approval,
// never after an error whose outcome is unknown. reason names the case (Route* constants).
func FailOver(res *Result, err error) (ok bool, reason string) {
	switch {
	case err != nil && errors.Is(err, ErrNotCharged):
		return true, RouteUnavailable
	case err != nil:
		return false, RouteUnknown
	case res == nil:
		return false, RouteUnknown
	case res.Status == Approved:
		return false, RouteApproved
	case res.Retryable:
		return true, RouteSoftDecline
	}
	return false, RouteDeclined
}

// Route is one connector a payment was offered to, in order: what it answered and why the
// payment went on (or stopped there).
type Route struct {
	Connector    string `json:"connector"`
	ConnectorKey string `json:"connectorKey,omitempty"`
	AttemptKey   string `json:"attemptKey,omitempty"` // the idempotency key used with it
	Outcome      string `json:"outcome"`              // a Route* reason
	ErrorCode    string `json:"errorCode,omitempty"`  // the decline code or connector error
}
