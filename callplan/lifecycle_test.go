package callplan

import (
	"slices"
	"strings"
	"testing"

	"github.com/paybridge/paybridge/payment"
)

// lifecyclePlan wraps steps in a plan with a session, a generic and a stripe connector.
func lifecyclePlan(steps string) string {
	return `<CallPlan name="t"><Match number="+441632960000"/>` +
		`<Connector name="provider" type="session" baseUrl="sandbox"/>` +
		`<Connector name="backup" type="generic" baseUrl="sandbox"/>` +
		`<Connector name="cards" type="stripe" baseUrl="sandbox"/>` +
		`<Flow>` + steps + `</Flow></CallPlan>`
}

// wantDiags parses src and checks its errors contain want, in order, and nothing else.
func wantDiags(t *testing.T, src string, want ...string) *Plan {
	t.Helper()
	p, ds := Parse("l.xml", []byte(src), noEnv)
	errs := langQuiet(ds).Errors()
	if len(errs) != len(want) {
		t.Fatalf("%d errors, want %d:\n%s", len(errs), len(want), errs)
	}
	for i, w := range want {
		if !strings.Contains(errs[i].String(), w) {
			t.Errorf("error %d = %q, want it to contain %q", i, errs[i], w)
		}
	}
	return p
}

func TestParseLifecycleSteps(t *testing.T) {
	p := wantDiags(t, lifecyclePlan(`
<Pay connector="provider backup" method="authorize" amount="50.00" currency="GBP" var="Hold">
  <Invoice id="INV-$(Call.Id)" description="Water, Q3">
    <Line description="Supply" quantity="2" amount="20.00"/>
    <Line description="Meter rent" amount="10.00"/>
    <Metadata name="customer" value="C-981"/>
  </Invoice>
</Pay>
<Capture payment="$(Hold.SessionId)" amount="30.00" var="Cap"/>
<Capture payment="$(Hold.SessionId)" final="true"/>
<Refund payment="$(Hold.SessionId)" amount="5.00" reason="goodwill"/>
<Void payment="$(Hold.SessionId)"/>
<Pay connector="provider" paymentMethod="ach-debit" bankAccountType="commercial-checking" amount="12.00" currency="USD" var="Bank">
  <Route connector="backup"/>
  <Prompt for="bank-account-number" requireMatchingInputs="true" prompt="pay-bank-account-number-confirm"/>
  <Prompt for="bank-account-number" errorType="input-matching-failed" prompt="pay-bank-account-number-input-matching-failed"/>
</Pay>`))
	var pays []*PayStep
	var ops []*PaymentOpStep
	walkSteps(p.Flow, func(s Step) bool {
		switch s := s.(type) {
		case *PayStep:
			pays = append(pays, s)
		case *PaymentOpStep:
			ops = append(ops, s)
		}
		return true
	})
	if len(pays) != 2 || len(ops) != 4 {
		t.Fatalf("%d pays, %d operations", len(pays), len(ops))
	}
	hold, bank := pays[0], pays[1]
	if hold.Method != payment.MethodAuthorize || !slices.Equal(hold.Route, []string{"provider", "backup"}) || hold.Invoice == nil ||
		hold.Invoice.ID != "INV-$(Call.Id)" || len(hold.Invoice.Lines) != 2 || hold.Invoice.Lines[0].Quantity != 2 ||
		hold.Invoice.Lines[1].Quantity != 1 || hold.Invoice.Metadata[0].Name != "customer" {
		t.Errorf("authorising Pay %+v invoice %+v", hold, hold.Invoice)
	}
	if !bank.IsBank() || bank.BankAccountType != "commercial-checking" || !slices.Equal(bank.Route, []string{"provider", "backup"}) ||
		!slices.Equal(bank.Fields(), []string{FieldBankRoutingNumber, FieldBankAccountNumber}) ||
		!bank.RequiresMatching(FieldBankAccountNumber) || bank.RequiresMatching(FieldBankRoutingNumber) {
		t.Errorf("bank Pay %+v", bank)
	}
	if o := ops[0]; o.Kind != payment.OpCapture || o.Amount != "30.00" || o.Var != "Cap" || o.Payment != "$(Hold.SessionId)" {
		t.Errorf("capture %+v", o)
	}
	if o := ops[1]; !o.Final || o.Var != "Capture" {
		t.Errorf("final capture %+v", o)
	}
	if o := ops[2]; o.Kind != payment.OpRefund || o.Reason != "goodwill" || o.Amount != "5.00" {
		t.Errorf("refund %+v", o)
	}
	if o := ops[3]; o.Kind != payment.OpVoid || o.Var != "Void" {
		t.Errorf("void %+v", o)
	}
}

func TestValidateLifecycle(t *testing.T) {
	for _, c := range []struct {
		name, steps string
		errs        []string
	}{
		{"stripe takes no bank account", `<Pay connector="cards" paymentMethod="ach-debit" amount="1.00" currency="USD"/>`,
			[]string{`connector "cards"`}},
		{"capture of a charge", `<Pay connector="provider" amount="1.00" currency="GBP"/><Capture payment="$(Pay.SessionId)"/>`,
			[]string{`<Capture> of a payment that <Pay var="Pay"> charged at once`}},
		{"refund of a charge", `<Pay connector="provider" amount="1.00" currency="GBP"/><Refund payment="$(Pay.SessionId)"/>`, nil},
		// Pay steps in the branches of a Switch publish under one var: one of them authorises.
		{"one var, several Pay steps", `<Switch value="$(Call.To)">
			<Case is="1"><Pay connector="provider" method="authorize" amount="1.00" currency="GBP"/></Case>
			<Default><Pay connector="provider" amount="2.00" currency="GBP"/></Default></Switch>
			<Capture payment="$(Pay.SessionId)"/>`, nil},
		{"invoice that does not add up", `<Pay connector="provider" amount="10.00" currency="GBP"><Invoice id="I"><Line description="a" quantity="3" amount="3.00"/></Invoice></Pay>`,
			[]string{"the invoice's lines add up to 9.00 GBP, the payment is 10.00 GBP"}},
		{"matching a card number", `<Pay connector="provider" amount="1.00" currency="GBP"><Prompt for="payment-card-number" requireMatchingInputs="true" prompt="x"/></Pay>`,
			[]string{"requireMatchingInputs applies to bank-routing-number and bank-account-number"}},
		{"connector twice in a route", `<Pay connector="provider backup provider" amount="1.00" currency="GBP"/>`,
			[]string{`connector "provider" is twice in the route`}},
		{"bank account type of a card", `<Pay connector="provider" bankAccountType="consumer-savings" amount="1.00" currency="GBP"/>`,
			[]string{`bankAccountType applies to paymentMethod="ach-debit" only`}},
		{"void of a refund-only amount", `<Pay connector="provider" method="authorize" amount="1.00" currency="GBP"/><Void payment="$(Pay.SessionId)" amount="1.00"/>`,
			[]string{"unknown attribute amount on <Void>"}},
	} {
		t.Run(c.name, func(t *testing.T) { wantDiags(t, lifecyclePlan(c.steps), c.errs...) })
	}
}
