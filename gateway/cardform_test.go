package gateway

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseCardForm(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		body  string
		field string // "" = valid; else the fields in error, space separated
		mask  string
		m, y  int
	}{
		{"cc-number=4242424242424242&cc-exp=12%2F28&cc-csc=123&postal-code=SW1A+1AA", "", "************4242", 12, 2028},
		{"cc-number=4242+4242+4242+4242&cc-exp=1228&cc-csc=123", "", "************4242", 12, 2028},
		{"cc-number=4242-4242-4242-4242&cc-exp=12+%2F+2030&cc-csc=1234", "", "************4242", 12, 2030},
		{"cc-number=%34%32%34%32424242424242&cc-exp=11/26&cc-csc=123", "", "************4242", 11, 2026},
		{"cc-number=4242424242424241&cc-exp=12/28&cc-csc=123", "cc-number", "", 0, 0},
		{"cc-number=42424242&cc-exp=12/28&cc-csc=123", "cc-number", "", 0, 0},
		{"cc-number=4242x242424242424&cc-exp=12/28&cc-csc=123", "cc-number", "", 0, 0},
		{"cc-number=4242424242424242&cc-exp=13/28&cc-csc=123", "cc-exp", "", 0, 0},
		{"cc-number=4242424242424242&cc-exp=10/26&cc-csc=123", "cc-exp", "", 0, 0},
		{"cc-number=4242424242424242&cc-exp=&cc-csc=123", "cc-exp", "", 0, 0},
		{"cc-number=4242424242424242&cc-exp=12/28&cc-csc=12", "cc-csc", "", 0, 0},
		{"cc-number=4242424242424242&cc-exp=12/28", "cc-csc", "", 0, 0},
		{"cc-number=4242424242424242&cc-number=4242424242424242&cc-exp=12/28&cc-csc=123", "form", "", 0, 0},
		{"cc-number=4242424242424242%&cc-exp=12/28&cc-csc=123", "cc-number", "", 0, 0},
		{strings.Repeat("a", maxFormBody+1), "form", "", 0, 0},
		// Every field that is wrong is reported, together, in the page's order.
		{"cc-csc=12&cc-exp=13/28&cc-number=4242424242424241", "cc-number cc-exp cc-csc", "", 0, 0},
		{"cc-number=&cc-exp=&cc-csc=", "cc-number cc-exp cc-csc", "", 0, 0},
		{"cc-number=4242424242424242&cc-exp=10/26&postal-code=" + strings.Repeat("A", 17), "cc-exp cc-csc postal-code", "", 0, 0},
	}
	for i, tc := range cases {
		f, err := parseCardForm([]byte(tc.body), now)
		if tc.field != "" {
			var fields []string
			var fes formErrors
			var fe *formFieldError
			switch {
			case errors.As(err, &fes):
				for _, e := range fes {
					fields = append(fields, e.Field)
				}
			case errors.As(err, &fe):
				fields = []string{fe.Field}
			}
			if strings.Join(fields, " ") != tc.field || !errors.Is(err, ErrBadCard) {
				t.Errorf("case %d: %v, want errors on %s", i, err, tc.field)
			}
			if strings.Contains(fmt.Sprint(err), "4242") {
				t.Errorf("case %d: error echoes digits: %v", i, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		if f.Number.Mask() != tc.mask || f.ExpMonth != tc.m || f.ExpYear != tc.y {
			t.Errorf("case %d: %s %d/%d", i, f.Number.Mask(), f.ExpMonth, f.ExpYear)
		}
		f.Wipe()
		if f.Number.Len() != 0 || f.CSC.Len() != 0 {
			t.Errorf("case %d: Wipe left digits", i)
		}
	}
}

func FuzzParseCardForm(f *testing.F) {
	f.Add([]byte("cc-number=4242424242424242&cc-exp=12%2F28&cc-csc=123&postal-code=SW1A+1AA"))
	f.Add([]byte("cc-number=%&cc-exp=%2&cc-csc=%zz"))
	f.Add([]byte("&&&==&"))
	f.Add([]byte("cc-exp=1/2/3"))
	f.Fuzz(func(t *testing.T, body []byte) {
		fm, err := parseCardForm(body, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			if !errors.Is(err, ErrBadCard) {
				t.Fatalf("error %v does not wrap ErrBadCard", err)
			}
			return
		}
		if n := fm.Number.Len(); n < 12 || n > 19 {
			t.Fatalf("accepted a %d-digit number", n)
		}
		if fm.ExpMonth < 1 || fm.ExpMonth > 12 {
			t.Fatalf("accepted month %d", fm.ExpMonth)
		}
		fm.Wipe()
	})
}

func TestParseLinkToken(t *testing.T) {
	tok, hash := newLinkToken()
	if got, err := ParseLinkToken(tok); err != nil || got != hash {
		t.Fatalf("ParseLinkToken(fresh) = %q, %v", got, err)
	}
	for _, bad := range []string{"", "abc", tok + "A", tok[:42] + "!", strings.Repeat("=", 43), tok[:42] + "+"} {
		if _, err := ParseLinkToken(bad); !errors.Is(err, ErrBadToken) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		tk, _ := newLinkToken()
		if seen[tk] {
			t.Fatal("token repeated")
		}
		seen[tk] = true
	}
}

func FuzzParseLinkToken(f *testing.F) {
	tok, _ := newLinkToken()
	f.Add(tok)
	f.Add("")
	f.Add(strings.Repeat("A", 43))
	f.Add(strings.Repeat("_", 43))
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseLinkToken(s)
		if err != nil {
			if !errors.Is(err, ErrBadToken) {
				t.Fatalf("unwrapped %v", err)
			}
			return
		}
		if len(h) != 64 || len(s) != linkTokenLen {
			t.Fatalf("accepted %q → %q", s, h)
		}
	})
}
