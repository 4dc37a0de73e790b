//go:build paybridge_keepcards

package cardsafe

import (
	"fmt"
	"os"
)

// keepCards is true only in a binary built with -tags paybridge_keepcards: the control build of
// the core-image test (internal/e2e), whose request buffers are deliberately left holding card
// digits. Such a binary must never take a real payment, so it says so on every start.
const keepCards = true

func init() {
	fmt.Fprintln(os.Stderr, "paybridge: UNSAFE TEST BUILD (paybridge_keepcards): card request buffers are NOT zeroed; never use this binary for real payments")
}
