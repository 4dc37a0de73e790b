package payment

import (
	"fmt"
	"strings"
	"testing"
)

func TestFormatMoney(t *testing.T) {
	for _, c := range []struct {
		minor    int64
		cur, loc string
		want     string
	}{
		{1234, "GBP", "en-GB", "£12.34"},
		{123450, "GBP", "en-GB", "£1,234.50"},
		{123456789, "GBP", "", "£1,234,567.89"}, // the default locale
		{5, "GBP", "en-GB", "£0.05"},
		{1234, "USD", "en-GB", "US$12.34"},
		{1234, "USD", "en-US", "$12.34"},
		{500, "JPY", "en-US", "¥500"},
		{1500, "KWD", "en-GB", "KWD\u00a01.500"},   // no symbol: the code, apart
		{123450, "EUR", "es-ES", "1234,50\u00a0€"}, // Spanish groups from five digits
		{1234500, "EUR", "es-ES", "12.345,00\u00a0€"},
		{1234, "GBP", "es-ES", "12,34\u00a0GBP"},
		{123450, "EUR", "fr-FR", "1\u202f234,50\u00a0€"},
		{123450, "EUR", "de-DE", "1.234,50\u00a0€"},
		{123450, "EUR", "nl-NL", "€\u00a01.234,50"},
		{-1234, "GBP", "en-GB", "-£12.34"},
		{1234, "GBP", "xx-XX", "£12.34"}, // unknown: the default
	} {
		if got := FormatMoney(Amount{Minor: c.minor, Currency: c.cur}, c.loc); got != c.want {
			t.Errorf("FormatMoney(%d %s, %q) = %q, want %q", c.minor, c.cur, c.loc, got, c.want)
		}
	}
	if got := SMSText(FormatMoney(Amount{Minor: 123450, Currency: "EUR"}, "fr-FR")); got != "1 234,50 €" {
		t.Errorf("SMSText = %q", got)
	}
}

func TestCheckMerchant(t *testing.T) {
	if p := CheckMerchant(Merchant{Name: "Acme Water", Support: "0800 123 4567", Locale: "es-ES"}); len(p) != 0 {
		t.Errorf("a good merchant: %v", p)
	}
	for _, c := range []struct {
		m          Merchant
		attr, text string
	}{
		{Merchant{}, "name", "needs a name"},
		{Merchant{Name: strings.Repeat("x", 81)}, "name", "longer than 80"},
		{Merchant{Name: "A\nB"}, "name", "one line"},
		{Merchant{Name: "A", Support: strings.Repeat("x", 121)}, "support", "longer than 120"},
		{Merchant{Name: "A", Locale: "en_GB"}, "locale", "en-GB, en-IE"},
	} {
		p := CheckMerchant(c.m)
		if len(p) != 1 || p[0].Attr != c.attr || !strings.Contains(p[0].Message, c.text) {
			t.Errorf("CheckMerchant(%+v) = %v, want one problem with %s: %q", c.m, p, c.attr, c.text)
		}
	}
}

func TestLogoType(t *testing.T) {
	for _, c := range []struct {
		head, want string
	}{
		{"\x89PNG\r\n\x1a\n....", "image/png"},
		{"\xff\xd8\xff\xe0", "image/jpeg"},
		{"GIF89a", "image/gif"},
		{"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"},
		{`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`, "image/svg+xml"},
	} {
		if got, err := LogoType([]byte(c.head)); got != c.want || err != nil {
			t.Errorf("LogoType(%q) = %q, %v; want %s", c.head, got, err, c.want)
		}
	}
	if _, err := LogoType([]byte("<html>not an image</html>")); err == nil {
		t.Error("an HTML file taken for a logo")
	}
	if _, err := LogoType(append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, MaxLogoBytes)...)); err == nil || !strings.Contains(err.Error(), "64 KiB") {
		t.Errorf("an oversized logo: %v", err)
	}
}

func ExampleFormatMoney() {
	a := Amount{Minor: 123450, Currency: "EUR"}
	fmt.Println(FormatMoney(a, "en-GB"))
	fmt.Println(SMSText(FormatMoney(a, "de-DE")))
	// Output:
	// €1,234.50
	// 1.234,50 €
}
