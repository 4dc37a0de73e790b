package tts

import (
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// A script is a request after the say-as rules: speech and silence in order. Engines render
// its speech items and put exact silence between them; the HTTP engine sends it as one SSML
// document (and as plain text).

type gender int

const (
	neuter    gender = iota // counting: uno, veintiuno
	masculine               // before a masculine noun: un euro, veintiún dólares
	feminine                // before a feminine noun: una libra, doscientas libras
)

// rules are one language's words for the say-as kinds. region is the tag's region subtag
// ("GB", "US", "ES"; "" when absent).
type rules interface {
	key(c rune) string // a keypad character's word, "" for others
	point() string     // the decimal separator's word
	minus() string
	cardinal(n int64, g gender, region string) string // 0 ≤ n < 10⁹
	date(d dateValue, region string) string
	amount(a amountValue, region string) (string, error)
}

func rulesFor(primary string) rules {
	switch primary {
	case "en":
		return english{}
	case "es":
		return spanish{}
	}
	return nil
}

type currencyNames struct {
	major, minor [2]string // singular, plural
	majorGender  gender
}

type amountValue struct {
	negative     bool
	major, minor int64 // minor in hundredths
	currency     string
}

type dateValue struct{ year, month, day int } // 0 = field absent

// item is speech (ssml and plain set) or a pause.
type item struct {
	ssml  string // SSML fragment: escaped text and <say-as interpret-as="characters">
	plain string // the same in plain words
	pause time.Duration
}

type script []item

// speech reports whether the script says anything.
func (s script) speech() bool {
	for _, it := range s {
		if it.ssml != "" {
			return true
		}
	}
	return false
}

// document is the script as one SSML document, breaks as <break time="…ms"/>.
func (s script) document(lang string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<speak version="1.1" xml:lang="%s">`, html.EscapeString(lang))
	for i, it := range s {
		if it.ssml != "" {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(it.ssml)
		} else {
			fmt.Fprintf(&b, `<break time="%dms"/>`, it.pause.Milliseconds())
		}
	}
	b.WriteString("</speak>")
	return b.String()
}

// text is the script as plain text, breaks as sentence ends.
func (s script) text() string {
	var w []string
	for _, it := range s {
		if it.plain != "" {
			w = append(w, it.plain)
		} else if len(w) > 0 && !strings.HasSuffix(w[len(w)-1], ".") {
			w[len(w)-1] += "."
		}
	}
	return strings.Join(w, " ")
}

func buildScript(r Request) (script, error) {
	primary, rest, _ := strings.Cut(r.Language, "-")
	region, _, _ := strings.Cut(rest, "-")
	rl := rulesFor(primary)
	if rl == nil {
		return nil, fmt.Errorf("%w: %q", ErrLanguage, r.Language)
	}
	var out script
	add := func(it item) {
		n := len(out)
		switch {
		case it.ssml == "" && it.pause == 0:
		case n > 0 && it.ssml != "" && out[n-1].ssml != "":
			out[n-1].ssml = joinWords(out[n-1].ssml, it.ssml)
			out[n-1].plain = joinWords(out[n-1].plain, it.plain)
		case n > 0 && it.ssml == "" && out[n-1].ssml == "":
			out[n-1].pause += it.pause
		default:
			out = append(out, it)
		}
	}
	words := func(s string) item { return item{ssml: html.EscapeString(s), plain: s} }
	for i, s := range r.Segments {
		var it item
		var err error
		switch s.SayAs {
		case SayText:
			it = words(strings.Join(strings.Fields(s.Text), " "))
		case SayDigits:
			it, err = sayDigits(rl, s.Text)
		case SayCharacters:
			it, err = sayCharacters(primary, rl, s.Text)
		case SayCurrency:
			var a amountValue
			if a, err = parseAmount(s.Text, s.Currency); err == nil {
				var w string
				w, err = rl.amount(a, region)
				it = words(w)
			}
		case SayDate:
			var d dateValue
			if d, err = parseDate(s.Text, s.Format); err == nil {
				it = words(rl.date(d, region))
			}
		case SayCardinal:
			var w string
			w, err = sayCardinal(rl, s.Text, region)
			it = words(w)
		case SayBreak:
			it = item{pause: s.Pause}
		}
		if err != nil {
			return nil, fmt.Errorf("segment %d (%s %q): %w", i+1, sayAsName(s.SayAs), clip(s.Text, 40), err)
		}
		add(it)
	}
	return out, nil
}

// joinWords puts a space between two runs of speech unless the second starts with
// punctuation ("code is ch_6dy" + "." → "code is ch_6dy.").
func joinWords(a, b string) string {
	if strings.ContainsAny(b[:1], ".,;:!?)") {
		return a + b
	}
	return a + " " + b
}

func sayAsName(k SayAs) string {
	if k == SayText {
		return "text"
	}
	return string(k)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// digitSeparators group digits ("0800 123-456"): each run becomes a short pause (a comma).
const digitSeparators = " -./()"

func sayDigits(rl rules, s string) (item, error) {
	var w []string
	comma := false
	for _, c := range strings.TrimSpace(s) {
		if strings.ContainsRune(digitSeparators, c) {
			comma = len(w) > 0
			continue
		}
		word := rl.key(c)
		if word == "" {
			return item{}, fmt.Errorf("%w: %q is not a digit, '*', '#' or '+'", ErrSayAs, c)
		}
		if comma {
			w[len(w)-1] += ","
			comma = false
		}
		w = append(w, word)
	}
	if len(w) == 0 {
		return item{}, fmt.Errorf("%w: no digits", ErrSayAs)
	}
	p := strings.Join(w, " ")
	return item{ssml: html.EscapeString(p), plain: p}, nil
}

// symbolNames are the characters SayCharacters spells besides letters and digits, by language.
var symbolNames = map[string]map[rune]string{
	"en": {'_': "underscore", '-': "dash", '.': "dot", '@': "at", '/': "slash", '+': "plus", '*': "star", '#': "hash", ':': "colon", '&': "ampersand"},
	"es": {'_': "guion bajo", '-': "guion", '.': "punto", '@': "arroba", '/': "barra", '+': "más", '*': "asterisco", '#': "almohadilla", ':': "dos puntos", '&': "et"},
}

// sayCharacters spells s: letters by name, digits as digits, symbols named; whitespace
// separates groups with a short pause. The SSML form leaves the letter names to the engine
// (say-as characters); the plain form writes letters as capitals.
func sayCharacters(primary string, rl rules, s string) (item, error) {
	names := symbolNames[primary]
	var groups, plain []string
	for _, g := range strings.Fields(s) {
		var p []string
		for _, c := range g {
			switch {
			case unicode.IsLetter(c):
				p = append(p, string(unicode.ToUpper(c)))
			case c >= '0' && c <= '9':
				p = append(p, rl.key(c))
			case names[c] != "":
				p = append(p, names[c])
			default:
				return item{}, fmt.Errorf("%w: cannot spell %q", ErrSayAs, c)
			}
		}
		groups = append(groups, `<say-as interpret-as="characters">`+html.EscapeString(g)+`</say-as>`)
		plain = append(plain, strings.Join(p, " "))
	}
	if len(groups) == 0 {
		return item{}, fmt.Errorf("%w: nothing to spell", ErrSayAs)
	}
	return item{ssml: strings.Join(groups, ", "), plain: strings.Join(plain, ", ")}, nil
}

var currencySymbols = []struct{ sym, code string }{{"£", "GBP"}, {"$", "USD"}, {"€", "EUR"}}

// parseAmount reads "12.50", "-3", "1,234.5", "£12.50", "GBP 12.50", "12.50 GBP" (at most two
// decimals, under a billion).
func parseAmount(text, currency string) (amountValue, error) {
	var a amountValue
	s := strings.TrimSpace(text)
	code := ""
	if v, ok := strings.CutPrefix(s, "-"); ok {
		a.negative, s = true, strings.TrimSpace(v)
	}
	for _, cs := range currencySymbols {
		if v, ok := strings.CutPrefix(s, cs.sym); ok {
			code, s = cs.code, strings.TrimSpace(v)
			break
		}
	}
	if code == "" && len(s) > 3 && isCode(s[:3]) {
		code, s = s[:3], strings.TrimSpace(s[3:])
	} else if code == "" && len(s) > 3 && isCode(s[len(s)-3:]) {
		code, s = s[len(s)-3:], strings.TrimSpace(s[:len(s)-3])
	}
	if v, ok := strings.CutPrefix(s, "-"); ok && !a.negative {
		a.negative, s = true, v
	}
	cur := strings.ToUpper(strings.TrimSpace(currency))
	switch {
	case cur == "" && code == "":
		return a, fmt.Errorf("%w: no currency (give one: \"GBP 12.50\", \"£12.50\" or the currency attribute)", ErrSayAs)
	case cur == "":
		cur = code
	case code != "" && code != cur:
		return a, fmt.Errorf("%w: amount in %s but currency %s", ErrSayAs, code, cur)
	}
	a.currency = cur
	intPart, frac, hasFrac := strings.Cut(s, ".")
	major, err := parseGrouped(intPart)
	if err != nil {
		return a, err
	}
	a.major = major
	if hasFrac {
		if len(frac) == 0 || len(frac) > 2 || !allDigits(frac) {
			return a, fmt.Errorf("%w: %q is not an amount with at most two decimals", ErrSayAs, text)
		}
		m, _ := strconv.Atoi(frac)
		if len(frac) == 1 {
			m *= 10
		}
		a.minor = int64(m)
	}
	return a, nil
}

func isCode(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseGrouped reads a non-negative integer under 10⁹, with optional thousands commas
// ("1,234,567": groups of exactly three after the first).
func parseGrouped(s string) (int64, error) {
	groups := strings.Split(s, ",")
	for i, g := range groups {
		if !allDigits(g) || (i > 0 && len(g) != 3) || (i == 0 && len(groups) > 1 && len(g) > 3) {
			return 0, fmt.Errorf("%w: %q is not a number", ErrSayAs, s)
		}
	}
	digits := strings.Join(groups, "")
	if len(strings.TrimLeft(digits, "0")) > 9 {
		return 0, fmt.Errorf("%w: %s is a billion or more", ErrSayAs, s)
	}
	n, _ := strconv.ParseInt(digits, 10, 64)
	return n, nil
}

// sayCardinal says an integer or decimal number: "1234", "-7", "3.25" (decimals digit by
// digit). Numbers of a billion or more are said digit by digit.
func sayCardinal(rl rules, text, region string) (string, error) {
	s := strings.TrimSpace(text)
	neg := false
	if v, ok := strings.CutPrefix(s, "-"); ok {
		neg, s = true, v
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var w []string
	if neg {
		w = append(w, rl.minus())
	}
	if d := strings.ReplaceAll(intPart, ",", ""); allDigits(d) && len(strings.TrimLeft(d, "0")) > 9 {
		for _, c := range d {
			w = append(w, rl.key(c))
		}
	} else {
		n, err := parseGrouped(intPart)
		if err != nil {
			return "", err
		}
		w = append(w, rl.cardinal(n, neuter, region))
	}
	if hasFrac {
		if !allDigits(frac) {
			return "", fmt.Errorf("%w: %q is not a number", ErrSayAs, text)
		}
		w = append(w, rl.point())
		for _, c := range frac {
			w = append(w, rl.key(c))
		}
	}
	return strings.Join(w, " "), nil
}

var dateFormats = map[string]bool{"ymd": true, "dmy": true, "mdy": true, "ym": true, "my": true, "md": true, "dm": true}

// parseDate reads a date in format order; two-digit years are 20yy.
func parseDate(text, format string) (dateValue, error) {
	var d dateValue
	if format == "" {
		format = "ymd"
	}
	format = strings.ToLower(format)
	if !dateFormats[format] {
		return d, fmt.Errorf("%w: date format %q (want ymd, dmy, mdy, ym, my, md or dm)", ErrSayAs, format)
	}
	s := strings.TrimSpace(text)
	fields := strings.FieldsFunc(s, func(c rune) bool { return strings.ContainsRune("-/. ", c) })
	if format == "ymd" && len(fields) == 1 && len(s) == 8 {
		fields = []string{s[:4], s[4:6], s[6:]}
	}
	if len(fields) != len(format) {
		return d, fmt.Errorf("%w: %q is not a date in %s order", ErrSayAs, text, format)
	}
	for i, f := range fields {
		if !allDigits(f) || len(f) > 4 || (format[i] != 'y' && len(f) > 2) {
			return d, fmt.Errorf("%w: %q is not a date in %s order", ErrSayAs, text, format)
		}
		n, _ := strconv.Atoi(f)
		switch format[i] {
		case 'y':
			if len(f) <= 2 {
				n += 2000
			}
			d.year = n
		case 'm':
			d.month = n
		case 'd':
			d.day = n
		}
	}
	if d.month < 1 || d.month > 12 || (strings.Contains(format, "y") && d.year < 1) {
		return d, fmt.Errorf("%w: %q has no such month or year", ErrSayAs, text)
	}
	if strings.Contains(format, "d") {
		y := d.year
		if y == 0 {
			y = 2000 // a leap year: 29 February is a date when the year is not given
		}
		t := time.Date(y, time.Month(d.month), d.day, 0, 0, 0, 0, time.UTC)
		if d.day < 1 || t.Day() != d.day {
			return d, fmt.Errorf("%w: %q is not a day of the calendar", ErrSayAs, text)
		}
	}
	return d, nil
}
