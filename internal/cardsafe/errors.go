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
	// ErrAsyncPreemptOn: GODEBUG sets asyncpreemptoff=0, so the process keeps asynchronous
	// preemption, which saves registers holding card bytes to memory (preempt.go).
	ErrAsyncPreemptOn = errors.New("cardsafe: GODEBUG sets asyncpreemptoff=0: preempted threads' registers, card bytes included, are saved to memory nothing zeroes")
)
