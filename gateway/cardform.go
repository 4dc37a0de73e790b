package gateway

import (
	"bytes"
	"strconv"
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

// parseCardForm reads an application/x-www-form-urlencoded body with the fields cc-number,
// cc-exp (MM/YY or MM/YYYY), cc-csc and postal-code. Digits of the number and security code
// go straight into secure buffers; spaces and dashes between them are ignored; anything else in
// them is an error. Unknown fields are ignored. The caller zeroes body afterwards.
func parseCardForm(body []byte, now time.Time) (*cardForm, error) {
	if len(body) > maxFormBody {
		return nil, &formFieldError{"form", "submission too large"}
	}
	f := &cardForm{Number: &pan.SecureBuffer{}, CSC: &pan.SecureBuffer{}}
	var exp []byte
	seen := map[string]bool{}
	for len(body) > 0 {
		var pair []byte
		if i := bytes.IndexByte(body, '&'); i >= 0 {
			pair, body = body[:i], body[i+1:]
		} else {
			pair, body = body, nil
		}
		k, v, _ := bytes.Cut(pair, []byte{'='})
		key := string(k) // field names are never card data
		if seen[key] {
			f.Wipe()
			return nil, &formFieldError{"form", "repeated field " + strconv.Quote(key)}
		}
		seen[key] = true
		var err error
		switch key {
		case "cc-number":
			err = decodeDigitsInto(v, f.Number)
			if err != nil {
				err = &formFieldError{"cc-number", "use digits only"}
			}
		case "cc-csc":
			err = decodeDigitsInto(v, f.CSC)
			if err != nil {
				err = &formFieldError{"cc-csc", "use digits only"}
			}
		case "cc-exp":
			exp, err = urlDecode(v, 16)
			if err != nil {
				err = &formFieldError{"cc-exp", "use MM/YY"}
			}
		case "postal-code":
			var pc []byte
			pc, err = urlDecode(v, 16)
			if err != nil {
				err = &formFieldError{"postal-code", "too long"}
			}
			f.PostalCode = string(bytes.TrimSpace(pc))
		}
		if err != nil {
			f.Wipe()
			return nil, err
		}
	}
	n := f.Number.Len()
	if n < 12 || n > 19 {
		f.Wipe()
		return nil, &formFieldError{"cc-number", "enter the 12 to 19 digits of the card number"}
	}
	valid := false
	f.Number.Use(func(d []byte) { valid = pan.Luhn(d) })
	if !valid {
		f.Wipe()
		return nil, &formFieldError{"cc-number", "this card number is not valid"}
	}
	m, y, ok := parseExpiry(exp)
	if !ok {
		f.Wipe()
		return nil, &formFieldError{"cc-exp", "enter the expiry date as MM/YY"}
	}
	if y*12+m < now.Year()*12+int(now.Month()) {
		f.Wipe()
		return nil, &formFieldError{"cc-exp", "this card has expired"}
	}
	f.ExpMonth, f.ExpYear = m, y
	if c := f.CSC.Len(); c != 0 && c != 3 && c != 4 {
		f.Wipe()
		return nil, &formFieldError{"cc-csc", "enter the 3 or 4 digit security code"}
	}
	if f.CSC.Len() == 0 {
		f.Wipe()
		return nil, &formFieldError{"cc-csc", "enter the security code"}
	}
	return f, nil
}

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
