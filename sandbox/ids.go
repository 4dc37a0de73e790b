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

// DemoFallbackNumber is a voice session's dtmfFallbackNumber when the sandbox runs no capture
// line (a number reserved for drama, Ofcom's 01632 960xxx range).
const DemoFallbackNumber = "+441632960999"

// linkIDLen is how many keys a session's dtmfLinkId has.
const linkIDLen = 8

// newLinkID returns a session's dtmfLinkId: linkIDLen random decimal digits, unique among the
// sessions (caller holds s.mu), so it can be keyed down the capture line.
func (s *Provider) newLinkID() string {
	for {
		b := make([]byte, linkIDLen)
		_, _ = rand.Read(b)
		for i := range b {
			b[i] = '0' + b[i]%10
		}
		id := string(b)
		taken := false
		for _, o := range s.sessions {
			if o.LinkID == id {
				taken = true
				break
			}
		}
		if !taken {
			return id
		}
	}
}

// fallbackNumber is what a voice session's dtmfFallbackNumber says.
func (s *Provider) fallbackNumber() string {
	if s.cfg.CaptureLine != "" {
		return s.cfg.CaptureLine
	}
	return DemoFallbackNumber
}

// SetCaptureLine names the SIP URI of the capture line once it listens (see
// Config.CaptureLine): sessions created afterwards name it as their dtmfFallbackNumber.
func (s *Provider) SetCaptureLine(uri string) {
	s.mu.Lock()
	s.cfg.CaptureLine = uri
	s.mu.Unlock()
}
