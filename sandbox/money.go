package sandbox

import (
	"strconv"
	"strings"
)

// amount is a sum of money in the minor units of its ISO 4217 currency.
type amount struct {
	Minor    int64
	Currency string
}

// minorDigits lists the currencies whose minor unit is not 2 digits.
var minorDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

func decimals(currency string) int {
	if d, ok := minorDigits[currency]; ok {
		return d
	}
	return 2
}

// parseAmount reads a decimal string ("12.34", "12", "12.3") in currency: no sign, no
// exponent, no more decimals than the currency has.
func parseAmount(s, currency string) (amount, error) {
	cur := strings.ToUpper(strings.TrimSpace(currency))
	if len(cur) != 3 || strings.Trim(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return amount{}, errAmount
	}
	d := decimals(cur)
	whole, frac, hasDot := strings.Cut(strings.TrimSpace(s), ".")
	if !isDigits(whole) || (hasDot && !isDigits(frac)) || len(frac) > d || len(whole) > 15 {
		return amount{}, errAmount
	}
	frac += strings.Repeat("0", d-len(frac))
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return amount{}, errAmount
	}
	return amount{Minor: v, Currency: cur}, nil
}

// formatAmount writes a as a decimal string: 1234 GBP → "12.34", 500 JPY → "500".
func formatAmount(a amount) string {
	d := decimals(a.Currency)
	s := strconv.FormatInt(a.Minor, 10)
	if d == 0 {
		return s
	}
	if len(s) <= d {
		s = strings.Repeat("0", d-len(s)+1) + s
	}
	return s[:len(s)-d] + "." + s[len(s)-d:]
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
