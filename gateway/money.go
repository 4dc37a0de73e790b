package gateway

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/paybridge/paybridge/payment"
)

// minorDigits lists the ISO 4217 currencies whose minor unit is not 2 digits.
var minorDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// MinorDigits returns how many decimal places currency has (2 unless listed otherwise).
func MinorDigits(currency string) int {
	if d, ok := minorDigits[strings.ToUpper(currency)]; ok {
		return d
	}
	return 2
}

// FormatAmount renders a minor-unit amount as a decimal string: 1234 GBP → "12.34",
// 500 JPY → "500", 1500 KWD → "1.500".
func FormatAmount(a payment.Amount) string {
	d := MinorDigits(a.Currency)
	neg := a.Minor < 0
	m := a.Minor
	if neg {
		m = -m
	}
	s := strconv.FormatInt(m, 10)
	if d > 0 {
		for len(s) <= d {
			s = "0" + s
		}
		s = s[:len(s)-d] + "." + s[len(s)-d:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ParseAmount reads a decimal string ("12.34", "12", "12.3") in currency into minor units. More
// decimals than the currency has, signs, exponents and empty strings are ErrBadAmount.
func ParseAmount(s, currency string) (payment.Amount, error) {
	cur := strings.ToUpper(strings.TrimSpace(currency))
	if len(cur) != 3 || strings.Trim(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return payment.Amount{}, fmt.Errorf("%w: currency %q", ErrBadAmount, currency)
	}
	d := MinorDigits(cur)
	s = strings.TrimSpace(s)
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (hasDot && !allDigits(frac)) || len(frac) > d || len(whole) > 15 {
		return payment.Amount{}, fmt.Errorf("%w: %q in %s", ErrBadAmount, s, cur)
	}
	for len(frac) < d {
		frac += "0"
	}
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return payment.Amount{}, fmt.Errorf("%w: %q", ErrBadAmount, s)
	}
	return payment.Amount{Minor: v, Currency: cur}, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
