package callplan

import (
	"strings"
	"testing"
)

func TestAmountPrompts(t *testing.T) {
	for _, tc := range []struct {
		value, cur, want string
	}{
		{"12.50", "GBP", "num-12 currency-GBP-major and num-50 currency-GBP-minor"},
		{"1.01", "GBP", "num-1 currency-GBP-major-1 and num-1 currency-GBP-minor-1"},
		{"0.75", "USD", "num-70 num-5 currency-USD-minor"},
		{"0", "EUR", "num-0 currency-EUR-major"},
		{"1005", "GBP", "num-1 thousand and num-5 currency-GBP-major"},
		{"2345678", "USD", "num-2 million num-3 hundred and num-40 num-5 thousand num-6 hundred and num-70 num-8 currency-USD-major"},
		{"12.5", "", "num-12 point num-5 num-0"},
		{"1500", "JPY", "num-1 thousand num-5 hundred"},
		{"3.250", "KWD", "num-3 point num-2 num-5 num-0"},
	} {
		got, err := amountPrompts(tc.value, tc.cur)
		if err != nil {
			t.Errorf("amountPrompts(%q,%q): %v", tc.value, tc.cur, err)
			continue
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("amountPrompts(%q,%q) = %v, want %s", tc.value, tc.cur, got, tc.want)
		}
	}
	for _, bad := range [][2]string{{"-1", "GBP"}, {"abc", "GBP"}, {"1.234", "GBP"}, {"1", "ZZZ"}} {
		if _, err := amountPrompts(bad[0], bad[1]); err == nil {
			t.Errorf("amountPrompts(%q,%q) accepted", bad[0], bad[1])
		}
	}
}

func TestDigitPrompts(t *testing.T) {
	if got := strings.Join(digitPrompts("AB-12*#"), " "); got != "digit-1 digit-2 digit-star digit-hash" {
		t.Errorf("digitPrompts = %s", got)
	}
}

func TestSelectPayPrompt(t *testing.T) {
	plan := []*PayPrompt{
		{For: FieldCardNumber, Prompt: namedItems([]string{"ask"})},
		{For: FieldCardNumber, ErrorType: []string{ErrTypeInvalidCardNumber}, Prompt: namedItems([]string{"bad"})},
		{For: FieldCardNumber, ErrorType: []string{ErrTypeInvalidCardNumber}, Attempt: []int{3}, Prompt: namedItems([]string{"bad-last"})},
		{For: FieldSecurityCode, CardType: []string{"amex"}, Prompt: namedItems([]string{"cvv-amex"})},
		{For: FieldSecurityCode, Attempt: []int{1}, Prompt: namedItems([]string{"cvv-first"})},
	}
	for _, tc := range []struct {
		ask    payAsk
		want   string
		custom bool
	}{
		{payAsk{Field: FieldCardNumber, Attempt: 1}, "ask", true},
		{payAsk{Field: FieldCardNumber, ErrorType: ErrTypeInvalidCardNumber, Attempt: 2}, "bad", true},
		{payAsk{Field: FieldCardNumber, ErrorType: ErrTypeInvalidCardNumber, Attempt: 3}, "bad-last", true},
		{payAsk{Field: FieldCardNumber, ErrorType: ErrTypeInputTimeout, Attempt: 2}, "pay-payment-card-number-input-timeout", false},
		{payAsk{Field: FieldSecurityCode, CardType: "amex", Attempt: 1}, "cvv-amex", true}, // cardType outranks attempt
		{payAsk{Field: FieldSecurityCode, CardType: "visa", Attempt: 1}, "cvv-first", true},
		{payAsk{Field: FieldSecurityCode, CardType: "visa", Attempt: 2}, "pay-security-code", false},
		{payAsk{Field: FieldExpirationDate, Attempt: 1}, "pay-expiration-date", false},
		{payAsk{Field: FieldExpirationDate, ErrorType: ErrTypeInvalidCardType}, "pay-invalid-entry pay-expiration-date", false},
	} {
		got, custom := selectPayPrompt(plan, tc.ask)
		if strings.Join(itemNames(got), " ") != tc.want || custom != tc.custom {
			t.Errorf("selectPayPrompt(%+v) = %v,%v want %s,%v", tc.ask, got, custom, tc.want, tc.custom)
		}
	}
	if got, _ := selectPayPrompt(nil, payAsk{Field: FieldSecurityCode, CardType: "amex"}); got[0].Name != "pay-security-code-amex" {
		t.Errorf("amex default = %v", got)
	}
}

// FuzzAmountPrompts: any amount either fails cleanly or is said with bundled words only.
func FuzzAmountPrompts(f *testing.F) {
	for _, s := range []string{"12.50", "0", "1000000", "999999999.99", "-1", "1e5", "", "0.01", "12,50"} {
		f.Add(s, "GBP")
		f.Add(s, "")
	}
	f.Add("1500", "JPY")
	f.Add("1.234", "KWD")
	bundled := map[string]bool{}
	for _, n := range DefaultPrompts() {
		bundled[n] = true
	}
	f.Fuzz(func(t *testing.T, value, cur string) {
		names, err := amountPrompts(value, cur)
		if err != nil {
			return
		}
		if len(names) == 0 {
			t.Fatalf("amount said with no words")
		}
		for _, n := range names {
			if !bundled[n] && !strings.HasPrefix(n, "currency-") {
				t.Fatalf("word %q is not a bundled prompt", n)
			}
		}
	})
}

// itemNames lists the names of prompt items ("say:" and the text for speech).
func itemNames(items []PromptItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Name
		if it.Say != nil {
			out[i] = "say:" + it.Say.String()
		}
	}
	return out
}
