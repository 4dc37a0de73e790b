package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/paybridge/paybridge/internal/testlog"
	"github.com/paybridge/paybridge/payment"
)

// A hostile or buggy merchant endpoint that echoes the card number back — in a decline, in an
// error body — and tries to redirect the card elsewhere cannot make paybridge leak it.
func TestConnectorSurvivesHostileProvider(t *testing.T) {
	var stolen atomic.Int32
	thief := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { stolen.Add(1) }))
	defer thief.Close()
	mode := ""
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req map[string]any
		_ = json.Unmarshal(b, &req)
		pan, _ := req["cardnumber"].(string)
		switch mode {
		case "decline":
			fmt.Fprintf(w, `{"charge_id":null,"error_code":"bad_%s","error_message":"card %s declined"}`, pan, pan)
		case "400":
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"error_code":"invalid %s","error_message":"%s"}`, pan, pan)
		case "redirect":
			http.Redirect(w, r, thief.URL, http.StatusTemporaryRedirect)
		}
	}))
	defer merchant.Close()
	logs := &testlog.Buffer{}
	cs := NewConnectors(ConnectorsConfig{Attempts: NewMemoryStore(), Logger: newDebugLogger(logs)})
	c, err := cs.OpenConnector(&payment.ConnectorSpec{Name: "m", Type: "generic", BaseURL: merchant.URL,
		BasicAuth: &payment.BasicAuth{Username: "u", Password: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, m := range []string{"decline", "400", "redirect"} {
		mode = m
		res, err := c.Pay(context.Background(), &payment.Request{CallID: "c", IdempotencyKey: "k-" + m,
			Amount: payment.Amount{Minor: 100, Currency: "GBP"}, Card: card(t, "4242424242424242", "123")})
		fmt.Fprintf(&out, "%+v %v\n", res, err)
		if m == "decline" && (err != nil || res.Status != payment.Declined) {
			t.Fatalf("decline: %+v %v", res, err)
		}
		if m != "decline" && err == nil {
			t.Fatalf("%s: no error", m)
		}
	}
	if stolen.Load() != 0 {
		t.Fatal("the connector followed a redirect with the card body")
	}
	assertNoPAN(t, "results and errors", out.String())
	assertNoPAN(t, "logs", logs.String())
}
