package payment

import (
	"fmt"
	"strings"
)

// Amount is money in minor units of Currency (pence, cents; yen have none).
type Amount struct {
	Minor    int64
	Currency string // ISO 4217, upper case
}

// iso4217 maps each active ISO 4217 currency code to its number of minor units (decimal
// places): 2 for most, 0 for yen-like currencies, 3 for the dinar family, 4 for the Chilean
// and Uruguayan units of account. Funds and precious-metal codes without minor units (XAU,
// XDR, …) are left out: a caller cannot pay in them.
var iso4217 = map[string]int{
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2,
	"AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2,
	"BOB": 2, "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2,
	"CHF": 2, "CLF": 4, "CLP": 0, "CNY": 2, "COP": 2, "CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2,
	"DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2,
	"FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2, "GNF": 0, "GTQ": 2, "GYD": 2,
	"HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "IQD": 3, "IRR": 2,
	"ISK": 0, "JMD": 2, "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0, "KPW": 2,
	"KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2,
	"LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2,
	"MUR": 2, "MVR": 2, "MWK": 2, "MXN": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2,
	"NOK": 2, "NPR": 2, "NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2,
	"PLN": 2, "PYG": 0, "QAR": 2, "RON": 2, "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2,
	"SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2, "SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2,
	"STN": 2, "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2, "TJS": 2, "TMT": 2, "TND": 3, "TOP": 2,
	"TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0, "USD": 2, "UYI": 0, "UYU": 2,
	"UYW": 4, "UZS": 2, "VED": 2, "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2,
	"XCG": 2, "XOF": 0, "XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}

// CurrencyMinorUnits returns the number of decimal places of an ISO 4217 currency code
// (upper case) and whether the code is known.
func CurrencyMinorUnits(code string) (int, bool) {
	n, ok := iso4217[code]
	return n, ok
}

// ParseAmount converts a decimal amount ("12.50", "12", "0") in currency into minor units.
// It refuses signs (negative amounts), exponents, grouping separators, more significant
// decimal places than the currency has, and amounts of 10^15 minor units or more. An empty
// string is zero (tokenize).
func ParseAmount(s, currency string) (Amount, error) {
	units, ok := CurrencyMinorUnits(currency)
	if !ok {
		return Amount{}, fmt.Errorf("%w: unknown currency %q (ISO 4217 code expected)", ErrAmount, currency)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return Amount{Currency: currency}, nil
	}
	if !IsDecimal(s) || s[0] == '+' {
		return Amount{}, fmt.Errorf("%w: %q is not a decimal amount (digits with an optional . and decimals)", ErrAmount, s)
	}
	if s[0] == '-' {
		return Amount{}, fmt.Errorf("%w: %q is negative", ErrAmount, s)
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > units {
		// Trailing zeros beyond the currency's precision are harmless ("12.500" GBP).
		extra := frac[units:]
		if strings.Trim(extra, "0") != "" {
			return Amount{}, fmt.Errorf("%w: %q has more than %d decimal places for %s", ErrAmount, s, units, currency)
		}
		frac = frac[:units]
	}
	frac += strings.Repeat("0", units-len(frac))
	digits := strings.TrimLeft(whole+frac, "0")
	if len(digits) > 15 {
		return Amount{}, fmt.Errorf("%w: %q is too large", ErrAmount, s)
	}
	var minor int64
	for i := 0; i < len(digits); i++ {
		minor = minor*10 + int64(digits[i]-'0')
	}
	return Amount{Minor: minor, Currency: currency}, nil
}

// FormatAmount renders minor units as a decimal string with the currency's places
// ("1250" GBP → "12.50", "500" JPY → "500").
func FormatAmount(a Amount) string {
	units, _ := CurrencyMinorUnits(a.Currency)
	neg := a.Minor < 0
	m := a.Minor
	if neg {
		m = -m
	}
	s := fmt.Sprintf("%0*d", units+1, m)
	if units > 0 {
		s = s[:len(s)-units] + "." + s[len(s)-units:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// IsDecimal reports whether s is [+-]?[0-9]+(\.[0-9]+)? and not absurdly long (64 bytes):
// the one decimal syntax of amounts, plan literals and expressions.
func IsDecimal(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	i := 0
	if s[0] == '+' || s[0] == '-' {
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if digits == 0 {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != '.' {
		return false
	}
	i++
	frac := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		frac++
	}
	return frac > 0 && i == len(s)
}
