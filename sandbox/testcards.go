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

	// Lifecycle codes (operations on a payment).
	CodeAuthorizationExpired = "authorization_expired" // capture after the hold lapsed
	CodeCaptureDeclined      = "capture_declined"      // the issuer refused the capture
	CodeRefundFailed         = "expired_or_canceled_card"
	CodeAmountTooLarge       = "amount_too_large" // more than is left to capture or refund
	CodeNotCapturable        = "charge_not_capturable"
	CodeNotRefundable        = "charge_not_refundable"

	// Bank (ach-debit) codes, Stripe's names.
	CodeInvalidRoutingNumber = "invalid_routing_number"
	CodeInvalidAccountNumber = "invalid_account_number"
	CodeNoAccount            = "no_account"
	CodeDebitNotAuthorized   = "debit_not_authorized"
)

// Test-card behaviours after the payment (Charge.behaviour): cards that approve, then exercise
// one path of the lifecycle.
const (
	behaveExpireFast    = "expire-fast"    // the authorisation lapses after Config.ShortAuthorizationTTL
	behaveRefuseCapture = "refuse-capture" // authorisations approve, captures are declined
	behaveRefundFails   = "refund-fails"   // refunds go pending, then fail
	behaveChargeback    = "chargeback"     // a chargeback arrives after the money is captured
)

// testCardBehaviours maps the lifecycle test cards to their behaviour.
var testCardBehaviours = []struct {
	number, behaviour string
}{
	{"4000000000003006", behaveExpireFast},
	{"4000000000003402", behaveRefuseCapture},
	{"4000000000005126", behaveRefundFails},
	{"4000000000000259", behaveChargeback},
}

// behaviourOf returns the lifecycle behaviour of a card number ("" = none).
func behaviourOf(number []byte) string {
	for _, c := range testCardBehaviours {
		if string(number) == c.number {
			return c.behaviour
		}
	}
	return ""
}

// retryableCodes are the decline codes the sandbox marks retryable (a soft decline: another
// try, or another provider, may approve the same card).
var retryableCodes = map[string]bool{CodeProcessingError: true, "try_again_later": true, "issuer_not_available": true}

// Test bank accounts (ach-debit, Stripe's test numbers): any ABA-valid routing number; these
// account numbers decline, and 000555555559 approves but its refunds fail. Any other account
// number of 4–17 digits approves.
var testAccountOutcomes = []struct{ number, code string }{
	{"000111111116", CodeNoAccount},
	{"000222222227", CodeInsufficientFunds},
	{"000333333335", CodeDebitNotAuthorized},
}

// TestRoutingNumber is the sandbox's documented routing number (ABA-valid).
const TestRoutingNumber = "110000000"

// bankOutcome returns the decline code for a bank account ("" = approve) and its behaviour.
func bankOutcome(routing, account []byte) (code, behaviour string) {
	if pan.CheckRoutingNumber(routing) != nil {
		return CodeInvalidRoutingNumber, ""
	}
	if pan.CheckAccountNumber(account) != nil {
		return CodeInvalidAccountNumber, ""
	}
	for _, c := range testAccountOutcomes {
		if string(account) == c.number {
			return c.code, ""
		}
	}
	if string(account) == "000555555559" {
		return "", behaveRefundFails
	}
	return "", ""
}

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
