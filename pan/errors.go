package pan

import "errors"

// Sentinel errors of the pan package. None of them carries a digit, and nothing in this
// package wraps one with a value: a caller may log them as they are.
var (
	// ErrNotDigit: only the ASCII digits '0'–'9' may enter a SecureBuffer.
	ErrNotDigit = errors.New("pan: only the digits 0-9 can enter a secure buffer")
	// ErrFull: the SecureBuffer already holds MaxDigits digits.
	ErrFull = errors.New("pan: secure buffer is full")

	// ErrInvalidNumber: not a card number — wrong length, not digits, no known brand's
	// prefix, a length that brand does not issue, or a failed Luhn check.
	ErrInvalidNumber = errors.New("pan: not a valid card number")
	// ErrBrandNotAccepted: a valid card number of a brand the caller does not accept.
	ErrBrandNotAccepted = errors.New("pan: card brand not accepted")
	// ErrInvalidExpiry: not MMYY, not a real month, already past, or too far ahead.
	ErrInvalidExpiry = errors.New("pan: not a valid expiry date")
	// ErrInvalidSecurityCode: not the brand's security code length, or not digits.
	ErrInvalidSecurityCode = errors.New("pan: not a valid security code")
	// ErrInvalidPostalCode: too short, too long, or not digits.
	ErrInvalidPostalCode = errors.New("pan: not a valid postal code")
	// ErrInvalidRoutingNumber: not nine digits, or a failed ABA checksum.
	ErrInvalidRoutingNumber = errors.New("pan: not a valid ABA routing number")
	// ErrInvalidAccountNumber: not 4–17 digits, or all zeros.
	ErrInvalidAccountNumber = errors.New("pan: not a valid bank account number")
)

// errTrailing: a JSON document with more than one top-level value (RedactJSON treats it as
// text).
var errTrailing = errors.New("pan: more than one JSON value")
