package payment

import "fmt"

// LinkTerms is what a payment link does on its page beyond charging a card through the one
// connector its session belongs to: the Pay step it falls back from decides them (docs/pay.md
// "Payment links and the Pay options"). The zero value (or nil) charges a card.
type LinkTerms struct {
	// Method is charge ("" too) or authorize: the page places a hold, captured later like a
	// hold taken by phone. A link never tokenizes: it always has an amount.
	Method string `json:"method,omitempty"`
	// PaymentMethod is credit-card ("" too) or ach-debit: the page asks for a bank account
	// (routing number, account number, account type) instead of a card.
	PaymentMethod string `json:"paymentMethod,omitempty"`
	// BankAccountType is the account type the page proposes (ach-debit; default
	// consumer-checking); the payer may choose another.
	BankAccountType string `json:"bankAccountType,omitempty"`
	// Route lists the connectors after the link's own, in order: the page offers the payment
	// to each in turn exactly as a routed Pay step does (FailOver).
	Route []LinkHop `json:"route,omitempty"`
}

// LinkHop is one connector of a link's route.
type LinkHop struct {
	Connector    string `json:"connector"`
	ConnectorKey string `json:"connectorKey,omitempty"`
}

// MethodOf is the link's method: charge unless it authorizes.
func (t *LinkTerms) MethodOf() string {
	if t != nil && t.Method == MethodAuthorize {
		return MethodAuthorize
	}
	return MethodCharge
}

// IsBank reports whether the link pays from a bank account.
func (t *LinkTerms) IsBank() bool { return t != nil && t.PaymentMethod == PaymentMethodACH }

// AccountType is the bank account type the page proposes.
func (t *LinkTerms) AccountType() string {
	if t == nil || t.BankAccountType == "" {
		return BankConsumerChecking
	}
	return t.BankAccountType
}

// Check refuses terms a link cannot carry: a method other than charge or authorize, an
// unknown payment method or bank account type, a hop without a connector.
func (t *LinkTerms) Check() error {
	if t == nil {
		return nil
	}
	switch t.Method {
	case "", MethodCharge, MethodAuthorize:
	default:
		return fmt.Errorf("%w: a payment link charges or authorizes, not %q", ErrUnsupported, t.Method)
	}
	switch t.PaymentMethod {
	case "", PaymentMethodCard, PaymentMethodACH:
	default:
		return fmt.Errorf("%w: paymentMethod %q", ErrUnsupported, t.PaymentMethod)
	}
	switch t.BankAccountType {
	case "", BankConsumerChecking, BankConsumerSavings, BankCommercialChecking:
	default:
		return fmt.Errorf("%w: bankAccountType %q", ErrUnsupported, t.BankAccountType)
	}
	for _, h := range t.Route {
		if h.Connector == "" {
			return fmt.Errorf("%w: a link route step names no connector", ErrUnsupported)
		}
	}
	return nil
}
