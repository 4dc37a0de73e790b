package tts

import (
	"fmt"
	"strings"
)

// English text rules: British by default ("one hundred and five", "the second of March"),
// American for en-US ("one hundred five", "March second").
type english struct{}

var enOnes = [...]string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
	"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}

var enTens = [...]string{2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty", 7: "seventy", 8: "eighty", 9: "ninety"}

var enMonths = [...]string{1: "January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"}

func (english) key(c rune) string {
	switch {
	case c >= '0' && c <= '9':
		return enOnes[c-'0']
	case c == '*':
		return "star"
	case c == '#':
		return "hash"
	case c == '+':
		return "plus"
	}
	return ""
}

func (english) point() string { return "point" }
func (english) minus() string { return "minus" }

// cardinal says 0 ≤ n < 10⁹; British English puts "and" before the last two digits.
func (english) cardinal(n int64, _ gender, region string) string {
	if n == 0 {
		return "zero"
	}
	and := region != "US"
	var w []string
	for _, g := range []struct {
		div  int64
		word string
	}{{1_000_000, "million"}, {1_000, "thousand"}} {
		if n >= g.div {
			w = append(w, enBelow1000(n/g.div, false, and)...)
			w = append(w, g.word)
			n %= g.div
		}
	}
	if n > 0 {
		w = append(w, enBelow1000(n, len(w) > 0, and)...)
	}
	return strings.Join(w, " ")
}

func enBelow1000(n int64, after, and bool) []string {
	var w []string
	if n >= 100 {
		w = append(w, enOnes[n/100], "hundred")
		n %= 100
		if n > 0 && and {
			w = append(w, "and")
		}
	} else if after && and && n > 0 {
		w = append(w, "and")
	}
	switch {
	case n == 0:
	case n < 20:
		w = append(w, enOnes[n])
	default:
		w = append(w, enTens[n/10])
		if n%10 > 0 {
			w = append(w, enOnes[n%10])
		}
	}
	return w
}

func (english) ordinal(n int, region string) string {
	w := strings.Fields(english{}.cardinal(int64(n), masculine, region))
	last := w[len(w)-1]
	switch last {
	case "one":
		last = "first"
	case "two":
		last = "second"
	case "three":
		last = "third"
	case "five":
		last = "fifth"
	case "eight":
		last = "eighth"
	case "nine":
		last = "ninth"
	case "twelve":
		last = "twelfth"
	default:
		if s, ok := strings.CutSuffix(last, "y"); ok {
			last = s + "ieth"
		} else {
			last += "th"
		}
	}
	w[len(w)-1] = last
	return strings.Join(w, " ")
}

// year says a year the way it is read: 1999 nineteen ninety nine, 1905 nineteen oh five, 1900
// nineteen hundred, 2005 two thousand and five, 2026 twenty twenty six.
func (english) year(y int, region string) string {
	switch {
	case y >= 2000 && y < 2010, y < 1000, y%1000 == 0:
		return english{}.cardinal(int64(y), masculine, region)
	case y%100 == 0:
		return english{}.cardinal(int64(y/100), masculine, region) + " hundred"
	case y%100 < 10:
		return english{}.cardinal(int64(y/100), masculine, region) + " oh " + enOnes[y%100]
	}
	return english{}.cardinal(int64(y/100), masculine, region) + " " + english{}.cardinal(int64(y%100), masculine, region)
}

func (english) date(d dateValue, region string) string {
	var w []string
	us := region == "US"
	switch {
	case d.day > 0 && us:
		w = append(w, enMonths[d.month], english{}.ordinal(d.day, region))
	case d.day > 0:
		w = append(w, "the", english{}.ordinal(d.day, region), "of", enMonths[d.month])
	case d.month > 0:
		w = append(w, enMonths[d.month])
	}
	if d.year > 0 {
		w = append(w, english{}.year(d.year, region))
	}
	return strings.Join(w, " ")
}

var enCurrencies = map[string]currencyNames{
	"GBP": {major: [2]string{"pound", "pounds"}, minor: [2]string{"penny", "pence"}},
	"USD": {major: [2]string{"dollar", "dollars"}, minor: [2]string{"cent", "cents"}},
	"EUR": {major: [2]string{"euro", "euros"}, minor: [2]string{"cent", "cents"}},
}

// amount: GBP twelve pounds fifty (the British way with pounds and pence both present), other
// currencies twelve dollars and fifty cents; only pence: fifty pence; zero: zero pounds.
func (english) amount(a amountValue, region string) (string, error) {
	names, ok := enCurrencies[a.currency]
	if !ok {
		return "", fmt.Errorf("%w: currency %q cannot be spoken in English (GBP, USD, EUR)", ErrSayAs, a.currency)
	}
	say := func(n int64, unit [2]string) string {
		u := unit[1]
		if n == 1 {
			u = unit[0]
		}
		return english{}.cardinal(n, masculine, region) + " " + u
	}
	var s string
	switch {
	case a.minor == 0:
		s = say(a.major, names.major)
	case a.major == 0:
		s = say(a.minor, names.minor)
	case a.currency == "GBP":
		s = say(a.major, names.major) + " " + english{}.cardinal(a.minor, masculine, region)
	default:
		s = say(a.major, names.major) + " and " + say(a.minor, names.minor)
	}
	if a.negative {
		s = "minus " + s
	}
	return s, nil
}
