package engine

import "errors"

// Sentinel errors of the engine's API. The messages keep the "callplan:" prefix that plan
// authors and operators have always seen.
var (
	// ErrHangup: the call ended while a step was running. Channels return it (wrapped or not)
	// from Play, Transfer and Hangup once the far end has gone.
	ErrHangup = errors.New("callplan: call ended")
	// ErrRunArgs: Run was called without a plan or a channel.
	ErrRunArgs = errors.New("callplan: Run needs a plan and a channel")
	// ErrDestination: a connection of a Destinations client was refused because the
	// operator's allow-list (--http-allow) allows none of the addresses the URL's host
	// resolved to. Callers that make a refusal final (status callbacks) match it with
	// errors.Is; in a plan it lands in the step's error variable.
	ErrDestination = errors.New("callplan: destination not allowed")
)

// Why a step could not do its work. They never leave a run as errors: their text lands in a
// step's published error variable ($(Name.Error), $(Pay.ConnectorError), …), in events and in
// logs, so each says what happened in the plan author's terms.
var (
	// errLoopGuard: a call executed more steps than RunOptions.MaxSteps.
	errLoopGuard = errors.New("callplan: step limit reached (a Goto loop?)")
	// errNoConnector: a step names a connector that cannot be opened.
	errNoConnector = errors.New("callplan: connector unavailable")
	// errNoResponse: an ApiInteraction got no HTTP response (network error, timeout).
	errNoResponse = errors.New("callplan: no response")
	// errUntrustedHost: an ApiInteraction's URL takes its origin from untrusted data (a
	// response, the caller) and the step does not say untrustedHost="true".
	errUntrustedHost = errors.New("callplan: URL host from untrusted data")
	// errRedirect: an ApiInteraction's redirect was not followed (another origin, or
	// redirects="none", or too many).
	errRedirect = errors.New("callplan: redirect not followed")
)

// The errors of Desk.Do: what an agent's request could not do, in words the Payments API
// answers with.
var (
	// ErrNotBridged: the call is not bridged (not up, not in a <Dial>, or on another node).
	ErrNotBridged = errors.New("engine: the call is not bridged to an agent")
	// ErrNoPayment: the call has no agent payment with that id.
	ErrNoPayment = errors.New("engine: no such payment on this call")
	// ErrPaymentState: the request does not fit the payment's state (a field asked of a
	// completed payment, completion with fields missing, a second payment while one is open).
	ErrPaymentState = errors.New("engine: the payment cannot do that now")
	// ErrPaymentRequest: a parameter of the request is missing or wrong.
	ErrPaymentRequest = errors.New("engine: bad payment request")
	// ErrIdempotencyKey: the key was used before for a different request on this call.
	ErrIdempotencyKey = errors.New("engine: IdempotencyKey already used for another request")
)
