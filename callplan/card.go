package callplan

import (
	"time"
)

// Card rules of the Pay step: Luhn, the brand/length table, expiry, security code and postal
// code. Every function here reads the digits as a []byte handed out by dtmf.SecureBuffer.Use
// and never copies them into a string, an error or a log.

// Brand names as they appear in validCardTypes and Pay.CardType (TwiML spelling).
const (
	BrandVisa       = "visa"
	BrandMastercard = "mastercard"
	BrandAmex       = "amex"
	BrandDiscover   = "discover"
	BrandJCB        = "jcb"
	BrandDiners     = "diners-club"
	BrandMaestro    = "maestro"
	BrandUnionPay   = "unionpay"
)

// iinRange is one row of the brand table: numbers whose first len(lo) digits lie in [lo, hi]
// belong to brand, and are valid with one of lengths digits.
type iinRange struct {
	lo, hi  string // same length: the number of leading digits compared
	brand   string
	lengths []int
}

// brandTable is the issuer identification table. The longest matching prefix wins, so the
// Discover co-branded slice of UnionPay (622126–622925) is Discover and the rest of 62 is
// UnionPay. Sources: the card schemes' published IIN ranges as summarised by ISO/IEC 7812
// registries; maestro is reduced to its ranges that no other brand claims.
var brandTable = []iinRange{
	{"4", "4", BrandVisa, []int{13, 16, 19}},
	{"51", "55", BrandMastercard, []int{16}},
	{"2221", "2720", BrandMastercard, []int{16}},
	{"34", "34", BrandAmex, []int{15}},
	{"37", "37", BrandAmex, []int{15}},
	{"6011", "6011", BrandDiscover, []int{16, 17, 18, 19}},
	{"644", "649", BrandDiscover, []int{16, 17, 18, 19}},
	{"65", "65", BrandDiscover, []int{16, 17, 18, 19}},
	{"622126", "622925", BrandDiscover, []int{16, 17, 18, 19}},
	{"3528", "3589", BrandJCB, []int{16, 17, 18, 19}},
	{"300", "305", BrandDiners, []int{14, 15, 16, 17, 18, 19}},
	{"3095", "3095", BrandDiners, []int{14, 15, 16, 17, 18, 19}},
	{"36", "36", BrandDiners, []int{14, 15, 16, 17, 18, 19}},
	{"38", "39", BrandDiners, []int{14, 15, 16, 17, 18, 19}},
	{"5018", "5018", BrandMaestro, []int{12, 13, 14, 15, 16, 17, 18, 19}},
	{"5020", "5020", BrandMaestro, []int{12, 13, 14, 15, 16, 17, 18, 19}},
	{"5038", "5038", BrandMaestro, []int{12, 13, 14, 15, 16, 17, 18, 19}},
	{"56", "58", BrandMaestro, []int{12, 13, 14, 15, 16, 17, 18, 19}},
	{"639", "639", BrandMaestro, []int{12, 13, 14, 15, 16, 17, 18, 19}},
	{"67", "67", BrandMaestro, []int{12, 13, 14, 15, 16, 17, 18, 19}},
	{"62", "62", BrandUnionPay, []int{16, 17, 18, 19}},
	{"81", "81", BrandUnionPay, []int{16, 17, 18, 19}},
}

// KnownBrand reports whether name is a brand of the table.
func KnownBrand(name string) bool {
	for _, b := range CardTypes {
		if b == name {
			return true
		}
	}
	return false
}

// DetectBrand returns the brand whose IIN range the leading digits fall in ("" when none
// does, or when too few digits are known to tell). It works on partial numbers too, so a
// prompt can depend on the brand before the number is complete.
func DetectBrand(digits []byte) string {
	best, bestLen := "", 0
	for i := range brandTable {
		r := &brandTable[i]
		n := len(r.lo)
		if n <= bestLen || len(digits) < n || !allDigits(digits[:n]) {
			continue
		}
		p := digits[:n]
		if string(p) >= r.lo && string(p) <= r.hi { // same length: byte order is numeric order
			best, bestLen = r.brand, n
		}
	}
	return best
}

// brandLengths returns the valid lengths of the brand the number's prefix selects.
func brandLengths(digits []byte) []int {
	best, bestLen := []int(nil), 0
	for i := range brandTable {
		r := &brandTable[i]
		n := len(r.lo)
		if n <= bestLen || len(digits) < n {
			continue
		}
		if p := digits[:n]; string(p) >= r.lo && string(p) <= r.hi {
			best, bestLen = r.lengths, n
		}
	}
	return best
}

// Luhn reports whether digits (ASCII '0'–'9') pass the mod-10 check. Anything that is not a
// digit, and fewer than two digits, fails.
func Luhn(digits []byte) bool {
	if len(digits) < 2 {
		return false
	}
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		c := digits[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// CheckCardNumber validates a complete card number against the Luhn check, the brand table
// and the plan's validCardTypes. It returns the brand and "" when the number is acceptable,
// otherwise the Pay error type: invalid-card-number (not digits, unknown prefix, wrong
// length, Luhn) or invalid-card-type (a real card of a brand the plan does not accept).
func CheckCardNumber(digits []byte, validTypes []string) (brand, errorType string) {
	if len(digits) < 12 || len(digits) > 19 || !allDigits(digits) {
		return "", ErrTypeInvalidCardNumber
	}
	brand = DetectBrand(digits)
	if brand == "" || !containsInt(brandLengths(digits), len(digits)) || !Luhn(digits) {
		return brand, ErrTypeInvalidCardNumber
	}
	if len(validTypes) == 0 {
		validTypes = DefaultValidCardTypes
	}
	for _, v := range validTypes {
		if v == brand {
			return brand, ""
		}
	}
	return brand, ErrTypeInvalidCardType
}

// maxExpiryYears is how far ahead an expiry may lie; cards are issued for at most a few
// years, so a date further out is a typing error.
const maxExpiryYears = 20

// CheckExpiry validates MMYY digits against now: a real month, and not before now's month
// (a card is valid to the end of its expiry month; the comparison is in UTC). It returns the
// month, the four-digit year and "" or ErrTypeInvalidDate.
func CheckExpiry(digits []byte, now time.Time) (month, year int, errorType string) {
	if len(digits) != 4 || !allDigits(digits) {
		return 0, 0, ErrTypeInvalidDate
	}
	month = int(digits[0]-'0')*10 + int(digits[1]-'0')
	yy := int(digits[2]-'0')*10 + int(digits[3]-'0')
	if month < 1 || month > 12 {
		return 0, 0, ErrTypeInvalidDate
	}
	now = now.UTC()
	century := now.Year() / 100 * 100
	year = century + yy
	if year < now.Year()-50 { // a two-digit year just past a century boundary
		year += 100
	}
	cur := now.Year()*12 + int(now.Month()) - 1
	exp := year*12 + month - 1
	if exp < cur || exp > cur+maxExpiryYears*12 {
		return 0, 0, ErrTypeInvalidDate
	}
	return month, year, ""
}

// SecurityCodeLength is the security code length of brand: 4 for amex, 3 otherwise.
func SecurityCodeLength(brand string) int {
	if brand == BrandAmex {
		return 4
	}
	return 3
}

// CheckSecurityCode validates a security code's length for brand. It returns "" or
// ErrTypeInvalidSecurityCode.
func CheckSecurityCode(digits []byte, brand string) string {
	if len(digits) != SecurityCodeLength(brand) || !allDigits(digits) {
		return ErrTypeInvalidSecurityCode
	}
	return ""
}

// MaxPostalCodeLength bounds a keypad-entered postal code: digits only (a keypad has no
// letters), at least min (DefaultMinPostalCodeLen when the plan does not say) and at most
// MaxPostalCodeLength digits.
const MaxPostalCodeLength = 10

// CheckPostalCode validates a keypad-entered postal code. min ≤ 0 means the default.
func CheckPostalCode(digits []byte, min int) string {
	if min <= 0 {
		min = DefaultMinPostalCodeLen
	}
	if len(digits) < min || len(digits) > MaxPostalCodeLength || !allDigits(digits) {
		return ErrTypeInvalidPostalCode
	}
	return ""
}

func allDigits(p []byte) bool {
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
