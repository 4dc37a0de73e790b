package callplan

import (
	"strings"
	"testing"
	"time"
)

// withCheck pads prefix with zeros to n-1 digits and appends the Luhn check digit.
func withCheck(prefix string, n int) string {
	body := prefix + strings.Repeat("0", n-1-len(prefix))
	for c := byte('0'); c <= '9'; c++ {
		if Luhn([]byte(body + string(c))) {
			return body + string(c)
		}
	}
	panic("no check digit")
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

func TestCheckCardNumberBrands(t *testing.T) {
	all := CardTypes
	for _, tc := range []struct {
		name, number, brand, errType string
	}{
		{"visa 16", "4242424242424242", BrandVisa, ""},
		{"visa 13", "4222222222222", BrandVisa, ""},
		{"visa 19", withCheck("4", 19), BrandVisa, ""},
		{"visa 15 is wrong length", withCheck("4", 15), BrandVisa, ErrTypeInvalidCardNumber},
		{"mastercard 5-series", "5555555555554444", BrandMastercard, ""},
		{"mastercard 51", withCheck("51", 16), BrandMastercard, ""},
		{"mastercard 2-series low", withCheck("2221", 16), BrandMastercard, ""},
		{"mastercard 2-series test", "2223003122003222", BrandMastercard, ""},
		{"mastercard 2-series high", withCheck("2720", 16), BrandMastercard, ""},
		{"2721 is no brand", withCheck("2721", 16), "", ErrTypeInvalidCardNumber},
		{"2220 is no brand", withCheck("2220", 16), "", ErrTypeInvalidCardNumber},
		{"mastercard 19 wrong length", withCheck("55", 19), BrandMastercard, ErrTypeInvalidCardNumber},
		{"amex 37", "378282246310005", BrandAmex, ""},
		{"amex 34", withCheck("34", 15), BrandAmex, ""},
		{"amex 16 wrong length", withCheck("37", 16), BrandAmex, ErrTypeInvalidCardNumber},
		{"discover 6011", "6011111111111117", BrandDiscover, ""},
		{"discover 65", withCheck("65", 16), BrandDiscover, ""},
		{"discover 644", withCheck("644", 19), BrandDiscover, ""},
		{"discover co-brand 622126", withCheck("622126", 16), BrandDiscover, ""},
		{"jcb", "3530111333300000", BrandJCB, ""},
		{"jcb 3589", withCheck("3589", 16), BrandJCB, ""},
		{"diners 14", "30569309025904", BrandDiners, ""},
		{"diners 36", "36227206271667", BrandDiners, ""},
		{"diners 38", "38520000023237", BrandDiners, ""},
		{"maestro 6759", withCheck("6759", 16), BrandMaestro, ""},
		{"maestro 12", withCheck("5018", 12), BrandMaestro, ""},
		{"unionpay", "6200000000000005", BrandUnionPay, ""},
		{"unionpay 19", withCheck("62", 19), BrandUnionPay, ""},
		{"luhn failure", "4242424242424241", BrandVisa, ErrTypeInvalidCardNumber},
		{"too short", "42424242424", "", ErrTypeInvalidCardNumber},
		{"too long", withCheck("4", 20), "", ErrTypeInvalidCardNumber},
		{"unknown prefix", withCheck("9", 16), "", ErrTypeInvalidCardNumber},
		{"non digit", "4242424242424*42", "", ErrTypeInvalidCardNumber},
	} {
		t.Run(tc.name, func(t *testing.T) {
			brand, et := CheckCardNumber([]byte(tc.number), all)
			if brand != tc.brand || et != tc.errType {
				t.Errorf("CheckCardNumber = (%q, %q), want (%q, %q)", brand, et, tc.brand, tc.errType)
			}
		})
	}
}

func TestCheckCardNumberValidTypes(t *testing.T) {
	if b, et := CheckCardNumber([]byte("6011111111111117"), nil); b != BrandDiscover || et != ErrTypeInvalidCardType {
		t.Errorf("discover with default types = (%q,%q), want invalid-card-type", b, et)
	}
	if _, et := CheckCardNumber([]byte("378282246310005"), []string{"visa"}); et != ErrTypeInvalidCardType {
		t.Errorf("amex with visa only = %q, want invalid-card-type", et)
	}
	if _, et := CheckCardNumber([]byte("4242424242424242"), []string{"visa"}); et != "" {
		t.Errorf("visa with visa only = %q", et)
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
		errType     string
	}{
		{"1126", 11, 2026, ""}, // this month is still valid
		{"1226", 12, 2026, ""},
		{"0130", 1, 2030, ""},
		{"1026", 0, 0, ErrTypeInvalidDate}, // last month
		{"0099", 0, 0, ErrTypeInvalidDate},
		{"1327", 0, 0, ErrTypeInvalidDate},
		{"0027", 0, 0, ErrTypeInvalidDate},
		{"0150", 0, 0, ErrTypeInvalidDate}, // more than 20 years ahead
		{"112", 0, 0, ErrTypeInvalidDate},
		{"11260", 0, 0, ErrTypeInvalidDate},
		{"1a26", 0, 0, ErrTypeInvalidDate},
	} {
		m, y, et := CheckExpiry([]byte(tc.in), now)
		if m != tc.month || y != tc.year || et != tc.errType {
			t.Errorf("CheckExpiry(%q) = (%d,%d,%q), want (%d,%d,%q)", tc.in, m, y, et, tc.month, tc.year, tc.errType)
		}
	}
	// Century boundary: in December 2099, "0100" is January 2100.
	if m, y, et := CheckExpiry([]byte("0100"), time.Date(2099, 12, 1, 0, 0, 0, 0, time.UTC)); et != "" || m != 1 || y != 2100 {
		t.Errorf("century rollover: (%d,%d,%q)", m, y, et)
	}
}

func TestCheckSecurityCodeAndPostal(t *testing.T) {
	for _, tc := range []struct {
		code, brand, want string
	}{
		{"123", BrandVisa, ""},
		{"1234", BrandVisa, ErrTypeInvalidSecurityCode},
		{"1234", BrandAmex, ""},
		{"123", BrandAmex, ErrTypeInvalidSecurityCode},
		{"12", BrandMastercard, ErrTypeInvalidSecurityCode},
		{"", BrandMastercard, ErrTypeInvalidSecurityCode},
	} {
		if got := CheckSecurityCode([]byte(tc.code), tc.brand); got != tc.want {
			t.Errorf("CheckSecurityCode(len %d, %s) = %q, want %q", len(tc.code), tc.brand, got, tc.want)
		}
	}
	for _, tc := range []struct {
		code string
		min  int
		want string
	}{
		{"94107", 0, ""},
		{"12", 0, ErrTypeInvalidPostalCode},
		{"12", 2, ""},
		{"94107", 6, ErrTypeInvalidPostalCode},
		{"12345678901", 0, ErrTypeInvalidPostalCode},
	} {
		if got := CheckPostalCode([]byte(tc.code), tc.min); got != tc.want {
			t.Errorf("CheckPostalCode(%q, %d) = %q, want %q", tc.code, tc.min, got, tc.want)
		}
	}
}

func TestEveryCardTypeHasBrandRows(t *testing.T) {
	for _, ct := range CardTypes {
		found := false
		for _, r := range brandTable {
			found = found || r.brand == ct
		}
		if !found {
			t.Errorf("card type %q has no row in the brand table", ct)
		}
	}
}

func FuzzLuhn(f *testing.F) {
	for _, s := range []string{"4242424242424242", "378282246310005", "", "0", "abc", "6011111111111117"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		ok := Luhn(p)
		if ok && (len(p) < 2 || !allDigits(p)) {
			t.Fatalf("Luhn accepted a non-number of length %d", len(p))
		}
		// A valid number stays valid when a single digit changes? Never: Luhn catches every
		// single-digit error.
		if ok {
			q := append([]byte(nil), p...)
			q[0] = '0' + (q[0]-'0'+1)%10
			if Luhn(q) {
				t.Fatalf("Luhn missed a single-digit change")
			}
		}
		brand, et := CheckCardNumber(p, CardTypes)
		if et == "" && (brand == "" || !ok) {
			t.Fatalf("CheckCardNumber accepted without brand or Luhn")
		}
		_, _, _ = CheckExpiry(p, time.Unix(1_800_000_000, 0))
	})
}
