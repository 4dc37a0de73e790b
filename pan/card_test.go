package pan

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// withCheck pads prefix with zeros to n-1 digits and appends the Luhn check digit.
func withCheck(prefix string, n int) string {
	body := prefix + strings.Repeat("0", n-1-len(prefix))
	return body + string(CheckDigit([]byte(body)))
}

func TestCheckDigit(t *testing.T) {
	for payload, want := range map[string]byte{"424242424242424": '2', "37828224631000": '5', "7992739871": '3', "": '0', "0": '0', "42a": 0} {
		if got := CheckDigit([]byte(payload)); got != want {
			t.Errorf("CheckDigit(%q) = %q, want %q", payload, got, want)
		}
	}
	// every check digit completes its payload, and no other digit does
	for _, p := range []string{"5", "411111111111111", "601111111111111", "12345678901234567"} {
		c := CheckDigit([]byte(p))
		for d := byte('0'); d <= '9'; d++ {
			if got := Luhn([]byte(p + string(d))); got != (d == c) {
				t.Errorf("Luhn(%s%c) = %v, check digit %c", p, d, got, c)
			}
		}
	}
}

func TestLuhn(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"4242424242424242", true},
		{"4242424242424241", false},
		{"5555555555554444", true},
		{"378282246310005", true},
		{"79927398713", true},
		{"79927398710", false},
		{"0", false},
		{"", false},
		{"00", true},
		{"42424242424242a2", false},
	} {
		if got := Luhn([]byte(tc.in)); got != tc.want {
			t.Errorf("Luhn(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestCheckNumberBrands(t *testing.T) {
	for _, tc := range []struct {
		name, number, brand string
		err                 error
	}{
		{"visa 16", "4242424242424242", BrandVisa, nil},
		{"visa 13", "4222222222222", BrandVisa, nil},
		{"visa 19", withCheck("4", 19), BrandVisa, nil},
		{"visa 15 is wrong length", withCheck("4", 15), BrandVisa, ErrInvalidNumber},
		{"mastercard 5-series", "5555555555554444", BrandMastercard, nil},
		{"mastercard 51", withCheck("51", 16), BrandMastercard, nil},
		{"mastercard 2-series low", withCheck("2221", 16), BrandMastercard, nil},
		{"mastercard 2-series test", "2223003122003222", BrandMastercard, nil},
		{"mastercard 2-series high", withCheck("2720", 16), BrandMastercard, nil},
		{"2721 is no brand", withCheck("2721", 16), "", ErrInvalidNumber},
		{"2220 is no brand", withCheck("2220", 16), "", ErrInvalidNumber},
		{"mastercard 19 wrong length", withCheck("55", 19), BrandMastercard, ErrInvalidNumber},
		{"amex 37", "378282246310005", BrandAmex, nil},
		{"amex 34", withCheck("34", 15), BrandAmex, nil},
		{"amex 16 wrong length", withCheck("37", 16), BrandAmex, ErrInvalidNumber},
		{"discover 6011", "6011111111111117", BrandDiscover, nil},
		{"discover 65", withCheck("65", 16), BrandDiscover, nil},
		{"discover 644", withCheck("644", 19), BrandDiscover, nil},
		{"discover co-brand 622126", withCheck("622126", 16), BrandDiscover, nil},
		{"jcb", "3530111333300000", BrandJCB, nil},
		{"jcb 3589", withCheck("3589", 16), BrandJCB, nil},
		{"diners 14", "30569309025904", BrandDiners, nil},
		{"diners 36", "36227206271667", BrandDiners, nil},
		{"diners 38", "38520000023237", BrandDiners, nil},
		{"maestro 6759", withCheck("6759", 16), BrandMaestro, nil},
		{"maestro 12", withCheck("5018", 12), BrandMaestro, nil},
		{"unionpay", "6200000000000005", BrandUnionPay, nil},
		{"unionpay 19", withCheck("62", 19), BrandUnionPay, nil},
		{"luhn failure", "4242424242424241", BrandVisa, ErrInvalidNumber},
		{"too short", "42424242424", "", ErrInvalidNumber},
		{"too long", withCheck("4", 20), "", ErrInvalidNumber},
		{"unknown prefix", withCheck("9", 16), "", ErrInvalidNumber},
		{"non digit", "4242424242424*42", "", ErrInvalidNumber},
	} {
		t.Run(tc.name, func(t *testing.T) {
			brand, err := CheckNumber([]byte(tc.number), Brands())
			if brand != tc.brand || err != tc.err {
				t.Errorf("CheckNumber = (%q, %v), want (%q, %v)", brand, err, tc.brand, tc.err)
			}
			if Valid([]byte(tc.number)) != (tc.err == nil) {
				t.Errorf("Valid disagrees with CheckNumber")
			}
		})
	}
}

func TestCheckNumberAccepted(t *testing.T) {
	if b, err := CheckNumber([]byte("6011111111111117"), []string{BrandVisa, BrandMastercard, BrandAmex}); b != BrandDiscover || !errors.Is(err, ErrBrandNotAccepted) {
		t.Errorf("discover with visa/mastercard/amex = (%q, %v), want ErrBrandNotAccepted", b, err)
	}
	if _, err := CheckNumber([]byte("378282246310005"), []string{BrandVisa}); err != ErrBrandNotAccepted {
		t.Errorf("amex with visa only = %v", err)
	}
	if _, err := CheckNumber([]byte("4242424242424242"), []string{BrandVisa}); err != nil {
		t.Errorf("visa with visa only = %v", err)
	}
	if _, err := CheckNumber([]byte("6011111111111117"), nil); err != nil {
		t.Errorf("discover with every brand accepted = %v", err)
	}
}

func TestDetectBrandPartial(t *testing.T) {
	for in, want := range map[string]string{"": "", "4": BrandVisa, "3": "", "37": BrandAmex, "2": "", "222": "", "2221": BrandMastercard, "62": BrandUnionPay, "622126": BrandDiscover} {
		if got := DetectBrand([]byte(in)); got != want {
			t.Errorf("DetectBrand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckExpiry(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in          string
		month, year int
		err         error
	}{
		{"1126", 11, 2026, nil}, // this month is still valid
		{"1226", 12, 2026, nil},
		{"0130", 1, 2030, nil},
		{"1026", 0, 0, ErrInvalidExpiry}, // last month
		{"0099", 0, 0, ErrInvalidExpiry},
		{"1327", 0, 0, ErrInvalidExpiry},
		{"0027", 0, 0, ErrInvalidExpiry},
		{"0150", 0, 0, ErrInvalidExpiry}, // more than 20 years ahead
		{"112", 0, 0, ErrInvalidExpiry},
		{"11260", 0, 0, ErrInvalidExpiry},
		{"1a26", 0, 0, ErrInvalidExpiry},
	} {
		m, y, err := CheckExpiry([]byte(tc.in), now)
		if m != tc.month || y != tc.year || err != tc.err {
			t.Errorf("CheckExpiry(%q) = (%d,%d,%v), want (%d,%d,%v)", tc.in, m, y, err, tc.month, tc.year, tc.err)
		}
	}
	// Century boundary: in December 2099, "0100" is January 2100.
	if m, y, err := CheckExpiry([]byte("0100"), time.Date(2099, 12, 1, 0, 0, 0, 0, time.UTC)); err != nil || m != 1 || y != 2100 {
		t.Errorf("century rollover: (%d,%d,%v)", m, y, err)
	}
}

func TestCheckSecurityCodeAndPostal(t *testing.T) {
	for _, tc := range []struct {
		code, brand string
		want        error
	}{
		{"123", BrandVisa, nil},
		{"1234", BrandVisa, ErrInvalidSecurityCode},
		{"1234", BrandAmex, nil},
		{"123", BrandAmex, ErrInvalidSecurityCode},
		{"12", BrandMastercard, ErrInvalidSecurityCode},
		{"", BrandMastercard, ErrInvalidSecurityCode},
		{"1a3", BrandVisa, ErrInvalidSecurityCode},
	} {
		if got := CheckSecurityCode([]byte(tc.code), tc.brand); got != tc.want {
			t.Errorf("CheckSecurityCode(len %d, %s) = %v, want %v", len(tc.code), tc.brand, got, tc.want)
		}
	}
	for _, tc := range []struct {
		code string
		min  int
		want error
	}{
		{"94107", 0, nil},
		{"12", 0, ErrInvalidPostalCode},
		{"12", 2, nil},
		{"94107", 6, ErrInvalidPostalCode},
		{"12345678901", 0, ErrInvalidPostalCode},
		{"9410*", 0, ErrInvalidPostalCode},
	} {
		if got := CheckPostalCode([]byte(tc.code), tc.min); got != tc.want {
			t.Errorf("CheckPostalCode(%q, %d) = %v, want %v", tc.code, tc.min, got, tc.want)
		}
	}
}

func TestCheckRoutingNumber(t *testing.T) {
	// Published routing numbers (Federal Reserve banks) and one-digit changes of them.
	for in, want := range map[string]error{
		"011000015": nil, "021000021": nil, "111000025": nil, "121000358": nil,
		"011000016": ErrInvalidRoutingNumber, "021000012": ErrInvalidRoutingNumber,
		"01100001": ErrInvalidRoutingNumber, "0110000150": ErrInvalidRoutingNumber, "01100001a": ErrInvalidRoutingNumber,
		"": ErrInvalidRoutingNumber,
	} {
		if got := CheckRoutingNumber([]byte(in)); got != want {
			t.Errorf("CheckRoutingNumber(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestEveryBrandHasRows(t *testing.T) {
	for _, b := range Brands() {
		found := false
		for _, r := range brandTable {
			found = found || r.brand == b
		}
		if !found {
			t.Errorf("brand %q has no row in the brand table", b)
		}
		if !KnownBrand(b) {
			t.Errorf("KnownBrand(%q) = false", b)
		}
	}
	for _, r := range brandTable {
		if !KnownBrand(r.brand) {
			t.Errorf("table row %s–%s names unlisted brand %q", r.lo, r.hi, r.brand)
		}
	}
	if KnownBrand("visa-electron") {
		t.Error("KnownBrand accepts a brand it does not list")
	}
	b := Brands()
	b[0] = "changed"
	if Brands()[0] != BrandVisa {
		t.Error("Brands returns the package's own slice")
	}
}
