package sandbox

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzParseAmount: whatever the input, parseAmount never panics, and what it accepts it
// formats back to the same value.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12.34", "12", "0.5", "-1", "1e3", "12.345", "", ".5", "999999999999999"} {
		f.Add(s, "GBP")
	}
	f.Add("500", "JPY")
	f.Add("1.500", "KWD")
	f.Fuzz(func(t *testing.T, s, cur string) {
		a, err := parseAmount(s, cur)
		if err != nil {
			return
		}
		b, err := parseAmount(formatAmount(a), a.Currency)
		if err != nil || b != a {
			t.Fatalf("%q %q → %+v → %q → %+v %v", s, cur, a, formatAmount(a), b, err)
		}
	})
}

// FuzzVerifySignature: no header verifies but one made with the key, and none panics.
func FuzzVerifySignature(f *testing.F) {
	now := time.Unix(1_700_000_000, 0)
	f.Add(sign(`{"status":"paid"}`, "pk", now), `{"status":"paid"}`)
	f.Add("t=1700000000,v1=00", "")
	f.Add("t=,v1=,v1", "x")
	f.Add(strings.Repeat("v1=ab,", 800), "x")
	f.Fuzz(func(t *testing.T, header, body string) {
		err := verifySignature(header, []byte(body), "pk", 5*time.Minute, now)
		mac := sign(body, "pk", now)[len("t=1700000000,v1="):] // (the fuzzer cannot make another time's)
		if err == nil && !strings.Contains(strings.ToLower(header), mac) {
			t.Fatalf("%q verified for %q without its HMAC", header, body)
		}
		if verifySignature(header, []byte(body), "another key", 5*time.Minute, now) == nil && err == nil {
			t.Fatalf("%q verified with two keys", header)
		}
	})
}

// FuzzParsePaymentKeys: no input panics, and an error never echoes a key.
func FuzzParsePaymentKeys(f *testing.F) {
	for _, s := range []string{"a:pk_1", "a:pk_1,b:pk_2", "a", ":pk_x", "a:pk_1 a:pk_2", "\n,\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := ParsePaymentKeys(s)
		if err != nil {
			for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
				if _, key, ok := strings.Cut(p, ":"); ok && len(key) > 3 && strings.Contains(err.Error(), key) {
					t.Fatalf("%q: the error %q echoes the key %q", s, err, key)
				}
			}
			return
		}
		for a, k := range keys {
			if a == "" || k == "" {
				t.Fatalf("%q: empty account or key in %v", s, keys)
			}
		}
	})
}

// FuzzFaultsJSON: whatever PUT /admin/faults receives, decoding never panics, and what decodes
// encodes to a document that decodes to the same faults.
func FuzzFaultsJSON(f *testing.F) {
	for _, s := range []string{`{"latency":"200ms","fail_first":2,"paths":["/v1/charges"]}`, `{"fail_rate":2}`,
		`{"hang_for":"-1s"}`, `{}`, `null`, `{"nope":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var a Faults
		if json.Unmarshal(in, &a) != nil {
			return
		}
		out, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var b Faults
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatalf("%s → %s does not decode: %v", in, out, err)
		}
		again, _ := json.Marshal(b)
		if !bytes.Equal(out, again) {
			t.Fatalf("%s → %s → %s", in, out, again)
		}
	})
}
