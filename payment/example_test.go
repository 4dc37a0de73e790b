package payment_test

import (
	"fmt"

	"github.com/paybridge/paybridge/payment"
)

// Amounts are converted to minor units with the currency's ISO 4217 decimal places.
func ExampleParseAmount() {
	for _, c := range []struct{ amount, cur string }{{"12.5", "GBP"}, {"500", "JPY"}, {"1.234", "KWD"}, {"1.234", "GBP"}} {
		a, err := payment.ParseAmount(c.amount, c.cur)
		fmt.Println(a.Minor, payment.FormatAmount(a), err)
	}
	// Output:
	// 1250 12.50 <nil>
	// 500 500 <nil>
	// 1234 1.234 <nil>
	// 0 0 callplan: bad amount: "1.234" has more than 2 decimal places for GBP
}

// On the embedded sandbox a connector needs nothing but a name and baseUrl="sandbox": the rules
// fill in the sandbox's account and credentials. Off the sandbox every credential is required.
func ExampleCheckConnector() {
	spec, problems := payment.CheckConnector(payment.ConnectorSpec{Name: "provider", BaseURL: "sandbox"})
	fmt.Println(spec.Type, spec.Account, spec.ClientCredentials != nil, len(problems))

	for _, typ := range []string{"strpe", "stripe"} {
		_, problems = payment.CheckConnector(payment.ConnectorSpec{Name: "acme", Type: typ, BaseURL: "https://pay.example.com"})
		for _, p := range problems {
			fmt.Println(p.Attr+":", p.Message)
		}
	}
	// Output:
	// session sandbox true 0
	// type: connector type "strpe": use session, generic or stripe (did you mean "stripe"?)
	// apiKey: stripe connector "acme" needs apiKey="#(env:NAME)" off the sandbox
}
