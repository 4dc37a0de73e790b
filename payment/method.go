package payment

import (
	"fmt"
	"slices"
	"strings"

	"github.com/paybridge/paybridge/pan"
)

// What a payment does with the money (Request.Method).
const (
	MethodCharge    = "charge"    // take the money now
	MethodAuthorize = "authorize" // place a hold now; capture (or void) it later
	MethodTokenize  = "tokenize"  // no money: a token for later
)

// What the caller pays with (Request.PaymentMethod): Twilio's <Pay paymentMethod> names.
const (
	PaymentMethodCard = "credit-card"
	PaymentMethodACH  = "ach-debit"
)

// Bank account types of an ach-debit payment (Twilio's bankAccountType names).
const (
	BankConsumerChecking   = "consumer-checking" // the default
	BankConsumerSavings    = "consumer-savings"
	BankCommercialChecking = "commercial-checking"
)

// Methods, PaymentMethods and BankAccountTypes list the values the language accepts.
var (
	Methods          = []string{MethodCharge, MethodAuthorize, MethodTokenize}
	PaymentMethods   = []string{PaymentMethodCard, PaymentMethodACH}
	BankAccountTypes = []string{BankConsumerChecking, BankConsumerSavings, BankCommercialChecking}
)

// BankAccount is a captured bank account (ach-debit). Both numbers are secure buffers owned by
// the Pay step, exactly as a card's: the connector copies them only into its request body
// (AppendTo) and zeroes that body after sending.
type BankAccount struct {
	RoutingNumber *pan.SecureBuffer // nine digits, ABA checksum valid
	AccountNumber *pan.SecureBuffer // 4–17 digits
	Type          string            // one of BankAccountTypes
}

// Capabilities is what a connector type's provider offers beyond a charge and a token.
type Capabilities struct {
	Authorize        bool // a hold now, captured later
	MultipleCaptures bool // several partial captures of one authorisation (else one, which may be partial)
	Void             bool // release a hold
	Refund           bool // several refunds per payment, full or partial
	BankAccounts     bool // ach-debit payments
	Lookup           bool // the provider can be asked what became of an idempotency key
}

// capabilities is the one table of what each connector type can do; the validator and the
// gateway both read it through CapabilitiesOf and CheckPayMethod.
var capabilities = map[string]Capabilities{
	// paybridge's session API (docs/gateway.md): everything.
	"session": {Authorize: true, MultipleCaptures: true, Void: true, Refund: true, BankAccounts: true, Lookup: true},
	// the Generic Pay Connector with paybridge's lifecycle methods: everything but a lookup.
	"generic": {Authorize: true, MultipleCaptures: true, Void: true, Refund: true, BankAccounts: true},
	// Stripe's charges: capture=false, one capture (partial releases the rest), refunds; no
	// bank debits through card tokens.
	"stripe": {Authorize: true, Void: true, Refund: true, Lookup: true},
}

// CapabilitiesOf returns what connectors of type t can do (the zero value for an unknown type).
func CapabilitiesOf(t string) Capabilities {
	if t == "" {
		t = DefaultConnectorType
	}
	return capabilities[t]
}

// CheckPayMethod decides whether a connector of type t can take a payment made with method
// (charge, authorize, tokenize; "" = charge) and paymentMethod (credit-card, ach-debit; "" =
// credit-card). `paybridge validate` refuses a <Pay> this refuses, with the same message, and
// the gateway refuses the request at run time.
func CheckPayMethod(t, method, paymentMethod string) error {
	c := CapabilitiesOf(t)
	switch {
	case method != "" && !slices.Contains(Methods, method):
		return fmt.Errorf("%w: method %q: use %s", ErrUnsupported, method, strings.Join(Methods, ", "))
	case paymentMethod != "" && !slices.Contains(PaymentMethods, paymentMethod):
		return fmt.Errorf("%w: paymentMethod %q: use %s", ErrUnsupported, paymentMethod, strings.Join(PaymentMethods, " or "))
	case method == MethodAuthorize && !c.Authorize:
		return fmt.Errorf("%w: a %s connector cannot authorize (hold now, capture later)", ErrUnsupported, t)
	case paymentMethod == PaymentMethodACH && !c.BankAccounts:
		return fmt.Errorf("%w: a %s connector does not take bank accounts (ach-debit): use a session or generic connector", ErrUnsupported, t)
	}
	return nil
}
