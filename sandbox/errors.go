package sandbox

import "errors"

// Sentinel errors of the sandbox. Handlers turn them into the API's own error answers; none
// carries card data.
var (
	// errNotDigits: a card field holding anything but digits.
	errNotDigits = errors.New("sandbox: card field is not digits")
	// errAmount: an amount that is not a plain decimal in its currency's minor digits.
	errAmount = errors.New("sandbox: not a decimal amount")
	// errSignature: a missing, malformed, stale or non-matching signature.
	errSignature = errors.New("sandbox: signature does not verify")
)
