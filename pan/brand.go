package pan

import "slices"

// Brand names, as a call plan's validCardTypes and a payment record's card type spell them
// (TwiML's spelling).
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

// brands lists every brand of the table, in the order Brands returns them.
var brands = [...]string{BrandVisa, BrandMastercard, BrandAmex, BrandMaestro, BrandDiscover, BrandJCB,
	BrandDiners, BrandUnionPay}

// Brands returns the names of every brand paybridge recognises (a new slice each call).
func Brands() []string { return slices.Clone(brands[:]) }

// KnownBrand reports whether name is one of Brands.
func KnownBrand(name string) bool { return slices.Contains(brands[:], name) }

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

// lookup returns the table row whose prefix matches the leading digits longest, or nil when
// none does (or too few digits are known to tell).
func lookup(digits []byte) *iinRange {
	var best *iinRange
	for i := range brandTable {
		r := &brandTable[i]
		n := len(r.lo)
		if best != nil && n <= len(best.lo) || len(digits) < n || !allDigits(digits[:n]) {
			continue
		}
		if p := digits[:n]; string(p) >= r.lo && string(p) <= r.hi { // same length: byte order is numeric order
			best = r
		}
	}
	return best
}

// DetectBrand returns the brand whose IIN range the leading digits fall in ("" when none
// does, or when too few digits are known to tell). It works on partial numbers too, so a
// prompt can depend on the brand before the number is complete.
func DetectBrand(digits []byte) string {
	if r := lookup(digits); r != nil {
		return r.brand
	}
	return ""
}

// MaxNumberLength returns the longest length the brand of the leading digits issues (19 for
// visa, 16 for mastercard, 15 for amex), or 0 while no brand can be told: the Pay step takes
// a number of that length as complete without '#'.
func MaxNumberLength(digits []byte) int {
	if r := lookup(digits); r != nil {
		return r.lengths[len(r.lengths)-1]
	}
	return 0
}

// Valid reports whether digits are a complete card number: 12–19 digits, a known brand's
// prefix and one of that brand's lengths, and the Luhn check. It is the test for "this is
// certainly a card": the Gather step refuses such an entry, a plan that contains one is
// refused, and the redactor masks one even where it masks nothing else (see Redact).
func Valid(digits []byte) bool {
	if len(digits) < minCardLen || len(digits) > maxCardLen || !Luhn(digits) {
		return false
	}
	r := lookup(digits)
	return r != nil && slices.Contains(r.lengths, len(digits))
}

// CheckNumber validates a complete card number (Valid) and its brand against accepted (every
// brand when accepted is empty). It returns the brand — also on ErrBrandNotAccepted, and as
// far as it can be told on ErrInvalidNumber — and nil, ErrInvalidNumber or
// ErrBrandNotAccepted.
func CheckNumber(digits []byte, accepted []string) (brand string, err error) {
	if len(digits) < minCardLen || len(digits) > maxCardLen || !allDigits(digits) {
		return "", ErrInvalidNumber
	}
	brand = DetectBrand(digits)
	if !Valid(digits) {
		return brand, ErrInvalidNumber
	}
	if len(accepted) > 0 && !slices.Contains(accepted, brand) {
		return brand, ErrBrandNotAccepted
	}
	return brand, nil
}
