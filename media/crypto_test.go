package media

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestParseCrypto(t *testing.T) {
	key30 := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcd"))
	key44 := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef0123456789ab"))
	key46 := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef0123456789abcd"))
	key28 := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789ab"))
	for _, tc := range []struct {
		line    string
		suite   SRTPSuite
		tag     int
		mki     []byte
		bad     error // Err of a well-formed line paybridge cannot use
		invalid bool  // not an a=crypto attribute at all
	}{
		{line: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30, suite: AES_CM_128_HMAC_SHA1_80, tag: 1},
		{line: "2 AES_CM_128_HMAC_SHA1_32 inline:" + key30 + "|2^31", suite: AES_CM_128_HMAC_SHA1_32, tag: 2},
		{line: "3 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:4", suite: AES_CM_128_HMAC_SHA1_80, tag: 3, mki: []byte{0, 0, 0, 1}},
		{line: "4 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|258:2 UNENCRYPTED_SRTCP WSH=128", suite: AES_CM_128_HMAC_SHA1_80, tag: 4, mki: []byte{1, 2}},
		{line: "5 AEAD_AES_256_GCM inline:" + key44, suite: AEAD_AES_256_GCM, tag: 5},
		{line: "6 AEAD_AES_128_GCM inline:" + key28 + " KDR=0", suite: AEAD_AES_128_GCM, tag: 6},
		{line: "7 AES_256_CM_HMAC_SHA1_80 inline:" + key46, suite: AES_256_CM_HMAC_SHA1_80, tag: 7},
		{line: "7 AES_256_CM_HMAC_SHA1_32 inline:" + key44, suite: AES_256_CM_HMAC_SHA1_32, tag: 7, bad: ErrCryptoMalformed},
		{line: "8 AES_CM_128_HMAC_SHA1_80 inline:" + strings.TrimRight(key30, "="), suite: AES_CM_128_HMAC_SHA1_80, tag: 8},
		{line: "1 F8_128_HMAC_SHA1_80 inline:" + key30, tag: 1, bad: ErrCryptoSuite},
		{line: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " UNENCRYPTED_SRTP", suite: AES_CM_128_HMAC_SHA1_80, tag: 1, bad: ErrCryptoUnsupported},
		{line: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " UNAUTHENTICATED_SRTP", suite: AES_CM_128_HMAC_SHA1_80, tag: 1, bad: ErrCryptoUnsupported},
		{line: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " KDR=24", suite: AES_CM_128_HMAC_SHA1_80, tag: 1, bad: ErrCryptoUnsupported},
		{line: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " FEC_ORDER=FEC_SRTP", suite: AES_CM_128_HMAC_SHA1_80, tag: 1, bad: ErrCryptoUnsupported},
		{line: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:1;inline:" + key30 + "|2:1", suite: AES_CM_128_HMAC_SHA1_80, tag: 1, bad: ErrCryptoUnsupported},
		{line: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key28, suite: AES_CM_128_HMAC_SHA1_80, tag: 1, bad: ErrCryptoMalformed},
		{line: "1 AES_CM_128_HMAC_SHA1_80 inline:!!notbase64!!", suite: AES_CM_128_HMAC_SHA1_80, tag: 1, bad: ErrCryptoMalformed},
		{line: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^99", suite: AES_CM_128_HMAC_SHA1_80, tag: 1, bad: ErrCryptoMalformed},
		{line: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|300:1", suite: AES_CM_128_HMAC_SHA1_80, tag: 1, bad: ErrCryptoMalformed},
		{line: "1 AES_CM_128_HMAC_SHA1_80 uri:https://keys.example/" + key30, suite: AES_CM_128_HMAC_SHA1_80, tag: 1, bad: ErrCryptoMalformed},
		{line: "x AES_CM_128_HMAC_SHA1_80 inline:" + key30, invalid: true},
		{line: "1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + key30, invalid: true},
		{line: "1 AES_CM_128_HMAC_SHA1_80", invalid: true},
	} {
		t.Run(tc.line, func(t *testing.T) {
			c, err := ParseCrypto(tc.line)
			if tc.invalid {
				if !errors.Is(err, ErrCryptoMalformed) {
					t.Fatalf("err = %v, want ErrCryptoMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Tag != tc.tag || c.Suite != tc.suite {
				t.Fatalf("tag %d suite %v, want %d %v", c.Tag, c.Suite, tc.tag, tc.suite)
			}
			if tc.bad != nil {
				if !errors.Is(c.Err, tc.bad) {
					t.Fatalf("Err = %v, want %v", c.Err, tc.bad)
				}
				if c.Key != nil {
					t.Fatal("an unusable line keeps its key")
				}
				assertNoKeyIn(t, "the line's error", c.Err.Error(), tc.line)
				return
			}
			if c.Err != nil {
				t.Fatalf("Err = %v", c.Err)
			}
			if len(c.Key) != c.Suite.keyLen() {
				t.Fatalf("key of %d bytes for %v", len(c.Key), c.Suite)
			}
			if string(c.MKI) != string(tc.mki) {
				t.Fatalf("MKI %v, want %v", c.MKI, tc.mki)
			}
			// The line paybridge writes reads back as the same key.
			back, err := ParseCrypto(c.attribute())
			if err != nil || back.Err != nil || !sameKey(&c, &back) || back.Tag != c.Tag {
				t.Fatalf("round trip of %v: %v %v", &c, err, back.Err)
			}
		})
	}
}

// assertNoKeyIn fails when s quotes the base64 key of line (or a long piece of it).
func assertNoKeyIn(t *testing.T, what, s, line string) {
	t.Helper()
	_, after, ok := strings.Cut(line, "inline:")
	if !ok {
		return
	}
	key := strings.FieldsFunc(after, func(r rune) bool { return r == '|' || r == ' ' || r == ';' })[0]
	for i := 0; i+12 <= len(key); i++ {
		if strings.Contains(s, key[i:i+12]) {
			t.Fatalf("%s quotes the key: %q", what, s)
		}
	}
}

func TestCryptoNeverPrintsItsKey(t *testing.T) {
	c, err := NewCrypto(3, AES_CM_128_HMAC_SHA1_80)
	if err != nil {
		t.Fatal(err)
	}
	line := "3 AES_CM_128_HMAC_SHA1_80 inline:" + base64.StdEncoding.EncodeToString(c.Key)
	if got := c.attribute(); got != line {
		t.Fatalf("attribute %q, want %q", got, line)
	}
	var logs strings.Builder
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "crypto", c, "value", *c)
	js, _ := json.Marshal(struct{ C *Crypto }{c})
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q %x", c, c, c, c, c, c), logs.String(), string(js)} {
		assertNoKeyIn(t, "printing a Crypto", out, line)
		if strings.Contains(out, fmt.Sprint(c.Key)) {
			t.Fatalf("printing a Crypto shows the key bytes: %s", out)
		}
	}
	c.Zero()
	for _, b := range c.Key {
		if b != 0 {
			t.Fatal("Zero left key bytes")
		}
	}
}

func TestNewCryptoIsFreshEachTime(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		cs, err := NewOfferCryptos(DefaultSuites)
		if err != nil {
			t.Fatal(err)
		}
		for j, c := range cs {
			if c.Tag != j+1 || c.Suite != DefaultSuites[j] || len(c.Key) != c.Suite.keyLen() {
				t.Fatalf("line %d: %v with %d key bytes", j, c, len(c.Key))
			}
			if seen[string(c.Key)] {
				t.Fatal("a key came out twice")
			}
			seen[string(c.Key)] = true
		}
	}
}

func FuzzParseCrypto(f *testing.F) {
	for _, s := range []string{
		"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32",
		"2 AEAD_AES_256_GCM inline:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWI= KDR=0 WSH=64",
		"1 AES_CM_128_HMAC_SHA1_80 inline:a|b|c|d", "1", "", "99999 X inline:", "1 AES_CM_128_HMAC_SHA1_32 inline:====",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCrypto(s)
		if err != nil {
			return
		}
		if c.Err == nil {
			if len(c.Key) != c.Suite.keyLen() {
				t.Fatalf("usable line with a %d-byte key for %v", len(c.Key), c.Suite)
			}
			back, err := ParseCrypto(c.attribute())
			if err != nil || back.Err != nil || !sameKey(&c, &back) {
				t.Fatalf("round trip failed: %v %v", err, back.Err)
			}
		}
	})
}
