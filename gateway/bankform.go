package gateway

import (
	"slices"

	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// bankForm is the payment page's submission of a bank account (a link whose Pay step took
// ach-debit). The routing and account numbers are secure buffers filled straight from the
// request body bytes, as a card's number is (cardForm): they never become Go strings. The
// account number is typed twice, as requireMatchingInputs asks a caller by phone; the two
// entries are compared in constant time and the confirmation is wiped at once.
type bankForm struct {
	Routing *pan.SecureBuffer
	Account *pan.SecureBuffer
	Type    string // one of payment.BankAccountTypes
}

// Wipe zeroes the bank fields.
func (f *bankForm) Wipe() {
	f.Routing.Wipe()
	f.Account.Wipe()
}

// bankFields are the bank account fields of the payment page in their order on it.
var bankFields = []string{"bank-routing-number", "bank-account-number", "bank-account-number-confirm", "bank-account-type"}

// parseBankForm reads an application/x-www-form-urlencoded body with the fields
// bank-routing-number (nine digits, ABA checksum), bank-account-number (4–17 digits),
// bank-account-number-confirm (the same again) and bank-account-type (default defType).
// Spaces and dashes between digits are ignored; anything else in them is an error. The errors
// are parseCardForm's: one *formFieldError on "form" for a form that cannot be read,
// otherwise every wrong field together (formErrors). The caller zeroes body afterwards.
func parseBankForm(body []byte, defType string) (*bankForm, error) {
	f := &bankForm{Routing: &pan.SecureBuffer{}, Account: &pan.SecureBuffer{}, Type: defType}
	confirm := &pan.SecureBuffer{}
	defer confirm.Wipe()
	bad := map[string]*formFieldError{}
	ferr := eachFormField(body, func(key string, v []byte) {
		switch key {
		case "bank-routing-number":
			if decodeDigitsInto(v, f.Routing) != nil {
				bad[key] = &formFieldError{key, "use digits only"}
			}
		case "bank-account-number":
			if decodeDigitsInto(v, f.Account) != nil {
				bad[key] = &formFieldError{key, "use digits only"}
			}
		case "bank-account-number-confirm":
			if decodeDigitsInto(v, confirm) != nil {
				bad[key] = &formFieldError{key, "use digits only"}
			}
		case "bank-account-type":
			t, err := urlDecode(v, 32)
			switch {
			case err != nil || !slices.Contains(payment.BankAccountTypes, string(t)):
				bad[key] = &formFieldError{key, "choose the type of account"}
			default:
				f.Type = string(t)
			}
		}
	})
	if ferr != nil {
		f.Wipe()
		return nil, ferr
	}
	if bad["bank-routing-number"] == nil {
		var err error
		f.Routing.Use(func(d []byte) { err = pan.CheckRoutingNumber(d) })
		switch n := f.Routing.Len(); {
		case n == 0:
			bad["bank-routing-number"] = &formFieldError{"bank-routing-number", "enter the routing number"}
		case n != 9:
			bad["bank-routing-number"] = &formFieldError{"bank-routing-number", "enter the 9 digits of the routing number"}
		case err != nil:
			bad["bank-routing-number"] = &formFieldError{"bank-routing-number", "this routing number is not valid"}
		}
	}
	if bad["bank-account-number"] == nil {
		var err error
		f.Account.Use(func(d []byte) { err = pan.CheckAccountNumber(d) })
		switch {
		case f.Account.Len() == 0:
			bad["bank-account-number"] = &formFieldError{"bank-account-number", "enter the account number"}
		case err != nil:
			bad["bank-account-number"] = &formFieldError{"bank-account-number", "enter the 4 to 17 digits of the account number"}
		}
	}
	if bad["bank-account-number"] == nil && bad["bank-account-number-confirm"] == nil && !f.Account.Equal(confirm) {
		bad["bank-account-number-confirm"] = &formFieldError{"bank-account-number-confirm", "the two account numbers differ: enter it again"}
	}
	var errs formErrors
	for _, field := range bankFields {
		if e := bad[field]; e != nil {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		f.Wipe()
		return nil, errs
	}
	return f, nil
}
