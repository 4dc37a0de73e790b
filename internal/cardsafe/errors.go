package cardsafe

import "errors"

// Sentinel errors of cardsafe. None carries card data.
var (
	// ErrBodyTooLarge: a card request body over its limit.
	ErrBodyTooLarge = errors.New("cardsafe: request body too large")
	// ErrBadEscape: a form value with a malformed %XX escape.
	ErrBadEscape = errors.New("cardsafe: malformed escape in a form value")
	// ErrNotDigits: a form field that must be digits holds something else.
	ErrNotDigits = errors.New("cardsafe: form field is not digits")
)
