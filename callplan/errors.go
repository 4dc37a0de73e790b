package callplan

import "errors"

// Sentinel errors of the call-plan language (parser, validator, expressions, templates,
// locators). Diagnostics and errors wrap them with %w; errors.Is tells the kind apart.
var (
	// ErrInvalidPlan: a plan has at least one error-severity diagnostic.
	ErrInvalidPlan = errors.New("callplan: invalid plan")
	// errExpr: a test expression does not parse.
	errExpr = errors.New("callplan: bad expression")
	// errVarSyntax: a $(…) reference is malformed.
	errVarSyntax = errors.New("callplan: bad variable reference")
	// errUnsafeValue: an expanded value cannot be placed in its context (CR/LF/NUL in a header).
	errUnsafeValue = errors.New("callplan: value not allowed in this context")
	// errLocator: a response locator is malformed or finds nothing.
	errLocator = errors.New("callplan: locator")
	// errDataType: a located value does not convert to the field's DataType.
	errDataType = errors.New("callplan: data type")
)
