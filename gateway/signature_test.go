package gateway

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestSignatureRoundTrip(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"pay.completed"}`)
	now := time.Unix(1_700_000_000, 0)
	h := Sign(body, "secret", now)
	if err := verifySignatureAt(h, body, "secret", 5*time.Minute, now.Add(time.Minute)); err != nil {
		t.Fatalf("verify: %v", err)
	}
	cases := []struct {
		name   string
		header string
		body   []byte
		secret string
		at     time.Time
		want   error
	}{
		{"wrong secret", h, body, "other", now, ErrSignature},
		{"changed body", h, []byte(`{"id":"evt_1","type":"pay.failed"}`), "secret", now, ErrSignature},
		{"too old", h, body, "secret", now.Add(10 * time.Minute), ErrSignatureExpired},
		{"from the future", h, body, "secret", now.Add(-10 * time.Minute), ErrSignatureExpired},
		{"empty", "", body, "secret", now, ErrSignature},
		{"no v1", "t=1700000000", body, "secret", now, ErrSignature},
		{"no t", "v1=" + h[len("t=1700000000,v1="):], body, "secret", now, ErrSignature},
		{"bad hex", "t=1700000000,v1=zz", body, "secret", now, ErrSignature},
		{"two t", "t=1,t=2,v1=00", body, "secret", now, ErrSignature},
		{"garbage", "hello", body, "secret", now, ErrSignature},
		{"other scheme only", "t=1700000000,v0=abcd", body, "secret", now, ErrSignature},
	}
	for _, tc := range cases {
		if err := verifySignatureAt(tc.header, tc.body, tc.secret, 5*time.Minute, tc.at); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// Rotation: one of several v1 values matching is enough.
	rot := Sign(body, "new", now) + ",v1=" + Sign(body, "old", now)[len("t=1700000000,v1="):]
	if err := verifySignatureAt(rot, body, "old", time.Minute, now); err != nil {
		t.Fatalf("rotation: %v", err)
	}
}

func ExampleSign() {
	body := []byte(`{"id":"evt_1"}`)
	h := Sign(body, "whsec_demo", time.Unix(1700000000, 0))
	fmt.Println(h[:13])
	fmt.Println(verifySignatureAt(h, body, "whsec_demo", 5*time.Minute, time.Unix(1700000030, 0)))
	// Output:
	// t=1700000000,
	// <nil>
}

func FuzzParseSignature(f *testing.F) {
	f.Add("t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd")
	f.Add("t=1,v1=00,v0=zz")
	f.Add("")
	f.Add(",,,=")
	f.Add("t=99999999999999999999,v1=")
	f.Fuzz(func(t *testing.T, h string) {
		p, err := ParseSignature(h)
		if err != nil {
			if !errors.Is(err, ErrSignature) {
				t.Fatalf("error not wrapping ErrSignature: %v", err)
			}
			return
		}
		if len(p.V1) == 0 {
			t.Fatal("parsed without a v1")
		}
		for _, m := range p.V1 {
			if len(m) != 32 {
				t.Fatalf("v1 of %d bytes", len(m))
			}
		}
		_ = VerifySignature(h, []byte("body"), "s", time.Minute)
	})
}
