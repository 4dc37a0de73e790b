package cardsafe

// FormValue URL-decodes v — one value of an application/x-www-form-urlencoded body, as it
// stands in the body — and calls each with every decoded byte ('+' is a space, %XX its byte).
// It copies nothing and builds no string, so a card's digits never leave the buffers their
// owner zeroes. A malformed escape is ErrBadEscape; an error from each ends the decoding and is
// returned.
func FormValue(v []byte, each func(c byte) error) error {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			if i+2 >= len(v) {
				return ErrBadEscape
			}
			x, ok1 := unhex(v[i+1])
			y, ok2 := unhex(v[i+2])
			if !ok1 || !ok2 {
				return ErrBadEscape
			}
			c = x<<4 | y
			i += 2
		}
		if err := each(c); err != nil {
			return err
		}
	}
	return nil
}

// FormDigits is FormValue for a field that must be digits (a card number, a security code):
// digit is called with each digit; spaces and dashes between them are dropped; any other
// character is ErrNotDigits.
func FormDigits(v []byte, digit func(c byte) error) error {
	return FormValue(v, func(c byte) error {
		switch {
		case c >= '0' && c <= '9':
			return digit(c)
		case c == ' ' || c == '-':
			return nil
		}
		return ErrNotDigits
	})
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
