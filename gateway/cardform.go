package gateway

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/paybridge/paybridge/internal/cardsafe"
	"github.com/paybridge/paybridge/pan"
)

// cardForm is the payment page's submission. The number and security code are secure buffers
// filled straight from the request body bytes: they never become Go strings.
type cardForm struct {
	Number     *pan.SecureBuffer
	CSC        *pan.SecureBuffer
	ExpMonth   int
	ExpYear    int
	PostalCode string
}

// Wipe zeroes the card fields.
func (f *cardForm) Wipe() {
	f.Number.Wipe()
	f.CSC.Wipe()
}

// maxFormBody bounds a payment page submission.
const maxFormBody = 4096

// formFieldError says which field of the page was wrong, for the page to show.
type formFieldError struct{ Field, Message string }

func (e *formFieldError) Error() string { return e.Field + ": " + e.Message }
func (e *formFieldError) Unwrap() error { return ErrBadCard }

// formErrors are every field error of one submission, in the page's order, so the page
// shows them all at once. errors.As finds each *formFieldError; errors.Is finds ErrBadCard.
type formErrors []*formFieldError

func (e formErrors) Error() string {
	parts := make([]string, len(e))
	for i, fe := range e {
		parts[i] = fe.Error()
	}
	return strings.Join(parts, "; ")
}

func (e formErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, fe := range e {
		out[i] = fe
	}
	return out
}

// eachFormField calls field with each key and value of an application/x-www-form-urlencoded
// body, in order (the value still encoded: a slice of body, which the caller zeroes
// afterwards). A body that cannot be read — too large, a field given twice — is one
// *formFieldError on "form", and field may have been called for the fields before it.
func eachFormField(body []byte, field func(key string, value []byte)) error {
	if len(body) > maxFormBody {
		return &formFieldError{"form", "submission too large"}
	}
	seen := map[string]bool{}
	for len(body) > 0 {
		var pair []byte
		if i := bytes.IndexByte(body, '&'); i >= 0 {
			pair, body = body[:i], body[i+1:]
		} else {
			pair, body = body, nil
		}
		k, v, _ := bytes.Cut(pair, []byte{'='})
		key := string(k) // field names are never card or account data
		if seen[key] {
			return &formFieldError{"form", "repeated field " + strconv.Quote(key)}
		}
		seen[key] = true
		field(key, v)
	}
	return nil
}

// parseCardForm reads an application/x-www-form-urlencoded body with the fields cc-number,
// cc-exp (MM/YY or MM/YYYY), cc-csc and postal-code. Digits of the number and security code
// go straight into secure buffers; spaces and dashes between them are ignored; anything else in
// them is an error. Unknown fields are ignored. A form that cannot be read (too large, a field
// given twice) is one *formFieldError on "form"; otherwise every field that is wrong has its
// error, together (formErrors). The caller zeroes body afterwards.
func parseCardForm(body []byte, now time.Time) (*cardForm, error) {
	f := &cardForm{Number: &pan.SecureBuffer{}, CSC: &pan.SecureBuffer{}}
	var exp []byte
	bad := map[string]*formFieldError{}
	ferr := eachFormField(body, func(key string, v []byte) {
		var err *formFieldError
		switch key {
		case "cc-number":
			if decodeDigitsInto(v, f.Number) != nil {
				err = &formFieldError{"cc-number", "use digits only"}
			}
		case "cc-csc":
			if decodeDigitsInto(v, f.CSC) != nil {
				err = &formFieldError{"cc-csc", "use digits only"}
			}
		case "cc-exp":
			var derr error
			if exp, derr = urlDecode(v, 16); derr != nil {
				err = &formFieldError{"cc-exp", "use MM/YY"}
			}
		case "postal-code":
			pc, derr := urlDecode(v, 16)
			if derr != nil {
				err = &formFieldError{"postal-code", "too long"}
			}
			f.PostalCode = string(bytes.TrimSpace(pc))
		}
		if err != nil {
			bad[err.Field] = err
		}
	})
	if ferr != nil {
		f.Wipe()
		return nil, ferr
	}
	if bad["cc-number"] == nil {
		valid := false
		f.Number.Use(func(d []byte) { valid = pan.Luhn(d) })
		switch n := f.Number.Len(); {
		case n == 0:
			bad["cc-number"] = &formFieldError{"cc-number", "enter the card number"}
		case n < 12 || n > 19:
			bad["cc-number"] = &formFieldError{"cc-number", "enter the 12 to 19 digits of the card number"}
		case !valid:
			bad["cc-number"] = &formFieldError{"cc-number", "this card number is not valid"}
		}
	}
	if bad["cc-exp"] == nil {
		m, y, ok := parseExpiry(exp)
		switch {
		case len(bytes.TrimSpace(exp)) == 0:
			bad["cc-exp"] = &formFieldError{"cc-exp", "enter the expiry date"}
		case !ok:
			bad["cc-exp"] = &formFieldError{"cc-exp", "enter the expiry date as MM/YY"}
		case y*12+m < now.Year()*12+int(now.Month()):
			bad["cc-exp"] = &formFieldError{"cc-exp", "this card has expired"}
		default:
			f.ExpMonth, f.ExpYear = m, y
		}
	}
	if bad["cc-csc"] == nil {
		switch c := f.CSC.Len(); {
		case c == 0:
			bad["cc-csc"] = &formFieldError{"cc-csc", "enter the security code"}
		case c != 3 && c != 4:
			bad["cc-csc"] = &formFieldError{"cc-csc", "enter the 3 or 4 digit security code"}
		}
	}
	var errs formErrors
	for _, field := range formFields {
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

// formFields are the fields of the payment page in their order on it.
var formFields = []string{"cc-number", "cc-exp", "cc-csc", "postal-code"}

// cardBrand names the brand of a card number from its leading digits, or "unknown".
func cardBrand(number []byte) string {
	if b := pan.DetectBrand(number); b != "" {
		return b
	}
	return "unknown"
}

// decodeDigitsInto URL-decodes v into buf, keeping digits and skipping spaces and dashes.
func decodeDigitsInto(v []byte, buf *pan.SecureBuffer) error {
	if cardsafe.FormDigits(v, buf.Append) != nil {
		return ErrBadCard
	}
	return nil
}

// urlDecode decodes a form value of at most max decoded bytes.
func urlDecode(v []byte, max int) ([]byte, error) {
	out := make([]byte, 0, len(v))
	err := cardsafe.FormValue(v, func(c byte) error {
		if out = append(out, c); len(out) > max {
			return ErrBadCard
		}
		return nil
	})
	if err != nil {
		return nil, ErrBadCard
	}
	return out, nil
}

// parseExpiry reads "MM/YY", "MM/YYYY", "MMYY" or "MM / YY".
func parseExpiry(b []byte) (month, year int, ok bool) {
	var d []byte
	slash := 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			d = append(d, c)
		case c == '/':
			slash++
		case c == ' ':
		default:
			return 0, 0, false
		}
	}
	if slash > 1 || (len(d) != 4 && len(d) != 6) {
		return 0, 0, false
	}
	month = int(d[0]-'0')*10 + int(d[1]-'0')
	y, err := strconv.Atoi(string(d[2:]))
	if err != nil || month < 1 || month > 12 {
		return 0, 0, false
	}
	if len(d) == 4 {
		y += 2000
	}
	return month, y, true
}
