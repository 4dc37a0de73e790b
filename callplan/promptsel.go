package callplan

import (
	"slices"
	"strconv"

	"github.com/paybridge/paybridge/pan"
)

// Prompt selection for Pay: the plan's most specific <Prompt> wins, and the bundled pack
// has a default for every field × error type (× amex for the security code).

// payAsk is the situation a Pay prompt is chosen for.
type payAsk struct {
	Field     string // a payFields entry
	ErrorType string // "" on the first ask of a field, else why the previous entry failed
	CardType  string // brand of the number entered so far ("" before it is known)
	Attempt   int    // 1-based attempt of this field
}

// PromptFor returns the prompts (names, possibly $(…) templates, or speech) a Pay step plays
// to ask for field — payment-card-number, expiration-date, security-code or postal-code — on
// attempt (1-based) after errorType ("" on the first ask), for a card of brand cardType (""
// before the number is known): the step's most specific <Prompt>, else the bundled default.
func (s *PayStep) PromptFor(field, errorType, cardType string, attempt int) []PromptItem {
	items, _ := selectPayPrompt(s.Prompts, payAsk{Field: field, ErrorType: errorType, CardType: cardType, Attempt: attempt})
	return items
}

// selectPayPrompt returns the prompt names to play for ask, and whether they came from the
// plan (false = the bundled default).
//
// A <Prompt> matches when its for equals the field, its errorType list contains the error
// type (an empty list matches only the first ask, as in TwiML), and its cardType and attempt
// lists — when present — contain the card type and attempt. Among matches the most specific
// wins: an errorType outranks a cardType, which outranks an attempt; ties go to the first in
// document order.
func selectPayPrompt(prompts []*PayPrompt, ask payAsk) ([]PromptItem, bool) {
	best, bestScore := (*PayPrompt)(nil), -1
	for _, p := range prompts {
		if p.For != ask.Field || p.RequireMatching {
			continue
		}
		score := 0
		if len(p.ErrorType) == 0 {
			if ask.ErrorType != "" {
				continue
			}
		} else {
			if !containsString(p.ErrorType, ask.ErrorType) {
				continue
			}
			score += 4
		}
		if len(p.CardType) > 0 {
			if !containsString(p.CardType, ask.CardType) {
				continue
			}
			score += 2
		}
		if len(p.Attempt) > 0 {
			if !slices.Contains(p.Attempt, ask.Attempt) {
				continue
			}
			score++
		}
		if score > bestScore {
			best, bestScore = p, score
		}
	}
	if best != nil && len(best.Prompt) > 0 {
		return best.Prompt, true
	}
	return namedItems(defaultPayPrompt(ask)), false
}

// namedItems turns prompt names into prompt items.
func namedItems(names []string) []PromptItem {
	out := make([]PromptItem, len(names))
	for i, n := range names {
		out[i].Name = n
	}
	return out
}

// ConfirmPromptFor returns the prompts that ask for field a second time (requireMatchingInputs):
// the step's <Prompt for="field" requireMatchingInputs="true"> (narrowed by attempt when it
// says), else the bundled pay-<field>-confirm.
func (s *PayStep) ConfirmPromptFor(field string, attempt int) []PromptItem {
	var best *PayPrompt
	for _, p := range s.Prompts {
		if p.For != field || !p.RequireMatching {
			continue
		}
		if len(p.Attempt) > 0 && !slices.Contains(p.Attempt, attempt) {
			continue
		}
		if best == nil || len(p.Attempt) > 0 && len(best.Attempt) == 0 {
			best = p
		}
	}
	if best != nil && len(best.Prompt) > 0 {
		return best.Prompt
	}
	return namedItems([]string{"pay-" + field + "-confirm"})
}

// defaultPayPrompt is the bundled prompt for ask: pay-<field> for the first ask
// (pay-security-code-amex for an amex card), pay-<field>-<errorType> after an error the field
// can produce, and pay-invalid-entry followed by pay-<field> for any other combination.
func defaultPayPrompt(ask payAsk) []string {
	switch {
	case ask.ErrorType == "" && ask.Field == FieldSecurityCode && ask.CardType == pan.BrandAmex:
		return []string{"pay-security-code-amex"}
	case ask.ErrorType == "":
		return []string{"pay-" + ask.Field}
	case containsString(fieldErrorTypes[ask.Field], ask.ErrorType):
		return []string{"pay-" + ask.Field + "-" + ask.ErrorType}
	}
	return []string{"pay-invalid-entry", "pay-" + ask.Field}
}

// Names of the other bundled prompts the engine plays by itself.
const (
	PromptPayProcessing = "pay-processing"
	PromptGatherInvalid = "gather-invalid"
	PromptGatherTimeout = "gather-timeout"
	PromptMenuInvalid   = "menu-invalid"
	PromptMenuTimeout   = "menu-timeout"
)

// DefaultPrompts lists every prompt name the engine can choose by itself (Pay defaults for
// every field × error type, Gather/Menu defaults, SayDigits and SayAmount words), so that a
// prompt pack can be checked for completeness.
func DefaultPrompts() []string {
	seen := map[string]bool{}
	var out []string
	add := func(names ...string) {
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	for _, f := range payFields {
		for _, ct := range append([]string{""}, cardTypes...) {
			add(defaultPayPrompt(payAsk{Field: f, CardType: ct})...)
			for _, et := range payErrorTypes {
				add(defaultPayPrompt(payAsk{Field: f, ErrorType: et, CardType: ct})...)
			}
		}
	}
	for _, f := range bankFields {
		add("pay-" + f + "-confirm")
	}
	add(PromptPayProcessing, PromptGatherInvalid, PromptGatherTimeout, PromptMenuInvalid, PromptMenuTimeout)
	for _, k := range "0123456789*#" {
		add(digitPrompt(byte(k)))
	}
	for _, c := range "abcdefghijklmnopqrstuvwxyz_-." {
		add(charPrompt(byte(c)))
	}
	for i := 0; i < 20; i++ {
		add("num-" + strconv.Itoa(i))
	}
	for i := 20; i < 100; i += 10 {
		add("num-" + strconv.Itoa(i))
	}
	add("hundred", "thousand", "million", "and", "point", "minus")
	for _, c := range spokenCurrencies {
		add(currencyWord(c, true, 1), currencyWord(c, true, 2), currencyWord(c, false, 1), currencyWord(c, false, 2))
	}
	return out
}

func containsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
