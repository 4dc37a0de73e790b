package pan

import "crypto/subtle"

// Bank account numbers (ACH). A US account number is 4 to 17 digits with no check digit of
// its own; the routing number beside it (CheckRoutingNumber) names the bank. Both are held in
// a SecureBuffer from keypress to the provider request, exactly as a card number is, and are
// shown only through MaskAccount.

const (
	// MinAccountDigits and MaxAccountDigits bound a bank account number (NACHA: up to 17).
	MinAccountDigits = 4
	MaxAccountDigits = 17
	// minAccountShown is the shortest number whose last four digits the mask shows: a shorter
	// one would give away too much of itself, and is '*' throughout.
	minAccountShown = 8
)

// CheckAccountNumber validates a bank account number: 4–17 ASCII digits, not all zeros. It
// returns nil or ErrInvalidAccountNumber.
func CheckAccountNumber(digits []byte) error {
	if len(digits) < MinAccountDigits || len(digits) > MaxAccountDigits || !allDigits(digits) {
		return ErrInvalidAccountNumber
	}
	for _, c := range digits {
		if c != '0' {
			return nil
		}
	}
	return ErrInvalidAccountNumber
}

// MaskAccount is the mask of a bank number (account or routing): its last four digits and '*'
// for every other digit when it has at least 8 digits ("*****6789" for a routing number,
// "********6789" for a 12-digit account), '*' throughout when shorter, "" for nothing. It is
// the card mask's rule — last four only — for numbers that are not card-length.
func MaskAccount(digits []byte) string {
	n := len(digits)
	if n < minAccountShown {
		return string(appendMask(nil, n, nil))
	}
	out := make([]byte, 0, n)
	for range n - 4 {
		out = append(out, '*')
	}
	return string(append(out, digits[n-4:]...))
}

// ValidAccountMask reports whether s is empty or a mask MaskAccount can produce: '*'s only (at
// most MaxAccountDigits of them), or 8–17 characters of '*'s ending in exactly four digits.
// The store refuses any other value for a masked bank number.
func ValidAccountMask(s string) bool {
	digits, ok := maskDigits(s, MaxAccountDigits)
	return ok && (digits == 0 || digits == 4 && len(s) >= minAccountShown)
}

// MaskAccount returns MaskAccount of the digits held ("" for an empty buffer).
func (b *SecureBuffer) MaskAccount() string {
	if b.Len() == 0 {
		return ""
	}
	return MaskAccount(b.s.d[:b.s.n])
}

// Equal reports, in time independent of the digits, whether b and o hold the same digits:
// the check of an entry keyed twice (requireMatchingInputs). Neither buffer is changed.
func (b *SecureBuffer) Equal(o *SecureBuffer) bool {
	n, m := b.Len(), o.Len()
	if n != m {
		return false
	}
	if n == 0 {
		return true
	}
	return subtle.ConstantTimeCompare(b.s.d[:n], o.s.d[:m]) == 1
}
