package gateway

// declineText is the payment page's sentence for a provider's decline code. The codes are
// Stripe's names, which Twilio <Pay> and the sandbox report too; any other code gets a neutral
// sentence. The page shows this, never the provider's own message: that is the provider's
// text, in the provider's words and language.
func declineText(code string) string {
	switch code {
	case "card_declined":
		return "Your card was declined."
	case "insufficient_funds":
		return "Your card has insufficient funds."
	case "expired_card":
		return "Your card has expired."
	case "incorrect_cvc":
		return "Your card's security code is incorrect."
	case "processing_error":
		return "An error occurred while processing your card. Try again in a little bit."
	case "incorrect_number":
		return "Your card number is incorrect."
	case "no_account":
		return "Your bank has no account with that number."
	case "debit_not_authorized":
		return "Your bank did not allow this debit."
	}
	return "The payment was not approved."
}
