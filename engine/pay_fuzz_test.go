package engine

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/callplan"
)

// FuzzPay drives the Pay step with arbitrary key sequences and timing ('w'/'W' pauses, a
// hang-up point) and checks its invariants: it ends, with a TwiML result, with every buffer
// wiped, the secure window closed, and no run of the caller's digits in the outcome.
func FuzzPay(f *testing.F) {
	for _, s := range []string{"4242424242424242#1228123", "4242*", "", "#########", "378282246310005 0130 1234",
		"4242424242424241#WWW5555555555554444 1228 12 WWWWWW 123", "1111111111111111111111111", "12#34#56#"} {
		f.Add(s, uint16(0))
		f.Add(s, uint16(40))
	}
	plan, ds := callplan.Parse("fuzz.xml", []byte(payPlan(`postalCode="true" validCardTypes="visa mastercard amex discover jcb diners-club maestro unionpay"`, "")), nil)
	if ds.HasErrors() {
		f.Fatal(ds.String())
	}
	results := map[string]bool{}
	for _, r := range []string{callplan.PayResultSuccess, callplan.PayResultTooManyFailed, callplan.PayResultConnectorError,
		callplan.PayResultInterruptedStar, callplan.PayResultHungUp, callplan.PayResultValidationError, callplan.PayResultInternalError} {
		results[r] = true
	}
	f.Fuzz(func(t *testing.T, keys string, hangupTenths uint16) {
		var clean strings.Builder
		for i := 0; i < len(keys) && clean.Len() < 80; i++ {
			if strings.IndexByte("0123456789*#ABCDwW ", keys[i]) >= 0 {
				clean.WriteByte(keys[i])
			}
		}
		bufs := trackBuffers(t)
		h := newHarness(t)
		end := h.ch.press(300*time.Millisecond, clean.String())
		if hangupTenths > 0 {
			h.ch.hangupAt(time.Duration(hangupTenths) * 100 * time.Millisecond)
		} else {
			h.ch.hangupAt(end + 2*time.Minute)
		}
		out, err := Run(context.Background(), plan, h.ch, RunOptions{Clock: h.clock, Connectors: &fakeConnectors{conn: h.conn}, MaxSteps: 100})
		if err != nil {
			t.Fatal(err)
		}
		if r := out.Variables["Pay.Result"]; r != "" && !results[r] {
			t.Fatalf("Pay.Result %q is not a TwiML result", r)
		}
		if out.Result == ResultError {
			t.Fatalf("engine error: %s", out.Reason)
		}
		if s := h.ch.secure; len(s) > 0 && s[len(s)-1] {
			t.Fatalf("secure window left open: %v", s)
		}
		for _, b := range *bufs {
			if b.Len() != 0 {
				t.Fatalf("buffer not wiped")
			}
		}
		j, _ := json.Marshal(out)
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, clean.String())
		for i := 0; i+12 <= len(digits); i++ {
			if strings.Contains(string(j), digits[i:i+12]) {
				t.Fatalf("12 typed digits in a row reached the outcome")
			}
		}
	})
}
