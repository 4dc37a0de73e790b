//go:build goexperiment.runtimesecret

package gateway

import "runtime/secret"

// secretDo runs f under runtime/secret (a binary built with GOEXPERIMENT=runtimesecret): the
// registers and stack f used are erased when it returns, and heap memory it allocated is
// erased when the collector frees it. It adds to, and does not replace, the explicit zeroing
// of the card request's buffers (docs/gateway.md, "Card data in memory").
func secretDo(f func()) { secret.Do(f) }

// runtimeSecret reports whether card requests run under runtime/secret.
const runtimeSecret = true
