//go:build !goexperiment.runtimesecret

package gateway

// secretDo runs f. Built with GOEXPERIMENT=runtimesecret it runs f under runtime/secret
// instead (secret_on.go).
func secretDo(f func()) { f() }

// runtimeSecret reports whether card requests run under runtime/secret.
const runtimeSecret = false
