package callplan

import "errors"

// Sentinel errors shared by the engine and the channels that implement Channel.
var (
	// ErrHangup: the call ended while a step was running.
	ErrHangup = errors.New("callplan: call ended")
)

// Sentinel errors of the call-plan language (parser, validator, expressions, templates,
// locators). Diagnostics and errors wrap them with %w; errors.Is tells the kind apart.
var (
	// ErrInvalidPlan: a plan has at least one error-severity diagnostic.
	ErrInvalidPlan = errors.New("callplan: invalid plan")
	// ErrExpr: a test expression does not parse.
	errExpr = errors.New("callplan: bad expression")
	// ErrVarSyntax: a $(…) reference is malformed.
	errVarSyntax = errors.New("callplan: bad variable reference")
	// ErrUnsafeValue: an expanded value cannot be placed in its context (CR/LF/NUL in a header).
	errUnsafeValue = errors.New("callplan: value not allowed in this context")
	// ErrLocator: a response locator is malformed or finds nothing.
	errLocator = errors.New("callplan: locator")
	// ErrDataType: a located value does not convert to the field's DataType.
	errDataType = errors.New("callplan: data type")
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
