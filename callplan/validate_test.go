package callplan

import (
	"strings"
	"testing"
)

// diagCase is a plan fragment and the diagnostics it must produce (substrings, with their
// severity), and nothing else.
type diagCase struct {
	name  string
	flow  string
	errs  []string
	warns []string
}

func runDiagCases(t *testing.T, cases []diagCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ds := Parse("v.xml", []byte(wrapFlow(c.flow)), noEnv)
			ds = langQuiet(ds)
			check := func(kind string, got Diagnostics, want []string) {
				if len(got) != len(want) {
					t.Errorf("%d %s, want %d:\n%s", len(got), kind, len(want), got)
					return
				}
				for i, w := range want {
					if !strings.Contains(got[i].String(), w) {
						t.Errorf("%s %d = %q, want it to contain %q", kind, i, got[i], w)
					}
				}
			}
			check("errors", ds.Errors(), c.errs)
			check("warnings", ds.Warnings(), c.warns)
		})
	}
}

func TestValidateLabels(t *testing.T) {
	runDiagCases(t, []diagCase{
		{name: "goto to a top-level label from depth",
			flow: `<Label name="top"/><Menu prompt="main-menu"><Choice key="1"><Goto label="top"/></Choice></Menu>`},
		{name: "missing label with suggestion",
			flow: `<Label name="retry"/><Goto label="rety"/>`,
			errs: []string{`v.xml:1:137: Goto label "rety": no <Label name="rety"> at the top level of <Flow> (did you mean "retry"?)`}},
		{name: "onError",
			flow: `<ApiInteraction onError="nowhere"><Request><Url>https://x.example/</Url></Request></ApiInteraction>`,
			errs: []string{`onError label "nowhere"`}},
		{name: "duplicate label",
			flow: `<Label name="a"/><Play prompt="welcome"/><Label name="a"/>`,
			errs: []string{`label "a" is defined twice (first at 1:103)`}},
		{name: "nested label",
			flow: `<If test="1 == 1"><Label name="in"/></If><Goto label="in"/>`,
			errs: []string{"<Label> must be a direct child of <Flow>", `Goto label "in"`}},
	})
}

func TestValidateReachability(t *testing.T) {
	runDiagCases(t, []diagCase{
		{name: "after hangup",
			flow: `<Hangup/><Play prompt="a"/><Play prompt="b"/>`,
			errs: []string{"unreachable <Play>: the <Hangup> at 1:103 ends the call"}},
		{name: "label revives",
			flow: `<Goto label="x"/><Label name="x"/><Hangup/>`},
		{name: "goto then step",
			flow: `<Label name="x"/><Goto label="x"/><Pause/>`,
			errs: []string{"unreachable <Pause>: the <Goto>"}},
		{name: "if without else falls through",
			flow: `<If test="1 == 1"><Hangup/></If><Play prompt="a"/>`},
		{name: "if with else that all end",
			flow: `<If test="1 == 1"><Hangup/><ElseIf test="2 == 2"><Hangup/></ElseIf><Else><Hangup/></Else></If><Play prompt="a"/>`,
			errs: []string{"unreachable <Play>: the <If>"}},
		{name: "if with one branch that continues",
			flow: `<If test="1 == 1"><Hangup/><ElseIf test="2 == 2"><Pause/></ElseIf><Else><Hangup/></Else></If><Play prompt="a"/>`},
		{name: "switch with default that all end",
			flow: `<Switch value="$(Call.To)"><Case is="1"><Hangup/></Case><Default><Hangup/></Default></Switch><Pause/>`,
			errs: []string{"unreachable <Pause>: the <Switch>"}},
		{name: "switch without default falls through",
			flow: `<Switch value="$(Call.To)"><Case is="1"><Hangup/></Case></Switch><Pause/>`},
		{name: "inside a branch",
			flow: `<If test="1 == 1"><Hangup/><Pause/></If>`,
			errs: []string{"unreachable <Pause>"}},
	})
}

func TestValidateVariables(t *testing.T) {
	runDiagCases(t, []diagCase{
		{name: "builtins",
			flow: `<Set var="X" value="$(Call.From) $(Call.To) $(Call.Id) $(Call.StartedAt) $(Sandbox.Url)"/>`},
		{name: "never set",
			flow: `<Set var="X" value="$(Y)"/>`,
			errs: []string{"$(Y) is never set"}},
		{name: "set later is a warning",
			flow:  `<Set var="X" value="$(Y)"/><Set var="Y" value="1"/>`,
			warns: []string{"$(Y) is used before any step sets it (first set at"}},
		{name: "set in an earlier branch counts",
			flow: `<If test="1 == 1"><Set var="Y" value="1"/></If><SayDigits value="$(Y)"/>`},
		{name: "gather publishes its var and Result",
			flow: `<Gather var="Acct"/><SayDigits value="$(Acct)"/><If test="$(Acct.Result) == success"/>`},
		{name: "gather has no other outputs",
			flow: `<Gather var="Acct"/><SayDigits value="$(Acct.Digits)"/>`,
			errs: []string{"$(Acct.Digits) is not published by <Gather>"}},
		{name: "api destinations",
			flow: `<ApiInteraction><Request><Url>https://x.example/</Url></Request><Response><ResponseCodeDestination>Code</ResponseCodeDestination>` +
				`<Fields><Field><Locator>a</Locator><Destination>GlobalPCI|SessionId</Destination></Field></Fields></Response></ApiInteraction>` +
				`<If test="$(Code) == 200 and not empty($(GlobalPCI|SessionId))"/>`},
		{name: "pay published",
			flow: `<Pay connector="provider" var="P"/><Set var="X" value="$(P.Result)$(P.MaskedCard)$(P.CardType)$(P.Token)$(P.ConfirmationCode)$(P.ErrorType)$(P.Attempts)$(P.ExpirationDate)$(P.SessionId)$(P.ConnectorError)"/>`},
		{name: "pay card number",
			flow: `<Pay connector="provider" var="P"/><Set var="X" value="$(P.CardNumber)"/>`,
			errs: []string{"$(P.CardNumber) is not published by <Pay>: it publishes only P.Result, P.ErrorType, P.Attempts, P.CardType, P.MaskedCard, P.ExpirationDate, P.Token, P.ConfirmationCode, P.SessionId, P.ConnectorError, P.Method, P.AuthorizedUntil, P.PaymentMethod, P.BankAccountType, P.BankAccountNumber, P.BankRoutingNumber, P.Connector, P.Route (card data is never a variable)"}},
		{name: "default Pay namespace even without a Pay step",
			flow: `<Set var="X" value="$(Pay.SecurityCode)"/>`,
			errs: []string{"$(Pay.SecurityCode) is not published by <Pay>"}},
		{name: "misspelt published name suggests",
			flow: `<Pay connector="provider"/><Set var="X" value="$(Pay.Reslt)"/>`,
			errs: []string{`(did you mean "Result"?)`}},
		{name: "assigning a published name",
			flow: `<Pay connector="provider"/><Set var="Pay.Result" value="success"/>`,
			errs: []string{"Pay.Result is reserved for the variables <Pay"}},
		{name: "assigning a builtin",
			flow: `<Set var="Call.From" value="x"/>`,
			errs: []string{"Call.From is a built-in variable"}},
		{name: "gather of card data",
			flow: `<Gather var="Cvv"/><Gather var="PAN"/><Gather var="ExpiryDate"/><Gather var="Account"/>`,
			errs: []string{`<Gather var="Cvv"> looks like card data`, `<Gather var="PAN">`, `<Gather var="ExpiryDate">`}},
		{name: "authorize and link outputs",
			flow: `<Authorize connector="provider" var="A"/><SendPaymentLink connector="provider" to="+447700900123" session="s" var="L"/>` +
				`<If test="$(A.Result) == success and $(L.Result) == success and $(L.Id) != x and $(A.Token) == y"/>`,
			errs: []string{"$(A.Token) is not published by <Authorize>"}},
		{name: "api name publishes Error; transfer publishes Result",
			flow: `<ApiInteraction name="Lookup"><Request><Url>https://x.example/</Url></Request></ApiInteraction>` +
				`<Transfer to="+441632960999"/><If test="empty($(Lookup.Error)) and $(Transfer.Result) == failed"/>`},
		{name: "play loop 0 repeats until a key",
			flow: `<Play prompt="welcome" loop="0"/><Play prompt="welcome" loop="101"/>`,
			errs: []string{"loop: 101 out of range 0–100"}},
		{name: "menu var",
			flow: `<Menu var="K"><Choice key="1"/></Menu><If test="$(K) == 1"/>`},
	})
}

func TestValidateConnectors(t *testing.T) {
	runDiagCases(t, []diagCase{
		{name: "declared", flow: `<Pay connector="provider"/><Authorize connector="provider"/>`},
		{name: "undeclared",
			flow: `<Pay connector="provder"/>`,
			errs: []string{`<Pay> uses connector "provder", which is not declared (did you mean "provider"?)`}},
		{name: "link without connector",
			flow: `<SendPaymentLink to="+447700900123" session="s"/>`,
			errs: []string{"<SendPaymentLink> needs a connector attribute"}},
	})
}

func TestValidateLinkAmounts(t *testing.T) {
	runDiagCases(t, []diagCase{
		{name: "attach", flow: `<SendPaymentLink connector="provider" to="+447700900123" session="$(Call.Id)"/>`},
		{name: "attach with amount", flow: `<SendPaymentLink connector="provider" to="+447700900123" session="s" amount="1.00" currency="EUR"/>`},
		{name: "new session", flow: `<SendPaymentLink connector="provider" to="+447700900123" amount="$(Call.Id)" currency="GBP"/>`},
		{name: "new session without amount", flow: `<SendPaymentLink connector="provider" to="+447700900123"/>`,
			errs: []string{"<SendPaymentLink> without a session starts a new one: it needs amount and currency"}},
		{name: "amount without currency", flow: `<SendPaymentLink connector="provider" to="+447700900123" session="s" amount="5"/>`,
			errs: []string{"<SendPaymentLink> has an amount but no currency"}},
	})
}

func TestValidateURLs(t *testing.T) {
	api := func(u string) string {
		return `<ApiInteraction><Request><Url>` + u + `</Url></Request></ApiInteraction>`
	}
	runDiagCases(t, []diagCase{
		{name: "https", flow: api("https://billing.example.com/a/$(Call.Id)?q=$(Call.To)")},
		{name: "base variable", flow: api("$(Sandbox.Url)/x")},
		{name: "loopback http", flow: api("http://127.0.0.1:8080/x") + api("http://localhost/x") + api("http://[::1]:9/x")},
		{name: "plain http elsewhere", flow: api("http://billing.example.com/x"),
			warns: []string{"plain http outside loopback"}},
		{name: "credentials", flow: api("https://user:pw@billing.example.com/x"),
			errs: []string{"<Url> carries user:password@"}},
		{name: "not a URL", flow: api("billing.example.com/x"),
			errs: []string{"must start with https://"}},
		{name: "empty", flow: api(""), errs: []string{"<Url> is empty"}},
	})
}

func TestValidateUnusedWarnings(t *testing.T) {
	src := `<CallPlan><Match number="*"/><Connector name="used" baseUrl="sandbox"/><Connector name="spare" baseUrl="sandbox"/>` +
		`<Flow><Label name="again"/><Label name="never"/><Pay connector="used"/><If test="$(Pay.Result) != success"><Goto label="again"/></If></Flow></CallPlan>`
	_, ds := Parse("u.xml", []byte(src), nil)
	want := "u.xml:1:72: warning: connector \"spare\" is declared but no Pay, SendPaymentLink or Authorize uses it\n" +
		"u.xml:1:142: warning: label \"never\" is never jumped to (no Goto or onError names it)\n"
	if ds.String() != want {
		t.Errorf("got\n%swant\n%s", ds, want)
	}
}

func TestValidatePlanLevelWarnings(t *testing.T) {
	_, ds := Parse("w.xml", []byte(`<CallPlan name="w"><Flow/></CallPlan>`), nil)
	if ds.HasErrors() || len(ds.Warnings()) != 2 {
		t.Fatalf("want 2 warnings (no match, empty flow):\n%s", ds)
	}
}

func TestWalkAndChildren(t *testing.T) {
	p := langParse(t, wrapFlow(`<If test="1 == 1"><Pause/><ElseIf test="2 == 2"><Pause/></ElseIf><Else><Switch value="x"><Case is="x"><Menu><Choice key="1"><Hangup/></Choice></Menu></Case><Default><Pause/></Default></Switch></Else></If>`))
	var names []string
	walkSteps(p.Flow, func(s Step) bool { names = append(names, s.StepName()); return true })
	if got := strings.Join(names, " "); got != "If Pause Pause Switch Menu Hangup Pause" {
		t.Errorf("Walk = %s", got)
	}
	names = nil
	walkSteps(p.Flow, func(s Step) bool { names = append(names, s.StepName()); return false })
	if len(names) != 1 {
		t.Errorf("Walk without descent = %v", names)
	}
	if stepChildren(&PauseStep{}) != nil {
		t.Error("leaf has children")
	}
}

// TestValidateCodeBuiltPlan: Validate works on a plan assembled in code (no positions, no
// Labels index) and does not modify it.
func TestValidateCodeBuiltPlan(t *testing.T) {
	p := &Plan{Name: "built", Fallback: true, Flow: []Step{
		&LabelStep{Name: "top"},
		&SetStep{Var: "X", Value: "$(Call.From)"},
		&IfStep{Branches: []*Branch{{Test: mustParseExpr("$(X) == 1"), Steps: []Step{&GotoStep{Label: "top"}}}}},
		&PayStep{Connector: "nowhere", Var: "Pay"},
		&SayDigitsStep{Value: "$(Pay.CardNumber)"},
		&GotoStep{Label: "missing"},
	}}
	ds := validatePlan(p)
	var codes []string
	for _, d := range ds {
		codes = append(codes, d.Code)
	}
	if got := strings.Join(codes, " "); got != "missing-label missing-connector unpublished-variable" {
		t.Errorf("codes = %s\n%s", got, ds)
	}
	if p.Labels != nil {
		t.Error("Validate modified the plan")
	}
}
