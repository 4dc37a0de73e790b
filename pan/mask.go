package pan

// The one mask of paybridge. A number of a card number's length (12–19 digits) shows its last
// four digits and '*' for every other digit; anything shorter or longer (a security code, an
// expiry, a run of digits too long to be a card) is '*' throughout. Separators are not kept:
// "4242 4242 4242 4242" masks as "************4242".

const (
	minCardLen = 12 // Maestro issues 12-digit numbers
	maxCardLen = 19
)

// Mask returns the canonical mask of digits (ASCII '0'–'9'): "************4242" for a
// 16-digit card number, "***" for a security code, "" for nothing.
func Mask(digits []byte) string {
	n := len(digits)
	if n >= minCardLen && n <= maxCardLen {
		return string(appendMask(nil, n, digits[n-4:]))
	}
	return string(appendMask(nil, n, nil))
}

// appendMask appends the mask of n digits whose last four are last4 (shown only when n is a
// card number's length and last4 holds four digits).
func appendMask(dst []byte, n int, last4 []byte) []byte {
	show := n >= minCardLen && n <= maxCardLen && len(last4) == 4
	stars := n
	if show {
		stars -= 4
	}
	for range stars {
		dst = append(dst, '*')
	}
	if show {
		dst = append(dst, last4...)
	}
	return dst
}

// ValidMask reports whether s is empty or a canonical mask: '*'s only, or a card number's
// length (12–19) of '*'s ending in exactly four digits. The store refuses any other value for
// a masked card, so a full or partial number cannot be stored as one.
func ValidMask(s string) bool {
	digits, ok := maskDigits(s, MaxDigits)
	return ok && (digits == 0 || digits == 4 && len(s) >= minCardLen && len(s) <= maxCardLen)
}

// maskDigits reports how many digits end s, and whether s is at most max characters of '*'s
// followed only by digits: the one shape of every mask (ValidMask, ValidAccountMask).
func maskDigits(s string, max int) (int, bool) {
	if len(s) > max {
		return 0, false
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '*':
			if digits > 0 {
				return 0, false
			}
		case c >= '0' && c <= '9':
			digits++
		default:
			return 0, false
		}
	}
	return digits, true
}
