package pan

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// The redaction rule of doc.go, case by case: what must never get through, and what must.
func TestRedact(t *testing.T) {
	maestro12 := withCheck("5018", 12)
	tests := []struct{ name, in, want string }{
		// card numbers
		{"pan", "card 4242424242424242 declined", "card ************4242 declined"},
		{"pan alone", "4242424242424242", "************4242"},
		{"pan at the end of a sentence", "card 4242424242424242.", "card ************4242."},
		{"spaces", "4242 4242 4242 4242", "************4242"},
		{"dashes", "5555-5555-5555-4444 ok", "************4444 ok"},
		{"amex grouping", "3782-822463-10005", "***********0005"},
		{"amex", "amex 378282246310005", "amex ***********0005"},
		{"digit by digit", "keys 4 2 4 2 4 2 4 2 4 2 4 2 4 2 4 2", "keys ************4242"},
		{"two cards", "4242424242424242 and 5555555555554444", "************4242 and ************4444"},
		{"a mistyped card is masked", "4242424242424241", "************4241"},
		{"13 digits, no card", "1234567890123", "*********0123"},
		{"a card after a reference", "ref 1234 4242424242424242", "ref " + strings.Repeat("*", 20)},
		{"card + security code run together", "4242424242424242123", "***************2123"},
		{"too long for a card: no last four", "424242424242424242424242", strings.Repeat("*", 24)},
		{"12 digits that are a card", "maestro " + maestro12, "maestro ********" + maestro12[8:]},
		{"in a URL path", "GET /pay/4242424242424242/x", "GET /pay/************4242/x"},
		{"in a query", "?n=4242424242424242&x=1", "?n=************4242&x=1"},
		{"in JSON text", `{"n":"4242424242424242"}`, `{"n":"************4242"}`},
		{"after an underscore", "tok_4242424242424241", "tok_************4241"},
		{"negative", "-4242424242424242", "-************4242"},
		// phone numbers
		{"16 after + is no phone", "+4242424242424242", "+************4242"},
		{"a card after +", "+378282246310005", "+***********0005"},
		{"E.164", "+441632960000", "+441632960000"},
		{"E.164 spaced", "+44 20 7946 0958", "+44 20 7946 0958"},
		{"E.164 dashed", "+1-415-555-0100", "+1-415-555-0100"},
		{"national number", "call 07946 095800", "call 07946 095800"},
		{"12 digits, no card", "447946095800", "447946095800"},
		// identifiers
		{"glued card", "a4242424242424242b", "a************4242b"},
		{"glued mistyped card kept", "id ab4242424242424241cd", "id ab4242424242424241cd"},
		{"glued groups holding a card", "x1234 4242424242424242", "x" + strings.Repeat("*", 20)},
		{"hex call id", "call=3f2a9c0e41d84b7a9e0c1d2f", "call=3f2a9c0e41d84b7a9e0c1d2f"},
		{"hex id with a long digit run", "c9123456789012345678ab", "c9123456789012345678ab"},
		{"uuid", "550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b-41d4-a716-446655440000"},
		{"api key", "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "sk_test_4eC39HqLyjWDarjtT1zdp7dc"},
		{"escape \\n", `line\n4242424242424241`, `line\n************4241`},
		{"escape \\u", `\u00344242424242424242`, `\u` + strings.Repeat("*", 20)},
		{"escape %0A", "x%0A4242424242424241", "x%0A************4241"},
		{"escape %3a", "pan%3a4242424242424241", "pan%3a************4241"},
		// identifiers that spell a keyword and a value: a provider's ids come back as they are
		{"cv after a digit in a charge id", "ch_tisd4awikw6cv767", "ch_tisd4awikw6cv767"},
		{"upper-case id", "CH_TISD4AWIKW6CV767", "CH_TISD4AWIKW6CV767"},
		{"exp after a digit", "tok_2exp1230", "tok_2exp1230"},
		{"acct after a digit", "op_7acct12345678", "op_7acct12345678"},
		{"a value running into letters", "ch_cvv123abc", "ch_cvv123abc"},
		{"an expiry running into letters", "ch_exp12ab", "ch_exp12ab"},
		{"a card inside an id is still masked", "ch_6cv4242424242424242", "ch_6cv************4242"},
		// security codes
		{"cvv", "cvv 123", "cvv ***"},
		{"CVC colon", "CVC: 1234", "CVC: ****"},
		{"cvv2", "cvv2=123", "cvv2=***"},
		{"CVC2", "CVC2 123 ok", "CVC2 *** ok"},
		{"security code", "security code: 123", "security code: ***"},
		{"security-code", "security-code=321", "security-code=***"},
		{"camelCase", `"securityCode":"123"`, `"securityCode":"***"`},
		{"form field", "card[cvc]=123&x=1", "card[cvc]=***&x=1"},
		{"cardCvc", "cardCvc=999", "cardCvc=***"},
		{"glued to its keyword", "cvv123", "cvv***"},
		{"camelCase after a digit", "card1Cvc=123", "card1Cvc=***"},
		{"a keyword then a value glued on both sides", "cvc 123; exp12", "cvc ***; exp**"},
		{"cvv value too long is a card", "cvv 4242424242424242", "cvv ************4242"},
		{"cvv then a PAN in groups", "cvv: 1234 5678 9012 3456", "cvv: ************3456"},
		// expiries
		{"exp MM/YY", "exp 12/25", "exp ****"},
		{"expiry MM/YYYY", "expiry date: 12/2030", "expiry date: ******"},
		{"expiration MMYY", "Expiration 1230", "Expiration ****"},
		{"exp spaced", "expiry 12 / 30", "expiry ****"},
		{"exp_month, exp_year", "exp_month=12&exp_year=2030", "exp_month=**&exp_year=****"},
		{"expiry (MM/YY)", "expiry (MM/YY): 01/31", "expiry (MM/YY): ****"},
		// bank numbers
		{"routing", "routing 011000015", "routing *********"},
		{"ABA", "ABA: 021000021", "ABA: *********"},
		{"account number", "account number 000123456789", "account number ********6789"},
		{"acct", "acct no. 12345678", "acct no. ********"},
		// what survives
		{"empty", "", ""},
		{"no digits", "no digits here", "no digits here"},
		{"status", "HTTP 402 Payment Required", "HTTP 402 Payment Required"},
		{"amount", "amount 1050 GBP, 12.50", "amount 1050 GBP, 12.50"},
		{"duration and port", "took 1500ms on port 5060", "took 1500ms on port 5060"},
		{"RFC 3339", "time=2026-11-22T10:00:00.123456789+01:00", "time=2026-11-22T10:00:00.123456789+01:00"},
		{"date and time", "2026-11-22 10:00:00", "2026-11-22 10:00:00"},
		{"unix seconds", "at 1763805600", "at 1763805600"},
		{"addresses", "from 192.168.100.200:5060 via 10.0.0.1 10.0.0.2", "from 192.168.100.200:5060 via 10.0.0.1 10.0.0.2"},
		{"12 digits", "order 123456789012", "order 123456789012"},
		{"link expiry", "expiresAt 2026-11-22T10:00:00Z", "expiresAt 2026-11-22T10:00:00Z"},
		{"expiry that is a date", "expiry 2026-11-22", "expiry 2026-11-22"},
		{"field names", "field=security-code attempt=2", "field=security-code attempt=2"},
		{"field names 2", "field=expiration-date attempts 3", "field=expiration-date attempts 3"},
		{"keyword out of reach", "cvv check failed after 2 tries", "cvv check failed after 2 tries"},
		{"keyword too far", "cvv " + strings.Repeat(".", 30) + " 123", "cvv " + strings.Repeat(".", 30) + " 123"},
		{"account count", "payment keys for 3 account(s)", "payment keys for 3 account(s)"},
		{"account with a small number", "sandbox account 2", "sandbox account 2"},
		{"export", "export 2024", "export 2024"},
		{"version", "go1.26.0 paybridge 0.4.1", "go1.26.0 paybridge 0.4.1"},
		{"positions", "plan.xml:12:5: bad", "plan.xml:12:5: bad"},
		{"mask stays a mask", "************4242", "************4242"},
		{"account mask stays a mask", `{"maskedAccount":"********6789"}`, `{"maskedAccount":"********6789"}`},
		{"account mask in words", "account ****6789", "account ****6789"},
		{"account digits after a star", "account *000123456789", "account *********6789"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("%s: Redact(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
		if len(Redact(tt.in)) > len(tt.in) {
			t.Errorf("%s: the output is longer than the input", tt.name)
		}
	}
}

// Redact returns its input, not a copy, when nothing is masked: a log line costs nothing.
func TestRedactNoCopy(t *testing.T) {
	s := strings.Repeat("call 3f2a9c0e41d84b7a answered in 1500ms ", 4)
	if allocs := testing.AllocsPerRun(100, func() { _ = Redact(s) }); allocs != 0 {
		t.Errorf("Redact allocated %.0f times on clean text", allocs)
	}
}

func TestRedactValue(t *testing.T) {
	for _, tc := range [][3]string{
		{"cvv", "123", "***"},
		{"card.cvc", "1234", "****"},
		{"exp_month", "12", "**"},
		{"routingNumber", "011000015", "*********"},
		{"pan", "4242424242424242", "************4242"},
		{"attempt", "123", "123"},
		{"cvv", "check 123", "check 123"},
		{"call", "3f2a9c0e41d84b7a9e0c1d2f", "3f2a9c0e41d84b7a9e0c1d2f"},
	} {
		if got := RedactValue(tc[0], tc[1]); got != tc[2] {
			t.Errorf("RedactValue(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}

func TestFindCard(t *testing.T) {
	for s, want := range map[string]int{
		"4242424242424242": 0, "pay 5555555555554444 now": 4, "378282246310005": 0, "4242 4242 4242 4242": 0,
		"x=2223003122003222": 2, "3782-822463-10005": 0, "ref 1234 4242 4242 4242 4242": 9, "ref 12 4242424242424242": 7,
		"a4242424242424242b": 1, "+4242424242424242": 1, withCheck("5018", 12): 0,
		"+441632960000": -1, "4242424242424241": -1, "1234567890123456": -1, "424242424242": -1,
		"7777777777777777777777": -1, "12345678": -1, "": -1, "cvv 123": -1, "4242424242424242424242": -1,
	} {
		if got := FindCard(s); got != want {
			t.Errorf("FindCard(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestRedactJSON(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"strings and numbers, order kept", `{"a":"4242424242424242","n":4242424242424242,"k":[1,"x 5555555555554444"],"ok":12}`,
			`{"a":"************4242","n":"************4242","k":[1,"x ************4444"],"ok":12}`},
		{"keys announce values", `{"cvc":"123","exp_month":12,"exp_year":2030,"amount":1050}`,
			`{"cvc":"***","exp_month":"**","exp_year":"****","amount":1050}`},
		{"nested", `{"card":{"number":"4242424242424242","cvc":"123"},"amountMinor":1050}`,
			`{"card":{"number":"************4242","cvc":"***"},"amountMinor":1050}`},
		{"escaped digits", `{"m":"card \u0034242424242424242"}`, `{"m":"card ************4242"}`},
		{"a card as a key", `{"4242424242424242":true}`, `{"************4242":true}`},
		{"top-level number", `4242424242424242`, `"************4242"`},
		{"array", `[4242424242424242, null, false]`, `["************4242",null,false]`},
		{"pretty", "{\n  \"cvv\": \"123\",\n  \"n\": 1\n}", `{"cvv":"***","n":1}`},
		{"not JSON", `not json 4242424242424242`, `not json ************4242`},
		{"two values are text", `{"a":1} {"n":"4242424242424242"}`, `{"a":1} {"n":"************4242"}`},
		{"broken JSON is text", `{"n":"4242424242424242"`, `{"n":"************4242"`},
	}
	for _, tt := range tests {
		if got := string(RedactJSON([]byte(tt.in))); got != tt.want {
			t.Errorf("%s: RedactJSON(%s) = %s, want %s", tt.name, tt.in, got, tt.want)
		}
	}
	// Nothing to mask: the very same bytes come back, escapes, spacing and order untouched.
	for _, in := range []string{
		`{"call_id":"3f2a9c0e41d84b7a9e0c1d2f","amount":1050,"time":"2026-11-22T10:00:00Z"}`,
		`{"msg":"line\nnext \u003c","field":"security-code","attempt":2}`,
		"{ \"b\": 1,\n \"a\": [1, 2] }", ``, `null`,
	} {
		raw := []byte(in)
		out := RedactJSON(raw)
		if string(out) != in || len(raw) > 0 && &out[0] != &raw[0] {
			t.Errorf("RedactJSON(%s) = %s, want the input itself", in, out)
		}
	}
}

// A provider's ids are random letters and digits (the sandbox's are 16 of base32, lower-case)
// and sooner or later one spells a keyword and its value; Redact must give every such id back
// unchanged, or a stored confirmation stops matching the provider's ledger. The control shows
// that the same keyword and value as words are masked: the check can see a masking.
func TestRedactKeepsProviderIDs(t *testing.T) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	rng := rand.New(rand.NewPCG(1, 2))
	randomPart := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	letter := func() string { return string(alphabet[rng.IntN(26)]) }
	planted := []struct{ keyword, value string }{
		{"cv", "767"}, {"cvv", "1234"}, {"cvc", "123"}, {"csc", "999"}, {"exp", "1230"}, {"exp", "12"},
		{"expiry", "0131"}, {"routing", "011000015"}, {"aba", "021000021"}, {"acct", "12345678"},
	}
	for i := 0; i < 20000; i++ {
		id := "ch_" + randomPart(16)
		if got := Redact(id); got != id {
			t.Fatalf("Redact(%q) = %q, want the id unchanged", id, got)
		}
		p := planted[i%len(planted)]
		// The keyword after a digit, inside the id, the value at its end or before more letters.
		head := randomPart(rng.IntN(8)) + digits(1)
		for _, id := range []string{
			"ch_" + head + p.keyword + p.value,
			"ch_" + head + strings.ToUpper(p.keyword) + p.value,
			"ch_" + randomPart(1+rng.IntN(8)) + digits(1) + p.keyword + p.value + randomPart(1+rng.IntN(4)),
			"ch_" + p.keyword + p.value + letter() + randomPart(rng.IntN(8)),
		} {
			if got := Redact(id); got != id {
				t.Fatalf("Redact(%q) = %q, want the id unchanged", id, got)
			}
			doc := `{"confirmationCode":"` + id + `"}`
			if got := string(RedactJSON([]byte(doc))); got != doc {
				t.Fatalf("RedactJSON(%s) = %s, want it unchanged", doc, got)
			}
		}
		// Control: the same keyword and value as words are masked.
		text := p.keyword + " " + p.value
		if got := Redact(text); got == text || strings.Contains(got, p.value) {
			t.Fatalf("control: Redact(%q) = %q, want the value masked", text, got)
		}
	}
}
