package pan

// Bounds of a keypad-entered postal code: digits only (a keypad has no letters), at least
// MinPostalCodeLength unless the caller says otherwise, at most MaxPostalCodeLength.
const (
	MinPostalCodeLength = 3
	MaxPostalCodeLength = 10
)

// CheckPostalCode validates a keypad-entered postal code of at least min digits
// (MinPostalCodeLength when min ≤ 0). It returns nil or ErrInvalidPostalCode.
func CheckPostalCode(digits []byte, min int) error {
	if min <= 0 {
		min = MinPostalCodeLength
	}
	if len(digits) < min || len(digits) > MaxPostalCodeLength || !allDigits(digits) {
		return ErrInvalidPostalCode
	}
	return nil
}
