package pan

// Luhn reports whether digits (ASCII '0'–'9') pass the mod-10 check of ISO/IEC 7812-1.
// Anything that is not a digit, and fewer than two digits, fails.
func Luhn(digits []byte) bool {
	if len(digits) < 2 {
		return false
	}
	sum, ok := luhnSum(digits, false)
	return ok && sum%10 == 0
}

// CheckDigit returns the Luhn check digit ('0'–'9') that completes payload (the number
// without its last digit), or 0 when payload is not all digits. Tests and the sandbox use it
// to make valid numbers that are in no table.
func CheckDigit(payload []byte) byte {
	sum, ok := luhnSum(payload, true)
	if !ok {
		return 0
	}
	return '0' + byte((10-sum%10)%10)
}

// luhnSum adds the digits from the right, doubling every second one (the first one when
// doubleFirst: the check digit that would follow is not there yet).
func luhnSum(digits []byte, doubleFirst bool) (sum int, ok bool) {
	double := doubleFirst
	for i := len(digits) - 1; i >= 0; i-- {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum, true
}

func allDigits(p []byte) bool {
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
