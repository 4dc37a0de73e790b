package gateway

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

func TestParseBankForm(t *testing.T) {
	ok := "bank-routing-number=110000000&bank-account-number=000123456789&bank-account-number-confirm=000123456789"
	f, err := parseBankForm([]byte(ok+"&bank-account-type=commercial-checking"), payment.BankConsumerSavings)
	if err != nil {
		t.Fatal(err)
	}
	if f.Routing.Len() != 9 || f.Account.MaskAccount() != "********6789" || f.Type != payment.BankCommercialChecking {
		t.Fatalf("parsed %v %v %s", f.Routing, f.Account, f.Type)
	}
	f.Wipe()
	if f, err = parseBankForm([]byte("bank-routing-number=110+000+000&bank-account-number=0001-2345-6789&bank-account-number-confirm=000123456789"),
		payment.BankConsumerSavings); err != nil || f.Type != payment.BankConsumerSavings {
		t.Fatalf("spaces and dashes, the plan's type: %+v, %v", f, err)
	}
	for _, tc := range []struct {
		name, body string
		fields     []string // the fields in error, in the page's order
	}{
		{"empty", "", []string{"bank-routing-number", "bank-account-number"}},
		{"ABA checksum", strings.Replace(ok, "110000000", "110000001", 1), []string{"bank-routing-number"}},
		{"routing too short", strings.Replace(ok, "110000000", "11000000", 1), []string{"bank-routing-number"}},
		{"letters", strings.Replace(ok, "000123456789&", "00012345678x&", 1), []string{"bank-account-number"}},
		{"account too short", "bank-routing-number=110000000&bank-account-number=123&bank-account-number-confirm=123", []string{"bank-account-number"}},
		{"mismatch", strings.Replace(ok, "confirm=000123456789", "confirm=000123456780", 1), []string{"bank-account-number-confirm"}},
		{"confirmation missing", "bank-routing-number=110000000&bank-account-number=000123456789", []string{"bank-account-number-confirm"}},
		{"unknown type", ok + "&bank-account-type=offshore", []string{"bank-account-type"}},
	} {
		_, err := parseBankForm([]byte(tc.body), payment.BankConsumerChecking)
		var fes formErrors
		if !errors.As(err, &fes) || !errors.Is(err, ErrBadCard) {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var got []string
		for _, fe := range fes {
			got = append(got, fe.Field)
		}
		if !slices.Equal(got, tc.fields) {
			t.Errorf("%s: fields in error %v, want %v", tc.name, got, tc.fields)
		}
		if strings.Contains(err.Error(), "000123456789") || strings.Contains(err.Error(), "110000001") {
			t.Errorf("%s: the error holds the digits: %v", tc.name, err)
		}
	}
	var fe *formFieldError
	if _, err := parseBankForm([]byte(ok+"&bank-account-number=1"), ""); !errors.As(err, &fe) || fe.Field != "form" {
		t.Errorf("a repeated field: %v", err)
	}
}

func FuzzParseBankForm(f *testing.F) {
	f.Add([]byte("bank-routing-number=110000000&bank-account-number=000123456789&bank-account-number-confirm=000123456789&bank-account-type=consumer-savings"))
	f.Add([]byte("bank-routing-number=%&bank-account-number=%2&bank-account-type=%zz"))
	f.Add([]byte("&&&==&"))
	f.Fuzz(func(t *testing.T, body []byte) {
		fm, err := parseBankForm(body, payment.BankConsumerChecking)
		if err != nil {
			if !errors.Is(err, ErrBadCard) {
				t.Fatalf("error %v does not wrap ErrBadCard", err)
			}
			return
		}
		fm.Routing.Use(func(d []byte) {
			if pan.CheckRoutingNumber(d) != nil {
				t.Fatal("accepted a routing number failing the ABA check")
			}
		})
		if n := fm.Account.Len(); n < 4 || n > pan.MaxAccountDigits {
			t.Fatalf("accepted a %d-digit account number", n)
		}
		if !slices.Contains(payment.BankAccountTypes, fm.Type) {
			t.Fatalf("accepted type %q", fm.Type)
		}
		fm.Wipe()
	})
}
