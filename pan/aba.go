package pan

// CheckRoutingNumber validates a US ABA routing transit number: nine digits whose weighted sum
// 3·d1 + 7·d2 + 1·d3 + 3·d4 + 7·d5 + 1·d6 + 3·d7 + 7·d8 + 1·d9 is a multiple of ten. It
// returns nil or ErrInvalidRoutingNumber. (ACH payments; a routing number names a bank, not
// an account, but the redactor masks it beside "routing" all the same.)
func CheckRoutingNumber(digits []byte) error {
	if len(digits) != 9 || !allDigits(digits) {
		return ErrInvalidRoutingNumber
	}
	weights := [9]int{3, 7, 1, 3, 7, 1, 3, 7, 1}
	sum := 0
	for i, c := range digits {
		sum += weights[i] * int(c-'0')
	}
	if sum%10 != 0 {
		return ErrInvalidRoutingNumber
	}
	return nil
}
