package engine

import "errors"

// Sentinel errors shared by the engine and the channels that implement Channel.
var (
	// ErrHangup: the call ended while a step was running.
	ErrHangup = errors.New("callplan: call ended")
)

// Sentinel errors of the engine.
var (
	// ErrRunArgs: Run was called without a plan or a channel.
	ErrRunArgs = errors.New("callplan: Run needs a plan and a channel")
	// ErrLoopGuard: a call executed more steps than RunOptions.MaxSteps.
	ErrLoopGuard = errors.New("callplan: step limit reached (a Goto loop?)")
	// ErrNoConnector: a step names a connector that cannot be opened.
	ErrNoConnector = errors.New("callplan: connector unavailable")
	// ErrNoResponse: an ApiInteraction got no HTTP response (network error, timeout).
	ErrNoResponse = errors.New("callplan: no response")
	// ErrDestination: an ApiInteraction's connection went to an address the operator's
	// allow-list (Destinations) does not allow.
	ErrDestination = errors.New("callplan: destination not allowed")
	// ErrUntrustedHost: an ApiInteraction's URL takes its origin from untrusted data (a
	// response, the caller) and the step does not say untrustedHost="true".
	ErrUntrustedHost = errors.New("callplan: URL host from untrusted data")
	// ErrRedirect: an ApiInteraction's redirect was not followed (another origin, or
	// redirects="none", or too many).
	ErrRedirect = errors.New("callplan: redirect not followed")
)
