package tts

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// say returns what a single segment becomes as plain words.
func say(t *testing.T, lang string, seg Segment) (string, error) {
	t.Helper()
	n, err := Request{Language: lang, Segments: []Segment{seg}}.Normalize()
	if err != nil {
		return "", err
	}
	sc, err := buildScript(n)
	if err != nil {
		return "", err
	}
	return sc.text(), nil
}

func TestSayAsWords(t *testing.T) {
	cur := func(s string) Segment { return Segment{SayAs: SayCurrency, Text: s} }
	date := func(s, f string) Segment { return Segment{SayAs: SayDate, Text: s, Format: f} }
	for _, tc := range []struct {
		lang string
		seg  Segment
		want string
	}{
		// Currency, en-GB: the British "pounds fifty".
		{"en-GB", cur("GBP 12.50"), "twelve pounds fifty"},
		{"en-GB", cur("£12.50"), "twelve pounds fifty"},
		{"en-GB", cur("12.50 GBP"), "twelve pounds fifty"},
		{"en-GB", Segment{SayAs: SayCurrency, Text: "12.5", Currency: "gbp"}, "twelve pounds fifty"},
		{"en-GB", cur("GBP 1.01"), "one pound one"},
		{"en-GB", cur("GBP 1"), "one pound"},
		{"en-GB", cur("GBP 0.01"), "one penny"},
		{"en-GB", cur("GBP 0.75"), "seventy five pence"},
		{"en-GB", cur("GBP 0"), "zero pounds"},
		{"en-GB", cur("GBP 1,234.05"), "one thousand two hundred and thirty four pounds five"},
		{"en-GB", cur("-£3.00"), "minus three pounds"},
		{"en-GB", cur("USD 12.50"), "twelve dollars and fifty cents"},
		{"en-GB", cur("$1.01"), "one dollar and one cent"},
		{"en-GB", cur("€2,000,000"), "two million euros"},
		{"en-GB", cur("EUR 101.99"), "one hundred and one euros and ninety nine cents"},
		{"en-US", cur("USD 105.20"), "one hundred five dollars and twenty cents"},
		// Currency, es-ES: gender agreement, "con", "de" after exact millions.
		{"es-ES", cur("GBP 12.50"), "doce libras con cincuenta peniques"},
		{"es-ES", cur("GBP 1"), "una libra"},
		{"es-ES", cur("GBP 21"), "veintiuna libras"},
		{"es-ES", cur("GBP 200"), "doscientas libras"},
		{"es-ES", cur("GBP 521,000"), "quinientas veintiuna mil libras"},
		{"es-ES", cur("GBP 0.01"), "un penique"},
		{"es-ES", cur("USD 21.31"), "veintiún dólares con treinta y un centavos"},
		{"es-ES", cur("USD 1,000,000"), "un millón de dólares"},
		{"es-ES", cur("USD 2,500,000"), "dos millones quinientos mil dólares"},
		{"es-ES", cur("€1.50"), "un euro con cincuenta céntimos"},
		{"es-ES", cur("EUR 100"), "cien euros"},
		{"es-ES", cur("EUR 115.16"), "ciento quince euros con dieciséis céntimos"},
		{"es-ES", cur("EUR 0.99"), "noventa y nueve céntimos"},
		{"es", cur("-EUR 7"), "menos siete euros"},
		// Dates.
		{"en-GB", date("2026-11-22", ""), "the twenty second of November twenty twenty six"},
		{"en-GB", date("01/03/2005", "dmy"), "the first of March two thousand and five"},
		{"en-GB", date("12/30", "my"), "December twenty thirty"},
		{"en-GB", date("19991231", "ymd"), "the thirty first of December nineteen ninety nine"},
		{"en-GB", date("1905-02-12", ""), "the twelfth of February nineteen oh five"},
		{"en-GB", date("29.2", "dm"), "the twenty ninth of February"},
		{"en-US", date("11/22/2026", "mdy"), "November twenty second twenty twenty six"},
		{"es-ES", date("2026-11-22", ""), "veintidós de noviembre de dos mil veintiséis"},
		{"es-ES", date("1/5/1999", "dmy"), "uno de mayo de mil novecientos noventa y nueve"},
		{"es-ES", date("2031-01", "ym"), "enero de dos mil treinta y uno"},
		// Digits and cardinals.
		{"en-GB", Segment{SayAs: SayDigits, Text: "0800 12*#"}, "zero eight zero zero, one two star hash"},
		{"es-ES", Segment{SayAs: SayDigits, Text: "+34-91"}, "más tres cuatro, nueve uno"},
		{"en-GB", Segment{SayAs: SayCardinal, Text: "1,005"}, "one thousand and five"},
		{"en-GB", Segment{SayAs: SayCardinal, Text: "-3.25"}, "minus three point two five"},
		{"en-GB", Segment{SayAs: SayCardinal, Text: "12345678901"}, "one two three four five six seven eight nine zero one"},
		{"es-ES", Segment{SayAs: SayCardinal, Text: "21"}, "veintiuno"},
		{"es-ES", Segment{SayAs: SayCardinal, Text: "101.5"}, "ciento uno coma cinco"},
		{"es-ES", Segment{SayAs: SayCardinal, Text: "21000"}, "veintiún mil"},
		// Characters: letters as capitals in the plain form, symbols named.
		{"en-GB", Segment{SayAs: SayCharacters, Text: "ch_6dy"}, "C H underscore six D Y"},
		{"en-GB", Segment{SayAs: SayCharacters, Text: "AB-12 x.y@z"}, "A B dash one two, X dot Y at Z"},
		{"es-ES", Segment{SayAs: SayCharacters, Text: "ch_6ñ"}, "C H guion bajo seis Ñ"},
		// Plain text is left to the engine, whitespace folded.
		{"en-GB", Segment{Text: "  Your  balance\nis "}, "Your balance is"},
	} {
		got, err := say(t, tc.lang, tc.seg)
		if err != nil {
			t.Errorf("%s %s %q: %v", tc.lang, tc.seg.SayAs, tc.seg.Text, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s %s %q:\n got %q\nwant %q", tc.lang, tc.seg.SayAs, tc.seg.Text, got, tc.want)
		}
	}
}

func TestSayAsRefusals(t *testing.T) {
	for _, tc := range []struct {
		lang string
		seg  Segment
		want string
	}{
		{"en-GB", Segment{SayAs: SayCurrency, Text: "12.50"}, "no currency"},
		{"en-GB", Segment{SayAs: SayCurrency, Text: "JPY 1200"}, `currency "JPY" cannot be spoken in English`},
		{"es-ES", Segment{SayAs: SayCurrency, Text: "CHF 3"}, `currency "CHF" cannot be spoken in Spanish`},
		{"en-GB", Segment{SayAs: SayCurrency, Text: "GBP 12.505"}, "at most two decimals"},
		{"en-GB", Segment{SayAs: SayCurrency, Text: "GBP 1,23"}, "is not a number"},
		{"en-GB", Segment{SayAs: SayCurrency, Text: "USD 5", Currency: "GBP"}, "amount in USD but currency GBP"},
		{"en-GB", Segment{SayAs: SayCurrency, Text: "GBP 1000000000"}, "a billion or more"},
		{"en-GB", Segment{SayAs: SayDate, Text: "2026-02-30"}, "not a day of the calendar"},
		{"en-GB", Segment{SayAs: SayDate, Text: "2026-13-01"}, "no such month"},
		{"en-GB", Segment{SayAs: SayDate, Text: "22/11/2026"}, "not a date in ymd order"},
		{"en-GB", Segment{SayAs: SayDate, Text: "2026-11-22", Format: "iso"}, `date format "iso"`},
		{"en-GB", Segment{SayAs: SayDigits, Text: "12a4"}, `'a' is not a digit`},
		{"en-GB", Segment{SayAs: SayDigits, Text: " - "}, "no digits"},
		{"en-GB", Segment{SayAs: SayCharacters, Text: "a%b"}, `cannot spell '%'`},
		{"en-GB", Segment{SayAs: SayCardinal, Text: "12x"}, "is not a number"},
		{"en-GB", Segment{SayAs: "ordinal", Text: "3"}, `say-as "ordinal"`},
	} {
		_, err := say(t, tc.lang, tc.seg)
		if !errors.Is(err, ErrSayAs) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s %q: %v, want ErrSayAs with %q", tc.lang, tc.seg.SayAs, tc.seg.Text, err, tc.want)
		}
	}
}

func TestNormalizeAndKey(t *testing.T) {
	n, err := Request{Text: "Hello", Language: "en_gb"}.Normalize()
	if err != nil || n.Language != "en-GB" || n.Rate != DefaultRate || len(n.Segments) != 1 || n.Text != "" {
		t.Fatalf("normalised: %+v %v", n, err)
	}
	for _, tc := range []struct {
		r    Request
		want error
	}{
		{Request{Language: "en-GB"}, ErrRequest},
		{Request{Text: "x", Language: "fr-FR"}, ErrLanguage},
		{Request{Text: "x", Language: "en GB"}, ErrLanguage},
		{Request{Text: "x", Rate: 30}, ErrRequest},
		{Request{Text: "x", Voice: "../../etc"}, ErrVoice},
		{Request{Text: strings.Repeat("x", MaxTextBytes+1)}, ErrRequest},
		{Request{Text: "\xff"}, ErrRequest},
		{Request{Segments: []Segment{{SayAs: SayBreak, Pause: time.Minute}}}, ErrRequest},
		{Request{Segments: make([]Segment, MaxSegments+1)}, ErrRequest},
	} {
		if _, err := tc.r.Normalize(); !errors.Is(err, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.r, err, tc.want)
		}
	}
	a, _ := Request{Text: "Hello", Language: "en-gb"}.Normalize()
	b, _ := Request{Segments: []Segment{{Text: "Hello"}}, Language: "en-GB", Rate: DefaultRate}.Normalize()
	if a.Key("e") != b.Key("e") {
		t.Fatal("equivalent requests have different keys")
	}
	keys := map[string]string{}
	for name, r := range map[string]Request{
		"base":     a,
		"voice":    {Language: "en-GB", Rate: 165, Voice: "en-us", Segments: a.Segments},
		"language": {Language: "en-US", Rate: 165, Segments: a.Segments},
		"rate":     {Language: "en-GB", Rate: 166, Segments: a.Segments},
		"text":     {Language: "en-GB", Rate: 165, Segments: []Segment{{Text: "Hello!"}}},
		"say-as":   {Language: "en-GB", Rate: 165, Segments: []Segment{{SayAs: SayCharacters, Text: "Hello"}}},
		"split":    {Language: "en-GB", Rate: 165, Segments: []Segment{{Text: "Hel"}, {Text: "lo"}}},
	} {
		k := r.Key("e")
		if other, dup := keys[k]; dup {
			t.Errorf("%s and %s share a key", name, other)
		}
		keys[k] = name
	}
	if a.Key("espeak-ng 1.51") == a.Key("espeak-ng 1.52") {
		t.Fatal("the engine version is not in the key")
	}
}
