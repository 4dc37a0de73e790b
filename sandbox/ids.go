package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// newID returns prefix followed by 80 random bits in lower-case base32 (16 characters), as
// the sandbox's charge, token and card ids ("ch_…", "tok_…").
func newID(prefix string) string {
	return prefix + strings.ToLower(rand.Text()[:16])
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b)
}

// newSessionID returns a GUID-shaped session id, as VCC and PCI Pal use.
func newSessionID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
