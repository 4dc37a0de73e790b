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
)
