package callplan

import (
	"strings"
	"testing"
	"time"
)

func TestParseDial(t *testing.T) {
	src := wrapFlow(`<Dial timeout="20s" callerId="$(Call.To)" record="record-from-answer-dual" ringTone="uk" var="Agent">` +
		`<Sip agent="alice">sip:alice@pbx.example:5070</Sip><Sip username="pb">sips:queue@pbx.example</Sip>` +
		`<Pay mode="agent" connector="provider" amount="12.50" currency="GBP" securityCode="true"/></Dial>` +
		`<If test="$(Agent.Result) == answered and $(Pay.Result) == success"><Hangup/></If>`)
	p, ds := Parse("d.xml", []byte(src), noEnv)
	if ds = langQuiet(ds); len(ds) != 0 {
		t.Fatalf("diagnostics: %v", ds)
	}
	d := p.Flow[0].(*DialStep)
	if d.Timeout != 20*time.Second || d.TimeLimit != defaultDialTimeLimit || d.CallerID != "$(Call.To)" || d.Var != "Agent" ||
		d.RingTone != "uk" || !d.RecordDual() || d.RecordFromRinging() {
		t.Fatalf("dial %+v", d)
	}
	if len(d.Targets) != 2 || d.Targets[0].URI != "sip:alice@pbx.example:5070" || d.Targets[0].Agent != "alice" ||
		d.Targets[1].Username != "pb" {
		t.Fatalf("targets %+v %+v", d.Targets[0], d.Targets[1])
	}
	if d.Pay == nil || d.Pay.Mode != PayModeAgent || d.Pay.Amount != "12.50" || !d.Pay.SecurityCode {
		t.Fatalf("pay %+v", d.Pay)
	}
	if got := stepChildren(d); len(got) != 1 || got[0][0] != d.Pay {
		t.Fatal("the agent Pay is not the Dial's nested step")
	}
}

func TestValidateDial(t *testing.T) {
	runDiagCases(t, []diagCase{
		{name: "defaults",
			flow: `<Dial><Sip>sip:agent@127.0.0.1</Sip></Dial><If test="$(Dial.Result) == busy"><Hangup/></If>`},
		{name: "no target",
			flow: `<Dial timeout="10s"/>`,
			errs: []string{"<Dial> has no <Sip>"}},
		{name: "not a SIP URI",
			flow: `<Dial><Sip>tel:+441632960000</Sip></Dial>`,
			errs: []string{"a sip: or sips: URI"}},
		{name: "bad record and ring tone",
			flow: `<Dial record="record-from-anwser" ringTone="fr"><Sip>sip:a@pbx.example</Sip></Dial>`,
			errs: []string{`record "record-from-anwser": use do-not-record, record-from-answer, record-from-answer-dual, record-from-ringing, record-from-ringing-dual (did you mean "record-from-answer"?)`, `ringTone "fr"`}},
		{name: "timeout out of range",
			flow: `<Dial timeout="1s"><Sip>sip:a@pbx.example</Sip></Dial>`,
			errs: []string{"timeout: "}},
		{name: "password typed into the plan",
			flow: `<Dial><Sip username="u" password="hunter2hunter2">sip:a@pbx.example</Sip></Dial>`,
			errs: []string{"password must come from the environment"}},
		{name: "agent Pay outside Dial",
			flow: `<Pay mode="agent" connector="provider" amount="1.00" currency="GBP"/>`,
			errs: []string{`<Pay mode="agent"> is taken by an agent on a bridged call: it belongs directly inside <Dial>`}},
		{name: "ivr Pay inside Dial",
			flow: `<Dial><Sip>sip:a@pbx.example</Sip><Pay connector="provider" amount="1.00" currency="GBP"/></Dial>`,
			errs: []string{`a <Pay> inside <Dial> is taken by the agent on the bridged call: write mode="agent"`}},
		{name: "unknown pay mode",
			flow: `<Pay mode="agnet" connector="provider" amount="1.00" currency="GBP"/>`,
			errs: []string{`mode "agnet"`}},
		{name: "unknown child",
			flow: `<Dial><Number>+441632960000</Number><Sip>sip:a@pbx.example</Sip></Dial>`,
			errs: []string{"<Dial> holds <Sip> and <Pay mode=\"agent\">, not <Number>"}},
		{name: "Sip outside Dial",
			flow: `<Sip>sip:a@pbx.example</Sip>`,
			errs: []string{"<Sip> belongs directly inside <Dial>"}},
		{name: "unknown Dial output",
			flow: `<Dial><Sip>sip:a@pbx.example</Sip></Dial><If test="$(Dial.Status) == busy"><Hangup/></If>`,
			errs: []string{"Dial.Status"}},
		{name: "prompts in an agent Pay",
			flow:  `<Dial><Sip>sip:a@pbx.example</Sip><Pay mode="agent" connector="provider" amount="1.00" currency="GBP"><Prompt for="payment-card-number" prompt="welcome"/></Pay></Dial>`,
			warns: []string{"never plays: the agent guides the caller"}},
	})
}

func TestValidateProviderCapture(t *testing.T) {
	plan := func(connector, flow string) string {
		return `<CallPlan name="t"><Match number="+441632960000"/>` + connector + `<Flow>` + flow + `</Flow></CallPlan>`
	}
	for _, tc := range []struct {
		name, src, err string
	}{
		{"session on the provider's line", plan(`<Connector name="p" baseUrl="sandbox" capture="provider"/>`, `<Pay connector="p" amount="1.00" currency="GBP"/>`), ""},
		{"generic cannot", plan(`<Connector name="p" type="generic" baseUrl="sandbox" capture="provider"/>`, `<Pay connector="p" amount="1.00" currency="GBP"/>`), `capture="provider" needs a session connector`},
		{"typo", plan(`<Connector name="p" baseUrl="sandbox" capture="provder"/>`, `<Pay connector="p" amount="1.00" currency="GBP"/>`), `(did you mean "provider"?)`},
		{"agent pay on the provider's line", plan(`<Connector name="p" baseUrl="sandbox" capture="provider"/>`,
			`<Dial><Sip>sip:a@pbx.example</Sip><Pay mode="agent" connector="p" amount="1.00" currency="GBP"/></Dial>`), `connector "p" has capture="provider"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ds := Parse("c.xml", []byte(tc.src), noEnv)
			errs := ds.Errors()
			if tc.err == "" {
				if len(errs) > 0 {
					t.Fatalf("errors: %v", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].String(), tc.err) {
				t.Fatalf("errors %v, want one with %q", errs, tc.err)
			}
		})
	}
}
