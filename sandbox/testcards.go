package sandbox

import "github.com/paybridge/paybridge/pan"

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

// luhnValid reports whether digits (12–19 of them) pass the Luhn check: the sandbox judges a
// card with the rules the Pay step uses (pan's), as one provider would.
func luhnValid(digits []byte) bool {
	return len(digits) >= 12 && len(digits) <= 19 && pan.Luhn(digits)
}

// brandOf names the brand of a PAN from its leading digits (the validCardTypes names), or
// "unknown".
func brandOf(d []byte) string {
	if b := pan.DetectBrand(d); b != "" {
		return b
	}
	return "unknown"
}
