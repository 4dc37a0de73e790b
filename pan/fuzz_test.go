package pan

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzRedact: whatever the text, Redact leaves nothing that its own card rule would mask and
// no complete card number (FindCard), never lengthens the text, and returns clean text as it
// is.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"4242424242424242", "4242 4242 4242 4242", "+4242424242424242", "x378282246310005y",
		"5555-5555-5555-4444", "", "cvv2: 123", "exp 12/25", `\u00344242424242424242`, "ref 1 2 3 4242424242424242",
		"routing 011000015 account 000123456789", "+44 20 7946 0958", "a1-2-3-4-5-6-7-8-9-0-1-2-3b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Redact(s)
		if len(out) > len(s) {
			t.Fatalf("output longer than input: %q → %q", s, out)
		}
		if at := FindCard(out); at >= 0 {
			t.Fatalf("a card survived at %d: %q → %q", at, s, out)
		}
		for i := 0; i < len(out); {
			if !isDigit(out[i]) {
				i++
				continue
			}
			r := scanRun(out, i)
			if masks(out, r) {
				t.Fatalf("%q survived: %q → %q", out[r.start:r.end], s, out)
			}
			i = r.end
		}
		if out == s && Redact(s) != s {
			t.Fatal("Redact is not deterministic")
		}
	})
}

// FuzzRedactJSON: never panics; valid JSON stays valid JSON, and no string or number in it
// holds a complete card number.
func FuzzRedactJSON(f *testing.F) {
	for _, s := range []string{`{"a":"4242424242424242"}`, `[4242424242424242]`, `"x"`, `{`, `null`, `1e400`,
		`{"cvc":"123","exp_month":12}`, `{"m":"\u0034242424242424242"}`, `{"a":[{"b":{"c":"4242 4242 4242 4242"}}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out := RedactJSON(b)
		if !json.Valid(b) {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("valid JSON became invalid: %s → %s", b, out)
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			var s string
			switch v := tok.(type) {
			case string:
				s = v
			case json.Number:
				s = string(v)
			}
			if FindCard(s) >= 0 {
				t.Fatalf("a card survived in %q: %s → %s", s, b, out)
			}
		}
	})
}

// FuzzCardRules: the card rules agree with one another on any input.
func FuzzCardRules(f *testing.F) {
	for _, s := range []string{"4242424242424242", "378282246310005", "", "0", "abc", "6011111111111117", "1226", "011000015"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		ok := Luhn(p)
		if ok && (len(p) < 2 || !allDigits(p)) {
			t.Fatalf("Luhn accepted a non-number of length %d", len(p))
		}
		if c := CheckDigit(p); c != 0 && len(p) > 0 && !Luhn(append(append([]byte(nil), p...), c)) {
			t.Fatalf("CheckDigit(%q) = %q does not complete it", p, c)
		}
		if ok { // Luhn catches every single-digit error
			q := append([]byte(nil), p...)
			q[0] = '0' + (q[0]-'0'+1)%10
			if Luhn(q) {
				t.Fatal("Luhn missed a single-digit change")
			}
		}
		brand, err := CheckNumber(p, nil)
		if (err == nil) != Valid(p) || err == nil && (brand == "" || !ok || DetectBrand(p) != brand) {
			t.Fatalf("CheckNumber (%q, %v) disagrees with Valid %v / Luhn %v", brand, err, Valid(p), ok)
		}
		if Valid(p) && FindCard(string(p)) != 0 {
			t.Fatal("FindCard misses a valid card")
		}
		if m := Mask(p); len(m) != len(p) || len(p) <= MaxDigits && allDigits(p) && !ValidMask(m) {
			t.Fatalf("Mask of %d bytes = %d bytes, valid %v", len(p), len(m), ValidMask(m))
		}
		if m, y, err := CheckExpiry(p, time.Unix(1_800_000_000, 0)); err == nil && (m < 1 || m > 12 || y < 2000) {
			t.Fatalf("CheckExpiry accepted month %d year %d", m, y)
		}
		_ = CheckRoutingNumber(p)
		_ = CheckSecurityCode(p, brand)
		_ = CheckPostalCode(p, 0)
	})
}
