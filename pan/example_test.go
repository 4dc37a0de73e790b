package pan_test

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/paybridge/paybridge/pan"
)

// Digits go into a SecureBuffer one keypress at a time; every way of printing it shows the
// mask; Wipe zeroes it.
func ExampleSecureBuffer() {
	var b pan.SecureBuffer
	for _, c := range []byte("4242424242424242") {
		_ = b.Append(c)
	}
	fmt.Println(b.Len(), b.String())
	fmt.Printf("%v %q %#v\n", &b, &b, &b)
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	logger.Info("card keyed", "card", &b)
	b.Wipe()
	fmt.Println(b.Len())
	// Output:
	// 16 ************4242
	// ************4242 ************4242 pan.SecureBuffer(************4242)
	// level=INFO msg="card keyed" card=************4242
	// 0
}

// A connector copies the digits once, into the request body it sends, and zeroes the body
// when the request is done.
func ExampleSecureBuffer_AppendTo() {
	var b pan.SecureBuffer
	for _, c := range []byte("378282246310005") {
		_ = b.Append(c)
	}
	body := b.AppendTo([]byte(`{"number":"`))
	body = append(body, `"}`...)
	// … send body …
	pan.Zero(body)
	b.Wipe()
	fmt.Println(len(body), body[0] == 0)
	// Output:
	// 28 true
}

// Redact masks what could be card data in any text bound for a log, a record or a trace.
func ExampleRedact() {
	for _, s := range []string{
		"provider: card 4242 4242 4242 4242 declined (HTTP 402)",
		"cvv 123, exp 12/30",
		"call 3f2a9c0e41d84b7a from +441632960000 at 2026-11-22T10:00:00Z",
	} {
		fmt.Println(pan.Redact(s))
	}
	// Output:
	// provider: card ************4242 declined (HTTP 402)
	// cvv ***, exp ****
	// call 3f2a9c0e41d84b7a from +441632960000 at 2026-11-22T10:00:00Z
}

// RedactJSON keeps a document valid: a masked number becomes a string, and a key such as
// "cvc" announces the value after it.
func ExampleRedactJSON() {
	fmt.Println(string(pan.RedactJSON([]byte(`{"number":4242424242424242,"cvc":"123","amount":1050}`))))
	// Output:
	// {"number":"************4242","cvc":"***","amount":1050}
}

// CheckNumber tells the brand and whether it is accepted, from digits a secure buffer lends.
func ExampleCheckNumber() {
	for _, n := range []string{"4242424242424242", "378282246310005", "4242424242424241"} {
		brand, err := pan.CheckNumber([]byte(n), []string{pan.BrandVisa, pan.BrandMastercard})
		fmt.Println(brand, err)
	}
	// Output:
	// visa <nil>
	// amex pan: card brand not accepted
	// visa pan: not a valid card number
}

// CheckExpiry reads MMYY against a clock: a card is valid to the end of its expiry month.
func ExampleCheckExpiry() {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for _, e := range []string{"1126", "1026", "1330"} {
		m, y, err := pan.CheckExpiry([]byte(e), now)
		fmt.Println(m, y, err)
	}
	// Output:
	// 11 2026 <nil>
	// 0 0 pan: not a valid expiry date
	// 0 0 pan: not a valid expiry date
}

// The one mask: the last four of a card number's length, '*' for everything else.
func ExampleMask() {
	fmt.Println(pan.Mask([]byte("5555555555554444")), pan.Mask([]byte("123")), pan.ValidMask("****4444"))
	// Output:
	// ************4444 *** false
}

// The ABA checksum of a US routing number (ACH).
func ExampleCheckRoutingNumber() {
	fmt.Println(pan.CheckRoutingNumber([]byte("011000015")), pan.CheckRoutingNumber([]byte("011000016")))
	// Output:
	// <nil> pan: not a valid ABA routing number
}
