package pan

// SecurityCodeLength is the security code length of brand: 4 for amex, 3 otherwise.
func SecurityCodeLength(brand string) int {
	if brand == BrandAmex {
		return 4
	}
	return 3
}

// CheckSecurityCode validates a security code's length for brand. It returns nil or
// ErrInvalidSecurityCode. A security code is never stored, not even masked.
func CheckSecurityCode(digits []byte, brand string) error {
	if len(digits) != SecurityCodeLength(brand) || !allDigits(digits) {
		return ErrInvalidSecurityCode
	}
	return nil
}
