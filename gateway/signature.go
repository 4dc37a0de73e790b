package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries the signature of a webhook or a signed result callback:
//
//	Paybridge-Signature: t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
// v1 is the hex HMAC-SHA256, keyed with the shared secret, of the ASCII timestamp, a '.', and
// the exact request body. A header may carry several v1 values (secret rotation); one matching
// is enough.
const SignatureHeader = "Paybridge-Signature"

// maxSignatureHeader bounds the header a verifier will look at.
const maxSignatureHeader = 4096

// Sign returns the signature header value for body at time t.
func Sign(body []byte, secret string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(signatureMAC(ts, body, secret))
}

func signatureMAC(ts string, body []byte, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// ParsedSignature is a signature header split into its parts.
type ParsedSignature struct {
	Timestamp int64
	V1        [][]byte // decoded HMACs
}

// ParseSignature splits a "t=…,v1=…" header. Unknown schemes (v0=…, future v2=…) are ignored;
// a missing or repeated timestamp, a non-hex v1 or no v1 at all is ErrSignature.
func ParseSignature(header string) (ParsedSignature, error) {
	var p ParsedSignature
	if header == "" || len(header) > maxSignatureHeader {
		return p, fmt.Errorf("%w: empty or oversized header", ErrSignature)
	}
	haveT := false
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return p, fmt.Errorf("%w: element without '='", ErrSignature)
		}
		switch k {
		case "t":
			if haveT {
				return p, fmt.Errorf("%w: repeated timestamp", ErrSignature)
			}
			if !allDigits(v) || len(v) > 12 {
				return p, fmt.Errorf("%w: timestamp is not a unix time", ErrSignature)
			}
			ts, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return p, fmt.Errorf("%w: timestamp is not a unix time", ErrSignature)
			}
			p.Timestamp, haveT = ts, true
		case "v1":
			mac, err := hex.DecodeString(v)
			if err != nil || len(mac) != sha256.Size {
				return p, fmt.Errorf("%w: v1 is not a hex SHA-256 HMAC", ErrSignature)
			}
			p.V1 = append(p.V1, mac)
		}
	}
	if !haveT {
		return p, fmt.Errorf("%w: no timestamp", ErrSignature)
	}
	if len(p.V1) == 0 {
		return p, fmt.Errorf("%w: no v1 signature", ErrSignature)
	}
	return p, nil
}

// VerifySignature checks a signature header against body and secret, and that its timestamp
// lies within tolerance of now (tolerance ≤ 0 skips the time check). It returns nil, or an
// error wrapping ErrSignature or ErrSignatureExpired.
func VerifySignature(header string, body []byte, secret string, tolerance time.Duration) error {
	return verifySignatureAt(header, body, secret, tolerance, time.Now())
}

func verifySignatureAt(header string, body []byte, secret string, tolerance time.Duration, now time.Time) error {
	p, err := ParseSignature(header)
	if err != nil {
		return err
	}
	if tolerance > 0 {
		d := now.Sub(time.Unix(p.Timestamp, 0))
		if d < 0 {
			d = -d
		}
		if d > tolerance {
			return fmt.Errorf("%w: signed %s from now", ErrSignatureExpired, d.Round(time.Second))
		}
	}
	want := signatureMAC(strconv.FormatInt(p.Timestamp, 10), body, secret)
	for _, mac := range p.V1 {
		if hmac.Equal(mac, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 matches", ErrSignature)
}
