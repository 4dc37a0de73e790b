package console

import "errors"

// Sentinel errors of the console.
var (
	// ErrBadFilter: a list query parameter could not be parsed.
	ErrBadFilter = errors.New("console: bad query parameter")
	// ErrTokenFile: the admin token file is unreadable, malformed or too open.
	ErrTokenFile = errors.New("console: admin token file")
	// ErrNoPlans: the server was built without a PlanSource.
	ErrNoPlans = errors.New("console: no plan source configured")

	// The errors of the Payments API's Agents (serve maps the engine's to them).
	// ErrAgentNotBridged: the call is not bridged to an agent on this node (409).
	ErrAgentNotBridged = errors.New("console: the call is not bridged to an agent")
	// ErrAgentNoPayment: the call has no such payment (404).
	ErrAgentNoPayment = errors.New("console: no such payment on this call")
	// ErrAgentState: the payment cannot do that now (409).
	ErrAgentState = errors.New("console: the payment cannot do that now")
	// ErrAgentRequest: a parameter is missing or wrong (400).
	ErrAgentRequest = errors.New("console: bad payment request")
	// ErrAgentIdempotency: the IdempotencyKey was used for another request (422).
	ErrAgentIdempotency = errors.New("console: IdempotencyKey already used for another request")
)
