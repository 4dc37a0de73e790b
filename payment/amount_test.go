package payment

import (
	"errors"
	"testing"
)

func TestCurrencyMinorUnits(t *testing.T) {
	tests := map[string]int{"GBP": 2, "USD": 2, "EUR": 2, "JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "CLF": 4}
	for code, want := range tests {
		if got, ok := CurrencyMinorUnits(code); !ok || got != want {
			t.Errorf("CurrencyMinorUnits(%s) = %d, %v; want %d", code, got, ok, want)
		}
	}
	for _, code := range []string{"gbp", "XYZ", "", "GBPX", "XAU"} {
		if _, ok := CurrencyMinorUnits(code); ok {
			t.Errorf("CurrencyMinorUnits(%q) known, want unknown", code)
		}
	}
}

func TestParseAmountRoundTrip(t *testing.T) {
	tests := []struct {
		in, cur string
		minor   int64
		out     string
	}{
		{"12.34", "GBP", 1234, "12.34"},
		{"12.3", "GBP", 1230, "12.30"},
		{"12", "GBP", 1200, "12.00"},
		{"0.01", "USD", 1, "0.01"},
		{"12.500", "GBP", 1250, "12.50"},
		{"007.5", "EUR", 750, "7.50"},
		{"500", "JPY", 500, "500"},
		{"1.234", "BHD", 1234, "1.234"},
		{"", "GBP", 0, "0.00"},
		{"0", "GBP", 0, "0.00"},
		{"999999999999.99", "USD", 99999999999999, "999999999999.99"},
	}
	for _, tt := range tests {
		a, err := ParseAmount(tt.in, tt.cur)
		if err != nil || a.Minor != tt.minor || a.Currency != tt.cur {
			t.Errorf("ParseAmount(%q, %s) = %+v, %v; want %d", tt.in, tt.cur, a, err, tt.minor)
			continue
		}
		if got := FormatAmount(a); got != tt.out {
			t.Errorf("FormatAmount(%+v) = %q, want %q", a, got, tt.out)
		}
		back, err := ParseAmount(FormatAmount(a), tt.cur)
		if err != nil || back != a {
			t.Errorf("round trip %+v → %q → %+v, %v", a, FormatAmount(a), back, err)
		}
	}
	if got := FormatAmount(Amount{Minor: -5, Currency: "GBP"}); got != "-0.05" {
		t.Errorf("FormatAmount(-5 GBP) = %q", got)
	}
}

func TestParseAmountErrors(t *testing.T) {
	bad := []struct{ in, cur string }{
		{"12.345", "GBP"}, {"1.5", "JPY"}, {"-1.00", "GBP"}, {"+1", "GBP"}, {"1,000", "GBP"},
		{"1e3", "GBP"}, {"abc", "GBP"}, {".5", "GBP"}, {"5.", "GBP"}, {"10000000000000.00", "GBP"},
		{"1", "gbp"}, {"1", "XYZ"},
	}
	for _, tt := range bad {
		if a, err := ParseAmount(tt.in, tt.cur); !errors.Is(err, ErrAmount) {
			t.Errorf("ParseAmount(%q, %q) = %+v, %v; want ErrAmount", tt.in, tt.cur, a, err)
		}
	}
}
