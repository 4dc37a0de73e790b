package pan

import (
	"strings"
	"testing"
)

func TestCheckAccountNumber(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"000123456789", true}, {"1234", true}, {"12345678901234567", true},
		{"123", false}, {"123456789012345678", false}, {"0000", false}, {"12a4", false}, {"", false},
	} {
		if err := CheckAccountNumber([]byte(c.in)); (err == nil) != c.ok {
			t.Errorf("CheckAccountNumber(%q) = %v, want ok=%v", c.in, err, c.ok)
		}
	}
}

func TestMaskAccount(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"000123456789", "********6789"},
		{"110000000", "*****0000"},
		{"1234567", "*******"},
		{"12345678901234567", "*************4567"},
		{"", ""},
	} {
		got := MaskAccount([]byte(c.in))
		if got != c.want {
			t.Errorf("MaskAccount(%q) = %q, want %q", c.in, got, c.want)
		}
		if !ValidAccountMask(got) {
			t.Errorf("ValidAccountMask(%q) = false for MaskAccount's own output", got)
		}
		if c.in != "" && len(c.in) >= 8 && ValidAccountMask(c.in) {
			t.Errorf("ValidAccountMask accepts the number %q itself", c.in)
		}
	}
	for _, bad := range []string{"****12345678", "12345678", "**1234", "*****678x", strings.Repeat("*", 14) + "6789"} {
		if ValidAccountMask(bad) {
			t.Errorf("ValidAccountMask(%q) = true", bad)
		}
	}
	var b SecureBuffer
	for _, c := range []byte("000123456789") {
		_ = b.Append(c)
	}
	if got := b.MaskAccount(); got != "********6789" {
		t.Errorf("SecureBuffer.MaskAccount = %q", got)
	}
}

func TestSecureBufferEqual(t *testing.T) {
	fill := func(s string) *SecureBuffer {
		b := new(SecureBuffer)
		for _, c := range []byte(s) {
			_ = b.Append(c)
		}
		return b
	}
	a, b, c, d := fill("000123456789"), fill("000123456789"), fill("000123456780"), fill("00012345678")
	if !a.Equal(b) || a.Equal(c) || a.Equal(d) || !new(SecureBuffer).Equal(new(SecureBuffer)) {
		t.Error("Equal disagrees with the digits")
	}
	if a.Mask() != a.MaskAccount() { // 12 digits: the card rule and the account rule agree
		t.Errorf("Mask %q, MaskAccount %q", a.Mask(), a.MaskAccount())
	}
}

// TestRedactBankNumbersInContext: the bodies and messages a bank payment produces — the
// session capture's bankAccount object, the generic contract's snake_case fields, a
// provider's error text — lose their account and routing numbers; the control shows the
// numbers are there to find.
func TestRedactBankNumbersInContext(t *testing.T) {
	for _, in := range []string{
		`{"bankAccount":{"routingNumber":"110000000","accountNumber":"000123456789","accountType":"consumer-checking"}}`,
		`{"bank_routing_number":"110000000","bank_account_number":"000123456789"}`,
		`account number 000123456789 at routing 110000000 was refused`,
		`bank-account-number=000123456789&bank-routing-number=110000000`,
	} {
		if !strings.Contains(in, "000123456789") { // control: the scan can find the number
			t.Fatal("control")
		}
		for _, out := range []string{Redact(in), string(RedactJSON([]byte(in)))} {
			if strings.Contains(out, "123456789") || strings.Contains(out, "110000000") {
				t.Errorf("Redact(%s) = %s", in, out)
			}
		}
	}
}
