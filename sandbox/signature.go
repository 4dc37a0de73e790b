package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// signatureHeader carries the signature of a result posted from outside (POST
// …/session/{id}/result): "t=UNIX,v1=HEX", where v1 is the hex HMAC-SHA256, keyed with the
// account's payment key, of the timestamp, a '.', and the exact body. Several v1 values may be
// given (key rotation); one that matches is enough. It is the scheme of paybridge's webhooks,
// so a merchant signs a result with the same code that verifies paybridge's events.
const signatureHeader = "Paybridge-Signature"

// verifySignature checks header against body and key, and that it was made within tolerance
// of now.
func verifySignature(header string, body []byte, key string, tolerance time.Duration, now time.Time) error {
	if header == "" || len(header) > 4096 {
		return errSignature
	}
	var ts string
	var macs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			if ts != "" || !isDigits(v) || len(v) > 12 {
				return errSignature
			}
			ts = v
		case "v1":
			if mac, err := hex.DecodeString(v); err == nil && len(mac) == sha256.Size {
				macs = append(macs, mac)
			}
		}
	}
	if ts == "" || len(macs) == 0 {
		return errSignature
	}
	t, _ := strconv.ParseInt(ts, 10, 64)
	if d := now.Sub(time.Unix(t, 0)); d > tolerance || d < -tolerance {
		return errSignature
	}
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := m.Sum(nil)
	for _, mac := range macs {
		if hmac.Equal(mac, want) {
			return nil
		}
	}
	return errSignature
}
