package media

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/pion/srtp/v3"
)

// SRTPSuite is an SDES crypto suite: how SRTP encrypts and authenticates a stream (RFC 4568
// section 6.2, RFC 6188, RFC 7714). The zero suite is none (plain RTP).
type SRTPSuite uint8

// The suites paybridge speaks, all through pion/srtp.
const (
	SuiteNone SRTPSuite = iota
	// AES_CM_128_HMAC_SHA1_80: AES-128 in counter mode, an 80-bit HMAC-SHA1 tag (RFC 4568;
	// every SDES implementation has it).
	AES_CM_128_HMAC_SHA1_80
	// AES_CM_128_HMAC_SHA1_32: the same with a 32-bit tag (RFC 4568).
	AES_CM_128_HMAC_SHA1_32
	// AES_256_CM_HMAC_SHA1_80 and _32: AES-256 counter mode (RFC 6188).
	AES_256_CM_HMAC_SHA1_80
	AES_256_CM_HMAC_SHA1_32
	// AEAD_AES_128_GCM and AEAD_AES_256_GCM: AES-GCM with a 128-bit tag (RFC 7714).
	AEAD_AES_128_GCM
	AEAD_AES_256_GCM
)

type suiteInfo struct {
	name    string
	profile srtp.ProtectionProfile
	keyLen  int // master key
	saltLen int // master salt
}

var suites = [...]suiteInfo{
	AES_CM_128_HMAC_SHA1_80: {"AES_CM_128_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80, 16, 14},
	AES_CM_128_HMAC_SHA1_32: {"AES_CM_128_HMAC_SHA1_32", srtp.ProtectionProfileAes128CmHmacSha1_32, 16, 14},
	AES_256_CM_HMAC_SHA1_80: {"AES_256_CM_HMAC_SHA1_80", srtp.ProtectionProfileAes256CmHmacSha1_80, 32, 14},
	AES_256_CM_HMAC_SHA1_32: {"AES_256_CM_HMAC_SHA1_32", srtp.ProtectionProfileAes256CmHmacSha1_32, 32, 14},
	AEAD_AES_128_GCM:        {"AEAD_AES_128_GCM", srtp.ProtectionProfileAeadAes128Gcm, 16, 12},
	AEAD_AES_256_GCM:        {"AEAD_AES_256_GCM", srtp.ProtectionProfileAeadAes256Gcm, 32, 12},
}

// DefaultSuites is what paybridge offers, in its order of preference: the suite every SDES
// implementation has first (the answerer takes the first it supports), then the shorter tag,
// then AES-GCM.
var DefaultSuites = []SRTPSuite{AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, AEAD_AES_128_GCM, AEAD_AES_256_GCM}

// String is the suite's SDP name ("AES_CM_128_HMAC_SHA1_80"); "none" for SuiteNone.
func (s SRTPSuite) String() string {
	if s == SuiteNone || int(s) >= len(suites) {
		return "none"
	}
	return suites[s].name
}

// SuiteByName returns the suite an a=crypto line names (case-sensitive, as RFC 4568 writes
// them); false for a suite paybridge does not speak.
func SuiteByName(name string) (SRTPSuite, bool) {
	for i := range suites {
		if i != 0 && suites[i].name == name {
			return SRTPSuite(i), true
		}
	}
	return SuiteNone, false
}

func (s SRTPSuite) info() suiteInfo { return suites[s] }

// keyLen is the length of the master key and salt together (the inline key).
func (s SRTPSuite) keyLen() int { return suites[s].keyLen + suites[s].saltLen }

// Crypto is one SDES a=crypto attribute (RFC 4568 section 9.1): a tag, a suite and the master
// key and salt it carries. The key is as secret as a card number: every printing path of a
// Crypto masks it, and Zero overwrites it. Lines paybridge cannot use are kept with Err set,
// so that a refusal can say why.
type Crypto struct {
	Tag   int
	Suite SRTPSuite
	// Key is the master key followed by the master salt (the decoded inline key).
	Key []byte
	// MKI is the master key identifier carried in every packet (nil: none); MKILen its length.
	MKI []byte
	// Err says why the line cannot be used (an unknown suite, a session parameter paybridge
	// does not support, a malformed key); nil for a usable line.
	Err error
}

// String prints the tag and suite, never the key. Every printing method has a value
// receiver, so a Crypto prints masked both as a value and through a pointer.
func (c Crypto) String() string {
	return strconv.Itoa(c.Tag) + " " + c.Suite.String() + " inline:[redacted]"
}

// GoString is String for %#v.
func (c Crypto) GoString() string { return "media.Crypto(" + c.String() + ")" }

// Format prints String for every verb, so no directive reveals the key.
func (c Crypto) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// LogValue is String.
func (c Crypto) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalText is String (encoding/json and others).
func (c Crypto) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Zero overwrites the key and the MKI.
func (c *Crypto) Zero() {
	if c == nil {
		return
	}
	clear(c.Key)
	clear(c.MKI)
}

// clone is a deep copy (the session keeps its own, zeroed at Close).
func (c *Crypto) clone() *Crypto {
	out := *c
	out.Key = append([]byte(nil), c.Key...)
	if c.MKI != nil {
		out.MKI = append([]byte(nil), c.MKI...)
	}
	return &out
}

// sameKey reports whether a and b carry the same suite, key and MKI (a re-offer that keeps
// its key).
func sameKey(a, b *Crypto) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Suite == b.Suite && string(a.Key) == string(b.Key) && string(a.MKI) == string(b.MKI)
}

// NewCrypto makes a fresh master key and salt for suite from crypto/rand.
func NewCrypto(tag int, suite SRTPSuite) (*Crypto, error) {
	if suite == SuiteNone || int(suite) >= len(suites) {
		return nil, fmt.Errorf("%w: %d", ErrCryptoSuite, suite)
	}
	c := &Crypto{Tag: tag, Suite: suite, Key: make([]byte, suite.keyLen())}
	if _, err := rand.Read(c.Key); err != nil {
		return nil, err
	}
	return c, nil
}

// NewOfferCryptos makes one a=crypto line per suite, each with its own fresh key, tagged 1…n:
// the lines of an offer. The answer picks one by its tag.
func NewOfferCryptos(list []SRTPSuite) ([]*Crypto, error) {
	out := make([]*Crypto, 0, len(list))
	for i, s := range list {
		c, err := NewCrypto(i+1, s)
		if err != nil {
			for _, o := range out {
				o.Zero()
			}
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// attribute is the value of the a=crypto attribute ("1 AES_CM_128_HMAC_SHA1_80 inline:…").
func (c *Crypto) attribute() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(c.Tag))
	b.WriteByte(' ')
	b.WriteString(c.Suite.String())
	b.WriteString(" inline:")
	b.WriteString(base64.StdEncoding.EncodeToString(c.Key))
	if len(c.MKI) > 0 {
		var v uint64
		for _, x := range c.MKI {
			v = v<<8 | uint64(x)
		}
		b.WriteString("|" + strconv.FormatUint(v, 10) + ":" + strconv.Itoa(len(c.MKI)))
	}
	return b.String()
}

// ParseCrypto reads the value of an a=crypto attribute (after "crypto:"). A line that is
// well-formed but that paybridge cannot use — an unknown suite, several keys, a key derivation
// rate, unencrypted or unauthenticated SRTP, FEC parameters, an unknown session parameter —
// is returned with Err set (RFC 4568 section 7.1.2: such a line is not acceptable; another
// line may be). An error means the line is not an a=crypto attribute at all. Errors never
// quote the key.
func ParseCrypto(value string) (Crypto, error) {
	f := strings.Fields(value)
	if len(f) < 3 {
		return Crypto{}, fmt.Errorf("%w: a=crypto needs a tag, a suite and key parameters", ErrCryptoMalformed)
	}
	tag, err := strconv.Atoi(f[0])
	if err != nil || tag < 0 || tag > 999999999 || len(f[0]) > 9 {
		return Crypto{}, fmt.Errorf("%w: a=crypto tag is not a number of up to 9 digits", ErrCryptoMalformed)
	}
	c := Crypto{Tag: tag}
	suite, ok := SuiteByName(f[1])
	if !ok {
		c.Err = fmt.Errorf("%w: %s", ErrCryptoSuite, clip(f[1], 40))
		return c, nil
	}
	c.Suite = suite
	if strings.Contains(f[2], ";") {
		c.Err = fmt.Errorf("%w: several keys in one line", ErrCryptoUnsupported)
		return c, nil
	}
	if err := c.parseKeyParam(f[2]); err != nil {
		c.Zero()
		c.Key, c.MKI = nil, nil
		c.Err = err
		return c, nil
	}
	for _, p := range f[3:] {
		if err := sessionParam(p); err != nil {
			c.Zero()
			c.Key, c.MKI = nil, nil
			c.Err = err
			return c, nil
		}
	}
	return c, nil
}

// parseKeyParam reads "inline:<key||salt>[|lifetime][|MKI:length]".
func (c *Crypto) parseKeyParam(kp string) error {
	method, info, ok := strings.Cut(kp, ":")
	if !ok || method != "inline" {
		return fmt.Errorf("%w: key method is not inline", ErrCryptoMalformed)
	}
	parts := strings.Split(info, "|")
	if len(parts) > 3 {
		return fmt.Errorf("%w: too many key parameters", ErrCryptoMalformed)
	}
	key, err := base64.StdEncoding.DecodeString(parts[0])
	if err != nil {
		// Some implementations leave the padding out.
		key, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(parts[0], "="))
	}
	if err != nil {
		return fmt.Errorf("%w: key is not base64", ErrCryptoMalformed)
	}
	c.Key = key
	if len(key) != c.Suite.keyLen() {
		return fmt.Errorf("%w: %s needs a %d-byte key and salt, got %d", ErrCryptoMalformed, c.Suite, c.Suite.keyLen(), len(key))
	}
	for _, p := range parts[1:] {
		if v, l, isMKI := strings.Cut(p, ":"); isMKI {
			val, err1 := strconv.ParseUint(v, 10, 64)
			n, err2 := strconv.Atoi(l)
			if err1 != nil || err2 != nil || n < 1 || n > 8 || n < 8 && val >= 1<<(8*n) {
				return fmt.Errorf("%w: MKI is not value:length (1-8 bytes)", ErrCryptoMalformed)
			}
			c.MKI = make([]byte, n)
			for i := n - 1; i >= 0; i-- {
				c.MKI[i] = byte(val)
				val >>= 8
			}
			continue
		}
		// A lifetime: decimal or 2^N. paybridge calls never come near 2^31 packets; the value
		// is checked, not used.
		if e, ok := strings.CutPrefix(p, "2^"); ok {
			if n, err := strconv.Atoi(e); err != nil || n < 1 || n > 48 {
				return fmt.Errorf("%w: bad key lifetime", ErrCryptoMalformed)
			}
			continue
		}
		if _, err := strconv.ParseUint(p, 10, 64); err != nil {
			return fmt.Errorf("%w: bad key lifetime", ErrCryptoMalformed)
		}
	}
	return nil
}

// sessionParam accepts the session parameters that change nothing for paybridge (it sends
// and reads no RTCP, so the SRTCP ones do not matter; a window size hint is a hint) and
// refuses the rest.
func sessionParam(p string) error {
	name, val, _ := strings.Cut(p, "=")
	switch name {
	case "UNENCRYPTED_SRTCP", "UNAUTHENTICATED_SRTCP", "WSH":
		return nil
	case "KDR":
		if val == "0" {
			return nil
		}
		return fmt.Errorf("%w: key derivation rate %s", ErrCryptoUnsupported, clip(val, 8))
	case "UNENCRYPTED_SRTP", "UNAUTHENTICATED_SRTP":
		return fmt.Errorf("%w: %s (paybridge encrypts and authenticates every packet)", ErrCryptoUnsupported, name)
	}
	return fmt.Errorf("%w: session parameter %s", ErrCryptoUnsupported, clip(name, 24))
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
