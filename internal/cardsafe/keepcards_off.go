//go:build !paybridge_keepcards

package cardsafe

// keepCards is false in every normal build: Wipe zeroes.
const keepCards = false
