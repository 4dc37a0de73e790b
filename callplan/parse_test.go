package callplan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/payment"
)

// langQuiet drops the "unused" warnings that small test plans trigger on purpose (a
// declared connector or label they do not use); the tests of those warnings call Parse.
func langQuiet(ds Diagnostics) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Code != "unused-connector" && d.Code != "unused-label" {
			out = append(out, d)
		}
	}
	return out
}

// langParse parses src and fails the test on any diagnostic.
func langParse(t *testing.T, src string) *Plan {
	t.Helper()
	p, ds := Parse("test.xml", []byte(src), noEnv)
	if ds = langQuiet(ds); len(ds) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", ds)
	}
	return p
}

// langDiags parses src and returns its diagnostics as strings.
func langDiags(src string) []string {
	_, ds := Parse("t.xml", []byte(src), noEnv)
	ds = langQuiet(ds)
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.String()
	}
	return out
}

func wrapFlow(steps string) string {
	return `<CallPlan name="t"><Match number="+441632960000"/>` +
		`<Connector name="provider" baseUrl="sandbox"/><Flow>` + steps + `</Flow></CallPlan>`
}

func TestParsePayBillExample(t *testing.T) {
	src, err := os.ReadFile("../examples/plans/pay-bill.xml")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PROVIDER_URL": "https://pay.example.com", "PROVIDER_CLIENT_SECRET": "from-env"}
	p, ds := Parse("pay-bill.xml", src, func(k string) string { return env[k] })
	if len(ds) > 0 {
		t.Fatalf("diagnostics:\n%s", ds)
	}
	sum := sha256.Sum256(src)
	if p.Hash != hex.EncodeToString(sum[:]) {
		t.Errorf("Hash = %s", p.Hash)
	}
	if p.Name != "pay-bill" || p.Version != "3" || !reflect.DeepEqual(p.Match, []string{"+441632960000", "+441632960001"}) || p.Fallback {
		t.Errorf("plan header: %+v", p)
	}
	if p.Prompts == nil || p.Prompts.Lang != "en-GB" || p.Prompts.Dir != "" {
		t.Errorf("Prompts = %+v", p.Prompts)
	}
	c := p.Connector("provider")
	if c == nil {
		t.Fatal("no connector")
	}
	want := payment.ConnectorSpec{Plan: "pay-bill", Name: "provider", Type: "session", BaseURL: "https://pay.example.com", Account: "demo-account",
		ClientCredentials: &payment.ClientCredentials{TokenURL: "https://pay.example.com/auth/connect/token", ClientID: "paybridge-demo", ClientSecret: "from-env", Scope: "globalpci"}}
	if !reflect.DeepEqual(c.Spec, want) {
		t.Errorf("connector spec\n got %+v %+v\nwant %+v %+v", c.Spec, c.Spec.ClientCredentials, want, want.ClientCredentials)
	}
	if c.Pos.Line != 8 || c.Pos.Col != 3 {
		t.Errorf("connector pos = %v", c.Pos)
	}
	var names []string
	for _, s := range p.Flow {
		names = append(names, s.StepName())
	}
	if got := strings.Join(names, " "); got != "Play Gather ApiInteraction If Pay Switch Hangup Label Play Hangup" {
		t.Errorf("flow = %s", got)
	}
	if p.Labels["lookup-failed"] != 7 {
		t.Errorf("Labels = %v", p.Labels)
	}
	g := p.Flow[1].(*GatherStep)
	if g.Var != "Account" || g.Min != 8 || g.Max != 8 || g.FinishOnKey != "#" || g.Timeout != 5*time.Second ||
		g.FirstDigitTimeout != 5*time.Second || g.Attempts != 3 || !reflect.DeepEqual(itemNames(g.Prompt), []string{"enter-account"}) ||
		!reflect.DeepEqual(itemNames(g.InvalidPrompt), []string{"account-invalid"}) || g.Pos != (Pos{"pay-bill.xml", 15, 5}) {
		t.Errorf("gather = %+v", g)
	}
	api := p.Flow[2].(*APIInteractionStep)
	if api.Name != "LookupBalance" || api.OnError != "lookup-failed" || api.Timeout != defaultAPITimeout ||
		api.Request.URL != "$(Sandbox.Url)/billing/accounts/$(Account)/balance" || api.Request.Method != "GET" ||
		len(api.Request.Headers) != 1 || api.Request.Headers[0].Key != "Accept" || api.Response.Type != ResponseJSON ||
		api.Response.ResponseCodeDestination != "LookupStatus" || len(api.Response.Fields) != 2 ||
		api.Response.Fields[0] != (Field{Pos: Pos{"pay-bill.xml", 27, 11}, Locator: "balance.amount", Destination: "Amount", DataType: DataDecimal}) {
		t.Errorf("api = %+v", api)
	}
	iff := p.Flow[3].(*IfStep)
	if len(iff.Branches) != 1 || iff.Branches[0].Test.String() != "$(LookupStatus) != 200" || iff.Else != nil {
		t.Errorf("if = %+v", iff)
	}
	pay := p.Flow[4].(*PayStep)
	if pay.Connector != "provider" || pay.Amount != "$(Amount)" || pay.Currency != "GBP" || pay.Reference != "$(Account)" ||
		!reflect.DeepEqual(pay.ValidCardTypes, []string{"visa", "mastercard", "amex"}) || !pay.SecurityCode ||
		pay.PostalCode != "false" || pay.AsksPostalCode() || pay.MaxAttempts != 3 || pay.Timeout != 5*time.Second ||
		pay.Var != "Pay" || pay.TokenType != "reusable" || len(pay.Prompts) != 4 {
		t.Errorf("pay = %+v", pay)
	}
	if pp := pay.Prompts[1]; pp.For != FieldCardNumber || !reflect.DeepEqual(pp.ErrorType, []string{ErrTypeInvalidCardNumber}) || !reflect.DeepEqual(itemNames(pp.Prompt), []string{"card-invalid"}) {
		t.Errorf("pay prompt = %+v", pp)
	}
	sw := p.Flow[5].(*SwitchStep)
	if sw.Value != "$(Pay.Result)" || len(sw.Cases) != 2 || !reflect.DeepEqual(sw.Cases[1].Is, []string{"too-many-failed-attempts", "caller-interrupted-with-star"}) || len(sw.Default) != 1 {
		t.Errorf("switch = %+v", sw)
	}
	link := sw.Cases[1].Steps[0].(*SendPaymentLinkStep)
	if link.Connector != "provider" || link.To != "$(Mobile)" || link.TTL != 72*time.Hour || link.Var != "Link" {
		t.Errorf("link = %+v", link)
	}
	if h := p.Flow[9].(*HangupStep); h.Reason != "lookup-failed" {
		t.Errorf("hangup = %+v", h)
	}
}

func TestParseDefaults(t *testing.T) {
	p := langParse(t, wrapFlow(`
<Play prompt="welcome"/>
<Pause/>
<Gather var="G"/>
<Menu><Choice key="1"/></Menu>
<ApiInteraction><Request><Url>https://x.example/</Url></Request></ApiInteraction>
<Authorize connector="provider"/>
<Pay connector="provider"/>
<SendPaymentLink connector="provider" to="+447700900123" session="S"/>
<Hangup/>`))
	f := p.Flow
	if s := f[0].(*PlayStep); s.Loop != 1 || s.BargeIn != nil {
		t.Errorf("Play defaults %+v", s)
	}
	if s := f[1].(*PauseStep); s.Length != time.Second {
		t.Errorf("Pause defaults %+v", s)
	}
	if s := f[2].(*GatherStep); s.Min != 1 || s.Max != 20 || s.FinishOnKey != "#" || s.Timeout != 5*time.Second || s.FirstDigitTimeout != 5*time.Second || s.Attempts != 3 || s.Pattern != nil {
		t.Errorf("Gather defaults %+v", s)
	}
	if s := f[3].(*MenuStep); s.Timeout != 5*time.Second || s.Attempts != 3 || s.Var != "" {
		t.Errorf("Menu defaults %+v", s)
	}
	if s := f[4].(*APIInteractionStep); s.Timeout != 10*time.Second || s.Request.Method != "GET" || s.Response.Type != ResponseJSON {
		t.Errorf("ApiInteraction defaults %+v", s)
	}
	if s := f[5].(*AuthorizeStep); s.Var != "Authorize" {
		t.Errorf("Authorize defaults %+v", s)
	}
	if s := f[6].(*PayStep); s.Var != "Pay" || s.MaxAttempts != 3 || s.Timeout != 5*time.Second || !s.SecurityCode || s.PostalCode != "false" ||
		s.MinPostalCodeLength != 3 || s.TokenType != "reusable" || !reflect.DeepEqual(s.ValidCardTypes, defaultValidCardTypes) || s.Amount != "" {
		t.Errorf("Pay defaults %+v", s)
	}
	if s := f[7].(*SendPaymentLinkStep); s.TTL != 24*time.Hour || s.Var != "Link" {
		t.Errorf("SendPaymentLink defaults %+v", s)
	}
	if s := f[8].(*HangupStep); s.Reason != "normal" {
		t.Errorf("Hangup defaults %+v", s)
	}
}

func TestParseValues(t *testing.T) {
	p := langParse(t, wrapFlow(`<Set var="P" value="y"/><Set var="Zip" value="12345"/>
<Play prompt="a $(P) b" bargeIn="false" loop="3"/>
<Gather var="G" minDigits="4" maxDigits="6" finishOnKey="" timeout="500ms" firstDigitTimeout="1m" pattern="[0-9]{4}|9{6}"/>
<Pay connector="provider" postalCode="$(Zip)" validCardTypes="visa visa jcb" securityCode="false"><Prompt for="payment-card-number" errorType="input-timeout invalid-card-type" cardType="visa jcb" attempt="1 3" prompt="x"/></Pay>
`))
	pl := p.Flow[2].(*PlayStep)
	if !reflect.DeepEqual(itemNames(pl.Prompts), []string{"a", "$(P)", "b"}) || pl.BargeIn == nil || *pl.BargeIn || pl.Loop != 3 {
		t.Errorf("play %+v", pl)
	}
	g := p.Flow[3].(*GatherStep)
	if g.Min != 4 || g.Max != 6 || g.FinishOnKey != "" || g.Timeout != 500*time.Millisecond || g.FirstDigitTimeout != time.Minute {
		t.Errorf("gather %+v", g)
	}
	for s, want := range map[string]bool{"1234": true, "999999": true, "12345": false, "x1234": false, "12349": false} {
		if g.Pattern.MatchString(s) != want {
			t.Errorf("pattern on %q = %v", s, !want)
		}
	}
	pay := p.Flow[4].(*PayStep)
	if pay.AsksPostalCode() || pay.PostalCodeValue() != "$(Zip)" || !reflect.DeepEqual(pay.ValidCardTypes, []string{"visa", "jcb"}) || pay.SecurityCode {
		t.Errorf("pay %+v", pay)
	}
	pp := pay.Prompts[0]
	if !reflect.DeepEqual(pp.ErrorType, []string{"input-timeout", "invalid-card-type"}) || !reflect.DeepEqual(pp.CardType, []string{"visa", "jcb"}) || !reflect.DeepEqual(pp.Attempt, []int{1, 3}) {
		t.Errorf("prompt %+v", pp)
	}
}

func TestParseEnv(t *testing.T) {
	src := `<CallPlan><Match number="*"/>
<Connector name="c" type="stripe" baseUrl="#(env:URL)" apiKey="#(env:KEY)" account="#(env:ACCT:-fallback)"/>
<Flow><Set var="X" value="#(env:GREETING)-$(Call.Id)"/></Flow></CallPlan>`
	env := map[string]string{"URL": "https://api.example.com/", "KEY": "sk_live_notreallyasecret123", "GREETING": "hi"}
	p, ds := Parse("/plans/env.xml", []byte(src), func(k string) string { return env[k] })
	if ds = langQuiet(ds); len(ds) > 0 {
		t.Fatalf("diagnostics:\n%s", ds)
	}
	c := p.Connectors[0].Spec
	if c.BaseURL != "https://api.example.com" || c.APIKey != env["KEY"] || c.Account != "fallback" {
		t.Errorf("spec %+v", c)
	}
	if s := p.Flow[0].(*SetStep); s.Value != "hi-$(Call.Id)" {
		t.Errorf("set %+v", s)
	}
	if p.Name != "env" || !p.Fallback || len(p.Match) != 0 {
		t.Errorf("plan %+v", p)
	}
	// The same plan without the environment names every missing variable.
	_, ds = Parse("env.xml", []byte(src), nil)
	msgs := ds.String()
	for _, name := range []string{"URL", "KEY", "GREETING"} {
		if !strings.Contains(msgs, "environment variable "+name+" is not set") {
			t.Errorf("missing env %s not reported:\n%s", name, msgs)
		}
	}
	if strings.Contains(msgs, "ACCT") {
		t.Errorf("a variable with a default was reported:\n%s", msgs)
	}
}

func TestParsePromptsDir(t *testing.T) {
	p := langParse(t, `<CallPlan><Match number="*"/><Prompts dir="prompts/mine" lang="fr-FR"/><Flow><Hangup/></Flow></CallPlan>`)
	wd, _ := os.Getwd()
	if p.Prompts.Dir != filepath.Join(wd, "prompts/mine") || p.Prompts.Lang != "fr-FR" {
		t.Errorf("relative to the working directory: %+v", p.Prompts)
	}
	p2, _ := Parse("/srv/plans/x.xml", []byte(`<CallPlan><Match number="*"/><Prompts dir="audio"/><Flow><Hangup/></Flow></CallPlan>`), nil)
	if p2.Prompts.Dir != "/srv/plans/audio" {
		t.Errorf("Prompts.Dir = %q", p2.Prompts.Dir)
	}
}

// TestParsePositions checks line:col for elements, attribute values across lines, text and
// CDATA, and columns inside a value.
func TestParsePositions(t *testing.T) {
	src := "<CallPlan>\n" + //  1
		"  <Match number=\"+441632960000\"/>\n" + //  2
		"  <Flow>\n" + //  3
		"    <Set var=\"A\"\n" + //  4
		"         value=\"x $(Nope)\"/>\n" + //  5
		"    <ApiInteraction><Request>\n" + //  6
		"      <Url>https://x.example/$(Nope2)</Url>\n" + //  7
		"      <Body><![CDATA[{\"a\":\"$(Nope3)\"}]]></Body>\n" + //  8
		"    </Request></ApiInteraction>\n" + //  9
		"    <If test=\"$(A) == 1 and $(Nope4)\"><Hangup/></If>\n" + // 10
		"  </Flow>\n</CallPlan>\n"
	got := langDiags(src)
	want := []string{
		"t.xml:5:19: $(Nope) is never set: no step assigns it and it is not a built-in",
		"t.xml:7:30: $(Nope2) is never set: no step assigns it and it is not a built-in",
		"t.xml:8:28: $(Nope3) is never set: no step assigns it and it is not a built-in",
		"t.xml:10:29: $(Nope4) is never set: no step assigns it and it is not a built-in",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseErrorsAreAllReported(t *testing.T) {
	got := langDiags(wrapFlow(`<Gathr/><Play promt="x"/><Pause length="1"/><Gather var="G" attempts="0"/>`))
	if len(got) != 5 { // Gathr, promt, missing prompt, length, attempts
		t.Errorf("got %d diagnostics:\n%s", len(got), strings.Join(got, "\n"))
	}
}

func TestDiagnosticFormatAndJSON(t *testing.T) {
	d := Diagnostic{Pos: Pos{"a.xml", 3, 7}, Severity: SeverityWarning, Code: "used-before-set", Message: "m"}
	if d.String() != "a.xml:3:7: warning: m" {
		t.Errorf("String = %q", d)
	}
	d.Severity = SeverityError
	if d.String() != "a.xml:3:7: m" {
		t.Errorf("String = %q", d)
	}
	b, err := json.Marshal(d)
	if err != nil || string(b) != `{"file":"a.xml","line":3,"col":7,"severity":"error","code":"used-before-set","message":"m"}` {
		t.Errorf("JSON = %s, %v", b, err)
	}
	var back Diagnostic
	if err := json.Unmarshal(b, &back); err != nil || back.String() != d.String() || back.Code != d.Code {
		t.Errorf("round trip %+v, %v", back, err)
	}
	if (Diagnostic{Pos: Pos{File: "x.xml"}, Message: "cannot read"}).String() != "x.xml: cannot read" {
		t.Error("file-only position")
	}
	ds := Diagnostics{d, {Severity: SeverityWarning, Message: "w"}}
	if !ds.HasErrors() || len(ds.Errors()) != 1 || len(ds.Warnings()) != 1 || ds.Err() == nil {
		t.Error("Diagnostics helpers")
	}
	if Diagnostics(ds.Warnings()).Err() != nil {
		t.Error("warnings only must not be an error")
	}
}

// TestNoCardDigitsInDiagnostics pastes the test cards into every kind of value and checks
// that neither the text nor the JSON of the diagnostics shows them.
func TestNoCardDigitsInDiagnostics(t *testing.T) {
	cards := []string{"4242424242424242", "5555555555554444", "378282246310005"}
	for _, c := range cards {
		spaced := c[:4] + " " + c[4:8] + " " + c[8:]
		src := `<CallPlan name="` + c + `"><Match number="` + c + ` +` + c + `"/>
<Connector name="p" baseUrl="https://x.example/` + c + `"/><Flow>
<Set var="A" value="` + c + `"/><Set var="B" value="` + spaced + `"/>
<SayDigits value="` + c + `x"/><Gather var="G" pattern="` + c + `(" finishOnKey="` + c + `"/>
<Pay connector="p` + c + `" amount="` + c + `.001" currency="GBP" attempt="` + c + `"/>
<Transfer to="` + c + `"/><Goto label="` + c + `"/>
<ApiInteraction><Request><Url>ftp://` + c + `</Url><Method>` + c + `</Method><Body>` + c + `</Body></Request>
<Response><Type>` + c + `</Type><Fields><Field><Locator>` + c + `[</Locator><Destination>` + c + `</Destination><DataType>` + c + `</DataType></Field></Fields></Response></ApiInteraction>
<If test="$(A) == ` + c + ` ` + c + `"/><Hangup reason="` + c + `"/><` + "X" + c + `/>
</Flow></CallPlan>`
		_, ds := Parse("leak.xml", []byte(src), nil)
		if !ds.HasErrors() {
			t.Fatalf("expected errors")
		}
		js, _ := json.Marshal(ds)
		for _, out := range []string{ds.String(), string(js), ds.Err().Error()} {
			for _, probe := range cards {
				if strings.Contains(out, probe) || strings.Contains(out, probe[:4]+" "+probe[4:8]) {
					t.Fatalf("card digits in diagnostics:\n%s", out)
				}
			}
		}
	}
}

// TestParseManyProblemsIsBounded: a file full of mistakes gives a bounded list, quickly.
func TestParseManyProblemsIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<CallPlan><Match number="*"/><Flow>`)
	long := strings.Repeat("x", 200)
	for i := 0; i < 3000; i++ {
		b.WriteString(`<Play prompt="welcome" ` + long + `="1" bargin="1"/>`)
	}
	b.WriteString(`</Flow></CallPlan>`)
	start := time.Now()
	_, ds := Parse("many.xml", []byte(b.String()), nil)
	if len(ds) != maxDiagnostics+1 || !strings.Contains(ds.String(), "more than 500 problems; the rest are not reported") {
		t.Fatalf("%d diagnostics", len(ds))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestParseEncodings(t *testing.T) {
	body := `<CallPlan><Match number="*"/><Flow><Gathr/></Flow></CallPlan>`
	for _, tt := range []struct{ name, src, want string }{
		{"bom", "\xef\xbb\xbf" + body, "e.xml:1:36: unknown element <Gathr>"},
		{"ascii", `<?xml version="1.0" encoding="US-ASCII"?>` + "\n" + body, "e.xml:2:36: unknown element <Gathr>"},
		{"utf-8 declared", `<?xml version="1.0" encoding="utf-8"?>` + "\n" + body, "e.xml:2:36: unknown element <Gathr>"},
		{"latin1", `<?xml version="1.0" encoding="ISO-8859-1"?>` + "\n" + body, `encoding "ISO-8859-1" is not supported: save the plan as UTF-8`},
	} {
		_, ds := Parse("e.xml", []byte(tt.src), nil)
		if !strings.Contains(ds.String(), tt.want) {
			t.Errorf("%s: got\n%s", tt.name, ds)
		}
	}
}
