package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The sandbox refuses card fields that are not plain digit strings (it never decodes escapes
// or spaces into a card number), reads form keys whether or not brackets are escaped, and
// declines nothing it cannot read.
func TestCardFields(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.token(t)
	post := func(path, ctype, body string, auth func(*http.Request)) int {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Idempotency-Key", "k-"+strconv.Itoa(len(body))+path)
		auth(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	bearer := func(k string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+k) }
	}
	basic := func(r *http.Request) { r.SetBasicAuth("m", "p") }
	sess := e.session(t, tok, "1.00")
	capture := "/globalpci/v1/session/" + sess + "/capture"
	for _, tc := range []struct {
		name, path, ctype, body string
		auth                    func(*http.Request)
		want                    int
	}{
		{"capture escaped digit", capture, "application/json", `{"cardNumber":"\u0034242424242424242","expiryMonth":12,"expiryYear":2031}`, bearer(tok), 400},
		{"capture spaced", capture, "application/json", `{"cardNumber":"4242 4242 4242 4242","expiryMonth":12,"expiryYear":2031}`, bearer(tok), 400},
		{"capture number as number", capture, "application/json", `{"cardNumber":4242424242424242,"expiryMonth":12,"expiryYear":2031}`, bearer(tok), 400},
		{"capture cvv letters", capture, "application/json", `{"cardNumber":"4242424242424242","securityCode":"12a","expiryMonth":12,"expiryYear":2031}`, bearer(tok), 400},
		{"capture ok", capture, "application/json", `{"cardNumber":"4242424242424242","securityCode":"123","expiryMonth":12,"expiryYear":2031}`, bearer(tok), 200},
		{"generic cvv letters", "/generic", "application/json", `{"transaction_id":"t1","method":"charge","cardnumber":"4242424242424242","cvv":"1x3","expiry_month":"12","expiry_year":"2031","amount":1,"currency_code":"GBP"}`, basic, 400},
		{"generic ok", "/generic", "application/json", `{"transaction_id":"t2","method":"charge","cardnumber":"4242424242424242","cvv":"123","expiry_month":"12","expiry_year":"2031","amount":1,"currency_code":"GBP"}`, basic, 200},
		{"stripe letters", "/v1/tokens", "application/x-www-form-urlencoded", "card[number]=4242x&card[exp_month]=12&card[exp_year]=2031", bearer("sk_test_x"), 400},
		{"stripe escaped keys and spaces", "/v1/tokens", "application/x-www-form-urlencoded", "card%5Bnumber%5D=4242+4242%204242-4242&card%5Bexp_month%5D=12&card%5Bexp_year%5D=2031&card%5Bcvc%5D=123", bearer("sk_test_x"), 200},
		{"stripe missing number", "/v1/tokens", "application/x-www-form-urlencoded", "card[exp_month]=12", bearer("sk_test_x"), 400},
		{"stripe too many digits", "/v1/tokens", "application/x-www-form-urlencoded", "card[number]=" + strings.Repeat("4", 25), bearer("sk_test_x"), 400},
	} {
		if got := post(tc.path, tc.ctype, tc.body, tc.auth); got != tc.want {
			t.Errorf("%s: HTTP %d, want %d", tc.name, got, tc.want)
		}
	}
	if n := len(e.p.Ledger()); n != 2 {
		t.Errorf("%d charges, want 2 (the two valid charges)", n)
	}
}

// FuzzCardFields: whatever the input, the card field decoders return digits only (or
// an error), never more than maxCardDigits, and never panic.
func FuzzCardFields(f *testing.F) {
	for _, s := range []string{`"4242424242424242"`, `null`, `"12a"`, `""`, `"\u0034"`, `4242`,
		"card[number]=4242+4242&card%5Bcvc%5D=123", "a=%zz&b", "=&&=", "card[number]=%3"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		check := func(d []byte) {
			if len(d) > maxCardDigits {
				t.Fatalf("%d digits", len(d))
			}
			for _, c := range d {
				if c < '0' || c > '9' {
					t.Fatalf("non-digit %q", c)
				}
			}
		}
		var d digitField
		if err := d.UnmarshalJSON(in); err == nil {
			check(d)
		}
		fields, err := splitForm(in)
		if err != nil {
			return
		}
		for _, fl := range fields {
			if d, err := formDigits(fl.val); err == nil {
				check(d)
			}
			_ = formInt(fl.val)
		}
	})
}

// A card request the sandbox has received takes effect even when the client gives up during
// the injected latency (as a provider's would): the crash tests count on in-flight payments
// being charged. Reading the card body first makes net/http watch the connection, so the
// latency must not end with the client.
func TestChargesAReceivedCardAfterTheClientLeft(t *testing.T) {
	e := newEnv(t, Config{Faults: Faults{Latency: 400 * time.Millisecond}})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/generic", strings.NewReader(`{"transaction_id":"left-1","method":"charge",`+
		`"cardnumber":"4242424242424242","cvv":"123","expiry_month":"12","expiry_year":"2031","amount":5.00,"currency_code":"GBP"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("m", "p")
	impatient := &http.Client{Timeout: 150 * time.Millisecond}
	if resp, err := impatient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("answered within 150ms (HTTP %d) despite 400ms of latency", resp.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, ch := range e.p.Ledger() {
			if ch.IdempotencyKey == "left-1" && ch.Status == "succeeded" {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the sandbox dropped a payment it had received because the client went away")
}
