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

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/internal/testlog"
)

func TestRedactDigits(t *testing.T) {
	cases := map[string]string{
		"":                                     "",
		"card_declined":                        "card_declined",
		"card 4242424242424242 declined":       "card [redacted] declined",
		"4242 4242 4242 4242":                  "[redacted]",
		"4242-4242-4242-4242!":                 "[redacted]!",
		"ref 12345678, HTTP 402":               "ref 12345678, HTTP 402",
		"a 378282246310005 b 5555555555554444": "a [redacted] b [redacted]",
		"2026-11-22 10:00":                     "2026-11-22 10:00",
	}
	for in, want := range cases {
		if got := redactDigits(in); got != want {
			t.Errorf("redactDigits(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzRedactDigits(f *testing.F) {
	f.Add("card 4242424242424242 declined")
	f.Add("4242 4242 4242 4242")
	f.Add("1-2-3-4-5-6-7-8-9-0-1-2")
	f.Fuzz(func(t *testing.T, s string) {
		out := redactDigits(s)
		run := 0
		for i := 0; i < len(out); i++ {
			if out[i] >= '0' && out[i] <= '9' {
				run++
				if run >= 12 {
					t.Fatalf("%q → %q keeps a 12-digit run", s, out)
				}
			} else if out[i] != ' ' && out[i] != '-' {
				run = 0
			}
		}
	})
}

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
	cs := NewConnectors(ConnectorsConfig{Attempts: NewMemoryLedger(), Logger: newDebugLogger(logs)})
	c, err := cs.OpenConnector(&callplan.ConnectorSpec{Name: "m", Type: "generic", BaseURL: merchant.URL,
		BasicAuth: &callplan.BasicAuth{Username: "u", Password: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, m := range []string{"decline", "400", "redirect"} {
		mode = m
		res, err := c.Pay(context.Background(), &callplan.PaymentRequest{CallID: "c", IdempotencyKey: "k-" + m,
			Amount: callplan.Amount{Minor: 100, Currency: "GBP"}, Card: card(t, "4242424242424242", "123")})
		fmt.Fprintf(&out, "%+v %v\n", res, err)
		if m == "decline" && (err != nil || res.Status != callplan.PaymentDeclined) {
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
