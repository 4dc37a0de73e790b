package gateway_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
)

// A connector pays through the sandbox over real HTTP, as it would through a provider.
func ExampleConnectors() {
	srv := httptest.NewServer(sandbox.New(sandbox.Config{}))
	defer srv.Close()
	attempts := gateway.NewMemoryStore()
	cs := gateway.NewConnectors(gateway.ConnectorsConfig{SandboxURL: srv.URL, Attempts: attempts})
	conn, err := cs.Open(&payment.ConnectorSpec{Name: "provider", Type: "session", BaseURL: "sandbox", Account: "acct",
		ClientCredentials: &payment.ClientCredentials{ClientID: "demo", ClientSecret: "demo", Scope: "globalpci"}})
	if err != nil {
		panic(err)
	}
	number := &pan.SecureBuffer{}
	for _, d := range []byte("4242424242424242") {
		_ = number.Append(d)
	}
	defer number.Wipe()
	res, err := conn.Pay(context.Background(), &payment.Request{
		CallID: "call-1", IdempotencyKey: "call-1-pay-1", Amount: payment.Amount{Minor: 1234, Currency: "GBP"},
		Card: payment.Card{Number: number, ExpMonth: 12, ExpYear: 2099},
	})
	if err != nil {
		panic(err)
	}
	a, _ := attempts.GetAttempt(context.Background(), "call-1-pay-1")
	fmt.Println(res.Status, a.State, a.MaskedCard)
	// Output: approved approved ************4242
}

func ExampleVerifySignature() {
	body := []byte(`{"id":"evt_1","type":"pay.completed"}`)
	header := gateway.Sign(body, "whsec_demo", timeNow())
	fmt.Println(gateway.VerifySignature(header, body, "whsec_demo", 300e9))
	fmt.Println(gateway.VerifySignature(header, []byte(`{"forged":true}`), "whsec_demo", 300e9) != nil)
	// Output:
	// <nil>
	// true
}

var timeNow = time.Now
