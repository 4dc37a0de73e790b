package gateway

import (
	"testing"

	"github.com/paybridge/paybridge/payment"
)

// goldenKeys are connector keys as paybridge has stored them (in payment sessions, links,
// attempts and the ledger): computing them differently must not change one byte, or records
// would stop finding their connector.
var goldenKeys = []struct {
	spec payment.ConnectorSpec
	key  string
}{
	{payment.ConnectorSpec{Plan: "loadtest-pay", Name: "provider", Type: "session", BaseURL: "http://127.0.0.1:9/x", Account: "loadtest",
		ClientCredentials: &payment.ClientCredentials{ClientID: "loadtest", ClientSecret: "sandbox-secret"}}, "loadtest-pay/provider#67d279a47547dbe9"},
	{payment.ConnectorSpec{Plan: "p", Name: "provider", Type: "session", BaseURL: "sandbox", Account: "acct-1",
		ClientCredentials: &payment.ClientCredentials{TokenURL: "https://auth.example/t", ClientID: "id", ClientSecret: "s", Scope: "globalpci"}}, "p/provider#9d035f730ae1b910"},
	{payment.ConnectorSpec{Name: "g", Type: "generic", BaseURL: "https://pay.example/charge", BasicAuth: &payment.BasicAuth{Username: "m", Password: "p"}}, "-/g#5307272a6685cc98"},
	{payment.ConnectorSpec{Plan: "shop", Name: "stripe", Type: "stripe", BaseURL: "sandbox", APIKey: "sk_test_123"}, "shop/stripe#d02f401e7cbd5873"},
	{payment.ConnectorSpec{Plan: "ünï", Name: "x;1:", Type: "generic", BaseURL: "", Account: "a;b:c"}, "ünï/x;1:#34fdc300654c099c"},
}

func TestConnectorKeyGolden(t *testing.T) {
	for _, g := range goldenKeys {
		if got := ConnectorKey(g.spec); got != g.key {
			t.Errorf("ConnectorKey(%s/%s) = %q, want %q (as stored)", g.spec.Plan, g.spec.Name, got, g.key)
		}
	}
}

// BenchmarkConnectorKey is the key of the load test's connector, computed each time a call
// opens its connector.
//
//	go test ./gateway -run '^$' -bench ConnectorKey -benchmem -count 6
func BenchmarkConnectorKey(b *testing.B) {
	spec := goldenKeys[0].spec
	for b.Loop() {
		_ = ConnectorKey(spec)
	}
}
