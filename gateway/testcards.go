package gateway

// The sandbox's card rules: the documented test cards and their outcomes, Luhn, and brand
// detection. They work on the digits as bytes so the sandbox never builds a string of a PAN.

// Decline codes the sandbox answers with (Stripe's names, which Twilio <Pay> also reports).
const (
	CodeCardDeclined      = "card_declined"
	CodeInsufficientFunds = "insufficient_funds"
	CodeExpiredCard       = "expired_card"
	CodeIncorrectCVC      = "incorrect_cvc"
	CodeProcessingError   = "processing_error"
	CodeIncorrectNumber   = "incorrect_number"
)

// testCardOutcomes maps the sandbox's documented decline cards to their code. Every other
// Luhn-valid number is approved (4242424242424242, 5555555555554444, 2223003122003222 and
// 378282246310005 are the documented approvals).
var testCardOutcomes = []struct {
	number string
	code   string
}{
	{"4000000000000002", CodeCardDeclined},
	{"4000000000009995", CodeInsufficientFunds},
	{"4000000000000069", CodeExpiredCard},
	{"4000000000000127", CodeIncorrectCVC},
	{"4000000000000119", CodeProcessingError},
}

// sandboxOutcome returns the decline code for number ("" = approve).
func sandboxOutcome(number []byte) string {
	if !luhnValid(number) {
		return CodeIncorrectNumber
	}
	for _, c := range testCardOutcomes {
		if string(number) == c.number { // compiled without allocation
			return c.code
		}
	}
	return ""
}

// luhnValid reports whether digits (12–19 of them) pass the Luhn check.
func luhnValid(digits []byte) bool {
	if len(digits) < 12 || len(digits) > 19 {
		return false
	}
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		c := digits[i]
		if c < '0' || c > '9' {
			return false
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
	return sum%10 == 0
}

// cardBrand names the brand of a PAN from its leading digits (the validCardTypes names).
func cardBrand(d []byte) string {
	if len(d) < 4 {
		return "unknown"
	}
	p2 := int(d[0]-'0')*10 + int(d[1]-'0')
	p4 := p2*100 + int(d[2]-'0')*10 + int(d[3]-'0')
	switch {
	case d[0] == '4':
		return "visa"
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return "mastercard"
	case p2 == 34 || p2 == 37:
		return "amex"
	case p4 == 6011 || p2 == 65 || (p4 >= 6440 && p4 <= 6499):
		return "discover"
	case p4 >= 3528 && p4 <= 3589:
		return "jcb"
	case p2 == 36 || p2 == 38 || (p4 >= 3000 && p4 <= 3059):
		return "diners-club"
	case p2 == 62:
		return "unionpay"
	case p2 == 50 || (p2 >= 56 && p2 <= 69):
		return "maestro"
	}
	return "unknown"
}

// maskDigits is the canonical mask of a digit slice (dtmf.MaskLen).
func maskDigits(d []byte) string {
	last4 := ""
	if len(d) >= 12 {
		last4 = string(d[len(d)-4:])
	}
	return maskLen(len(d), last4)
}
