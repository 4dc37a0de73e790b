package gateway

import (
	"errors"
	"fmt"
	"testing"

	"github.com/paybridge/paybridge/payment"
)

func TestParseAmount(t *testing.T) {
	cases := []struct {
		in, cur string
		minor   int64
		err     bool
	}{
		{"12.34", "GBP", 1234, false}, {"12", "gbp", 1200, false}, {"12.3", "USD", 1230, false},
		{"0.00", "EUR", 0, false}, {"500", "JPY", 500, false}, {"1.500", "KWD", 1500, false},
		{"12.345", "GBP", 0, true}, {"1.5", "JPY", 0, true}, {"-1", "GBP", 0, true}, {"", "GBP", 0, true},
		{"1e3", "GBP", 0, true}, {"12.", "GBP", 0, true}, {".5", "GBP", 0, true}, {"1", "GB", 0, true},
		{"1", "G1P", 0, true}, {"9999999999999999", "GBP", 0, true},
	}
	for _, tc := range cases {
		a, err := ParseAmount(tc.in, tc.cur)
		if (err != nil) != tc.err || (!tc.err && a.Minor != tc.minor) {
			t.Errorf("ParseAmount(%q, %q) = %v, %v", tc.in, tc.cur, a, err)
		}
		if err != nil && !errors.Is(err, ErrBadAmount) {
			t.Errorf("error %v does not wrap ErrBadAmount", err)
		}
	}
}

func TestFormatAmountRoundTrip(t *testing.T) {
	for _, cur := range []string{"GBP", "JPY", "KWD"} {
		for _, m := range []int64{0, 1, 9, 10, 99, 100, 1234, 100000, 987654321} {
			a := payment.Amount{Minor: m, Currency: cur}
			b, err := ParseAmount(FormatAmount(a), cur)
			if err != nil || b != a {
				t.Errorf("%v → %q → %v %v", a, FormatAmount(a), b, err)
			}
		}
	}
}

func ExampleFormatAmount() {
	fmt.Println(FormatAmount(payment.Amount{Minor: 1234, Currency: "GBP"}))
	fmt.Println(FormatAmount(payment.Amount{Minor: 500, Currency: "JPY"}))
	fmt.Println(FormatAmount(payment.Amount{Minor: 5, Currency: "KWD"}))
	// Output:
	// 12.34
	// 500
	// 0.005
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12.34", "0", "1.500", "-1", "1e9", "", "99999999999999.99"} {
		f.Add(s, "GBP")
	}
	f.Add("500", "JPY")
	f.Fuzz(func(t *testing.T, s, cur string) {
		a, err := ParseAmount(s, cur)
		if err != nil {
			if !errors.Is(err, ErrBadAmount) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		if a.Minor < 0 {
			t.Fatalf("negative amount from %q", s)
		}
		b, err := ParseAmount(FormatAmount(a), a.Currency)
		if err != nil || b != a {
			t.Fatalf("round trip %q: %v → %q → %v %v", s, a, FormatAmount(a), b, err)
		}
	})
}
