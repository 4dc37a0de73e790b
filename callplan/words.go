package callplan

import (
	"fmt"
	"strconv"

	"github.com/paybridge/paybridge/payment"
)

// SayDigits and SayAmount build sentences from the bundled word prompts.

// spokenCurrencies are the currencies whose unit names the bundled pack can say. Others are
// spoken as a number with "point" and the minor digits.
var spokenCurrencies = []string{"GBP", "USD", "EUR"}

// digitPrompt is the prompt for one key: digit-0 … digit-9, digit-star, digit-hash ("" for
// other characters, which SayDigits skips).
func digitPrompt(c byte) string {
	switch {
	case c >= '0' && c <= '9':
		return "digit-" + string(c)
	case c == '*':
		return "digit-star"
	case c == '#':
		return "digit-hash"
	}
	return ""
}

// digitPrompts returns the prompts that say each key of s, skipping anything else (spaces,
// dashes, letters of a confirmation code).
func digitPrompts(s string) []string {
	out := make([]string, 0, len(s))
	for i := 0; i < len(s); i++ {
		if p := digitPrompt(s[i]); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// charPrompt is the prompt for one character of a code: the digit prompts, letter-a …
// letter-z (either case), char-underscore, char-dash, char-dot ("" for anything else).
func charPrompt(c byte) string {
	switch {
	case c >= 'a' && c <= 'z':
		return "letter-" + string(c)
	case c >= 'A' && c <= 'Z':
		return "letter-" + string(c-'A'+'a')
	case c == '_':
		return "char-underscore"
	case c == '-':
		return "char-dash"
	case c == '.':
		return "char-dot"
	}
	return digitPrompt(c)
}

// charPrompts returns the prompts that say s character by character, skipping what cannot be
// said (spaces, other punctuation).
func charPrompts(s string) []string {
	out := make([]string, 0, len(s))
	for i := 0; i < len(s); i++ {
		if p := charPrompt(s[i]); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// currencyWord is currency-<ISO>-major / -minor, with a -1 suffix for the singular.
func currencyWord(cur string, major bool, n int64) string {
	w := "currency-" + cur + "-minor"
	if major {
		w = "currency-" + cur + "-major"
	}
	if n == 1 {
		w += "-1"
	}
	return w
}

// numberWords says 0 ≤ n in British English: 1,234 → one thousand two hundred and thirty
// four. Numbers of a billion or more are said digit by digit.
func numberWords(n int64) []string {
	if n == 0 {
		return []string{"num-0"}
	}
	if n >= 1_000_000_000 || n < 0 {
		s := strconv.FormatInt(n, 10)
		out := make([]string, 0, len(s))
		for i := 0; i < len(s); i++ {
			if s[i] >= '0' && s[i] <= '9' {
				out = append(out, "num-"+string(s[i]))
			}
		}
		return out
	}
	var out []string
	for _, g := range []struct {
		div  int64
		word string
	}{{1_000_000, "million"}, {1_000, "thousand"}} {
		if n >= g.div {
			out = append(out, below1000(n/g.div, false)...)
			out = append(out, g.word)
			n %= g.div
		}
	}
	if n > 0 {
		out = append(out, below1000(n, len(out) > 0)...)
	}
	return out
}

// below1000 says 1 ≤ n < 1000; andFirst puts "and" before a number under 100 that follows a
// larger group ("one thousand and five").
func below1000(n int64, andFirst bool) []string {
	var out []string
	if n >= 100 {
		out = append(out, "num-"+strconv.FormatInt(n/100, 10), "hundred")
		n %= 100
		if n > 0 {
			out = append(out, "and")
		}
	} else if andFirst && n > 0 {
		out = append(out, "and")
	}
	switch {
	case n == 0:
	case n < 20:
		out = append(out, "num-"+strconv.FormatInt(n, 10))
	default:
		out = append(out, "num-"+strconv.FormatInt(n/10*10, 10))
		if n%10 > 0 {
			out = append(out, "num-"+strconv.FormatInt(n%10, 10))
		}
	}
	return out
}

// amountPrompts says a decimal amount in currency: "12.50" GBP → twelve pounds and fifty
// pence; without a currency, or in one the pack cannot name, "12.50" → twelve point five
// zero.
func amountPrompts(value, currency string) ([]string, error) {
	cur := currency
	if cur == "" {
		cur = "XXX"
	}
	units, known := payment.CurrencyMinorUnits(cur)
	if !known {
		if currency != "" {
			return nil, fmt.Errorf("%w: unknown currency %q", payment.ErrAmount, currency)
		}
		units = 2 // no currency: accept up to two decimals
	}
	a, err := parseAmountUnits(value, units)
	if err != nil {
		return nil, err
	}
	pow := int64(1)
	for i := 0; i < units; i++ {
		pow *= 10
	}
	major, minor := a/pow, a%pow
	if containsString(spokenCurrencies, currency) {
		var out []string
		if major > 0 || minor == 0 {
			out = append(out, numberWords(major)...)
			out = append(out, currencyWord(currency, true, major))
		}
		if minor > 0 {
			if major > 0 {
				out = append(out, "and")
			}
			out = append(out, numberWords(minor)...)
			out = append(out, currencyWord(currency, false, minor))
		}
		return out, nil
	}
	out := numberWords(major)
	if minor > 0 {
		out = append(out, "point")
		s := strconv.FormatInt(minor+pow, 10)[1:] // zero-padded to units digits
		for i := 0; i < len(s); i++ {
			out = append(out, "num-"+string(s[i]))
		}
	}
	return out, nil
}

// parseAmountUnits parses a non-negative decimal into units decimal places, via ParseAmount
// on a currency with that many places.
func parseAmountUnits(value string, units int) (int64, error) {
	cur := map[int]string{0: "JPY", 2: "GBP", 3: "KWD", 4: "CLF"}[units]
	if cur == "" {
		return 0, fmt.Errorf("%w: unsupported precision %d", payment.ErrAmount, units)
	}
	a, err := payment.ParseAmount(value, cur)
	if err != nil {
		return 0, err
	}
	return a.Minor, nil
}

// Prompts returns the bundled prompts that say value (the step's Value, expanded) key by key:
// digit-0 … digit-9, digit-star, digit-hash; anything else is skipped.
func (s *SayDigitsStep) Prompts(value string) []string { return digitPrompts(value) }

// Prompts returns the bundled prompts that say value (the step's Value, expanded) character
// by character: digits, letters and the separators of confirmation codes; anything else is
// skipped.
func (s *SayCharactersStep) Prompts(value string) []string { return charPrompts(value) }

// Prompts returns the bundled prompts that say the decimal amount value in currency (the
// step's Value and Currency, expanded): "12.50" GBP → twelve pounds and fifty pence. The error
// wraps payment.ErrAmount when value is not an amount in that currency.
func (s *SayAmountStep) Prompts(value, currency string) ([]string, error) {
	return amountPrompts(value, currency)
}
