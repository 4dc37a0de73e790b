package callplan

import (
	"strings"
	"testing"
)

// <CallPlan srtp="…"> is the plan's media encryption policy; anything else is refused where it
// stands.
func TestCallPlanSRTPAttribute(t *testing.T) {
	for _, v := range []string{"", SRTPOff, SRTPOptional, SRTPRequired} {
		attr := ""
		if v != "" {
			attr = ` srtp="` + v + `"`
		}
		src := `<CallPlan name="t"` + attr + `><Match number="+441632960000"/><Flow><Hangup/></Flow></CallPlan>`
		p, ds := Parse("t.xml", []byte(src), noEnv)
		if ds.HasErrors() || p.SRTP != v {
			t.Fatalf("srtp=%q: plan SRTP %q, diagnostics %v", v, p.SRTP, ds)
		}
	}
	_, ds := Parse("t.xml", []byte(`<CallPlan name="t" srtp="mandatory"><Match number="+441632960000"/><Flow><Hangup/></Flow></CallPlan>`), noEnv)
	if !ds.HasErrors() || ds[0].Code != "bad-value" || ds[0].Pos.Line != 1 || ds[0].Pos.Col < 20 || !strings.Contains(ds[0].Message, "off, optional or required") {
		t.Fatalf("diagnostics %v", ds)
	}
}

// A provider's URL must be https: card data and tokens travel on it. Plain http is the
// embedded sandbox's business ("sandbox") or loopback's only; validate says so at the attribute.
func TestConnectorURLsMustBeHTTPS(t *testing.T) {
	for _, tc := range []struct {
		conn string
		bad  bool
	}{
		{`<Connector name="p" type="stripe" baseUrl="https://api.pay.example" apiKey="#(env:K:-x)"/>`, false},
		{`<Connector name="p" baseUrl="sandbox"/>`, false},
		{`<Connector name="p" type="stripe" baseUrl="http://127.0.0.1:9000" apiKey="#(env:K:-x)"/>`, false},
		{`<Connector name="p" type="stripe" baseUrl="http://api.pay.example" apiKey="#(env:K:-x)"/>`, true},
		{`<Connector name="p" type="stripe" baseUrl="http://10.0.0.5" apiKey="#(env:K:-x)"/>`, true},
		{`<Connector name="p" type="session" baseUrl="https://api.pay.example" account="a"><ClientCredentials clientId="c" clientSecret="#(env:S:-x)" tokenUrl="http://auth.pay.example/token"/></Connector>`, true},
	} {
		src := `<CallPlan name="t"><Match number="+441632960000"/>` + tc.conn + `<Flow><Pay connector="p" amount="1.00" currency="GBP"/></Flow></CallPlan>`
		_, ds := Parse("t.xml", []byte(src), noEnv)
		var urlErr *Diagnostic
		for i := range ds {
			if ds[i].Code == "connector-url" {
				urlErr = &ds[i]
			}
		}
		if !tc.bad {
			if urlErr != nil {
				t.Errorf("%s: %v", tc.conn, urlErr)
			}
			continue
		}
		if urlErr == nil || urlErr.Severity != SeverityError || !strings.Contains(urlErr.Message, "https") {
			t.Errorf("%s: no connector-url error naming https: %v", tc.conn, ds)
		}
	}
}
