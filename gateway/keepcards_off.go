//go:build !paybridge_keepcards

package gateway

// keepCards is false in every normal build: wipe zeroes.
const keepCards = false
