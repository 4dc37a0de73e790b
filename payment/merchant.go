package payment

import (
	"fmt"
	"slices"
	"strings"
)

// Merchant is who the caller pays, as the payment page and the link's text present it: the
// merchant's name, logo and support line, and the locale amounts are written for. A plan
// sets it with <Merchant> (for all its connectors, or inside one <Connector> for that one);
// serve's --merchant-* flags give the default.
type Merchant struct {
	Name    string // "Acme Water"
	Logo    string // path of a PNG, JPEG, GIF, WebP or SVG file, at most MaxLogoBytes ("" = none)
	Support string // how to reach the merchant: "0800 123 4567", "help@acme.example"
	Locale  string // how amounts are written: one of Locales() ("" = DefaultLocale)
}

// Limits of a Merchant's fields.
const (
	MaxMerchantName    = 80
	MaxMerchantSupport = 120
	MaxLogoBytes       = 64 << 10
	DefaultLocale      = "en-GB"
)

// CheckMerchant returns what is wrong with m, attribute by attribute ("name", "support",
// "locale"); the logo file is checked by whoever can read it (CheckLogo).
func CheckMerchant(m Merchant) []ConnectorProblem {
	var out []ConnectorProblem
	switch n := strings.TrimSpace(m.Name); {
	case n == "":
		out = append(out, ConnectorProblem{Attr: "name", Kind: ProblemMissing, Message: "<Merchant> needs a name (shown on the payment page and in the text)"})
	case len([]rune(n)) > MaxMerchantName:
		out = append(out, ConnectorProblem{Attr: "name", Kind: ProblemInvalid, Message: fmt.Sprintf("merchant name is longer than %d characters", MaxMerchantName)})
	case strings.ContainsAny(n, "\r\n\t"):
		out = append(out, ConnectorProblem{Attr: "name", Kind: ProblemInvalid, Message: "merchant name must be one line"})
	}
	if len([]rune(m.Support)) > MaxMerchantSupport {
		out = append(out, ConnectorProblem{Attr: "support", Kind: ProblemInvalid, Message: fmt.Sprintf("support line is longer than %d characters", MaxMerchantSupport)})
	} else if strings.ContainsAny(m.Support, "\r\n\t") {
		out = append(out, ConnectorProblem{Attr: "support", Kind: ProblemInvalid, Message: "support line must be one line"})
	}
	if m.Locale != "" {
		if _, ok := locales[m.Locale]; !ok {
			out = append(out, ConnectorProblem{Attr: "locale", Kind: ProblemInvalid,
				Message: fmt.Sprintf("locale %q: amounts can be written for %s", m.Locale, strings.Join(Locales(), ", "))})
		}
	}
	return out
}

// LogoType returns the media type of a logo file's bytes ("image/png", …), or an error saying
// why it cannot be a logo (too large, not an image format a browser shows from a data: URL).
func LogoType(b []byte) (string, error) {
	if len(b) > MaxLogoBytes {
		return "", fmt.Errorf("logo is %d bytes; at most %d KiB", len(b), MaxLogoBytes>>10)
	}
	switch {
	case len(b) >= 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n":
		return "image/png", nil
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return "image/jpeg", nil
	case len(b) >= 6 && (string(b[:6]) == "GIF87a" || string(b[:6]) == "GIF89a"):
		return "image/gif", nil
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "image/webp", nil
	}
	head := strings.ToLower(string(b[:min(len(b), 1024)]))
	if strings.Contains(head, "<svg") {
		return "image/svg+xml", nil
	}
	return "", fmt.Errorf("logo is not a PNG, JPEG, GIF, WebP or SVG image")
}

// locale is how one locale writes an amount of money (CLDR's standard currency pattern).
type locale struct {
	decimal, group string
	minGroup       int    // digits of the integer part before grouping starts (CLDR minimumGroupingDigits + 3)
	after          bool   // the symbol follows the number
	space          string // between number and symbol
	symbols        map[string]string
}

const nbsp = "\u00a0"

var locales = map[string]locale{
	"en-GB": {decimal: ".", group: ",", minGroup: 4, symbols: map[string]string{"GBP": "£", "EUR": "€", "USD": "US$", "JPY": "JP¥"}},
	"en-IE": {decimal: ".", group: ",", minGroup: 4, symbols: map[string]string{"GBP": "£", "EUR": "€", "USD": "US$"}},
	"en-US": {decimal: ".", group: ",", minGroup: 4, symbols: map[string]string{"USD": "$", "GBP": "£", "EUR": "€", "CAD": "CA$", "JPY": "¥"}},
	"en-CA": {decimal: ".", group: ",", minGroup: 4, symbols: map[string]string{"CAD": "$", "USD": "US$", "GBP": "£", "EUR": "€"}},
	"en-AU": {decimal: ".", group: ",", minGroup: 4, symbols: map[string]string{"AUD": "$", "USD": "USD", "GBP": "£", "EUR": "€"}},
	"es-ES": {decimal: ",", group: ".", minGroup: 5, after: true, space: nbsp, symbols: map[string]string{"EUR": "€", "USD": "US$", "GBP": "GBP"}},
	"es-US": {decimal: ".", group: ",", minGroup: 4, symbols: map[string]string{"USD": "$", "EUR": "€", "GBP": "GBP"}},
	"es-MX": {decimal: ".", group: ",", minGroup: 4, symbols: map[string]string{"MXN": "$", "USD": "USD", "EUR": "EUR"}},
	"fr-FR": {decimal: ",", group: "\u202f", minGroup: 4, after: true, space: nbsp, symbols: map[string]string{"EUR": "€", "GBP": "£GB", "USD": "$US"}},
	"fr-CA": {decimal: ",", group: nbsp, minGroup: 4, after: true, space: nbsp, symbols: map[string]string{"CAD": "$", "USD": "$ US", "EUR": "€"}},
	"de-DE": {decimal: ",", group: ".", minGroup: 4, after: true, space: nbsp, symbols: map[string]string{"EUR": "€", "GBP": "£", "USD": "$"}},
	"it-IT": {decimal: ",", group: ".", minGroup: 4, after: true, space: nbsp, symbols: map[string]string{"EUR": "€", "GBP": "£", "USD": "USD"}},
	"nl-NL": {decimal: ",", group: ".", minGroup: 4, space: nbsp, symbols: map[string]string{"EUR": "€", "GBP": "£", "USD": "US$"}},
	"pt-PT": {decimal: ",", group: nbsp, minGroup: 5, after: true, space: nbsp, symbols: map[string]string{"EUR": "€", "GBP": "£", "USD": "US$"}},
}

// Locales lists the locales FormatMoney writes amounts for, sorted.
func Locales() []string {
	out := make([]string, 0, len(locales))
	for k := range locales {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// FormatMoney writes an amount as people of loc read it: £1,234.50 (en-GB), 1234,50 € and
// 12.345,00 € (es-ES), 1 234,50 € (fr-FR), $1,234.50 (en-US). A currency without a symbol in
// loc is written with its code (GBP 12.50 in es-ES reads "12,50 GBP"). An unknown or empty loc
// is DefaultLocale. Spaces are the no-break spaces CLDR uses; SMSText makes them plain.
func FormatMoney(a Amount, loc string) string {
	l, ok := locales[loc]
	if !ok {
		l = locales[DefaultLocale]
	}
	plain := FormatAmount(a) // digits, '.', digits; '-' first when negative
	neg := strings.HasPrefix(plain, "-")
	plain = strings.TrimPrefix(plain, "-")
	whole, frac, _ := strings.Cut(plain, ".")
	if len(whole) >= l.minGroup {
		var b strings.Builder
		for i, c := range whole {
			if i > 0 && (len(whole)-i)%3 == 0 {
				b.WriteString(l.group)
			}
			b.WriteRune(c)
		}
		whole = b.String()
	}
	num := whole
	if frac != "" {
		num += l.decimal + frac
	}
	sym, ok := l.symbols[a.Currency]
	space := l.space
	if !ok {
		sym, space = a.Currency, nbsp // a code always stands apart from the number
	}
	var s string
	if l.after {
		s = num + space + sym
	} else {
		s = sym + space + num
	}
	if neg {
		s = "-" + s
	}
	return s
}

// SMSText makes s plain for a text message: the no-break spaces of FormatMoney become spaces
// (they are outside the GSM 7-bit alphabet and would make the text Unicode: fewer characters
// per part).
func SMSText(s string) string {
	return strings.NewReplacer(nbsp, " ", "\u202f", " ").Replace(s)
}
