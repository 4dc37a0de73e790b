package tts

import (
	"fmt"
	"strings"
)

// Spanish text rules (Spain by default): numbers agree in gender with what they count ("una
// libra", "veintiún euros", "doscientas libras"), amounts join their parts with "con", and
// exact millions take "de" ("un millón de euros").
type spanish struct{}

var esUnits = [...]string{"cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve",
	"diez", "once", "doce", "trece", "catorce", "quince", "dieciséis", "diecisiete", "dieciocho", "diecinueve",
	"veinte", "veintiuno", "veintidós", "veintitrés", "veinticuatro", "veinticinco", "veintiséis", "veintisiete", "veintiocho", "veintinueve"}

var esTens = [...]string{3: "treinta", 4: "cuarenta", 5: "cincuenta", 6: "sesenta", 7: "setenta", 8: "ochenta", 9: "noventa"}

var esHundreds = [...]string{2: "doscientos", 3: "trescientos", 4: "cuatrocientos", 5: "quinientos",
	6: "seiscientos", 7: "setecientos", 8: "ochocientos", 9: "novecientos"}

var esMonths = [...]string{1: "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio",
	"agosto", "septiembre", "octubre", "noviembre", "diciembre"}

func (spanish) key(c rune) string {
	switch {
	case c >= '0' && c <= '9':
		return esUnits[c-'0']
	case c == '*':
		return "asterisco"
	case c == '#':
		return "almohadilla"
	case c == '+':
		return "más"
	}
	return ""
}

func (spanish) point() string { return "coma" }
func (spanish) minus() string { return "menos" }

// esOne gives the gender forms of a number ending in "uno": uno (counting), un (before a
// masculine noun), una (before a feminine one).
func esOne(word string, g gender) string {
	base, ok := strings.CutSuffix(word, "uno")
	if !ok {
		return word
	}
	switch g {
	case masculine:
		if base == "veinti" {
			return "veintiún"
		}
		return base + "un"
	case feminine:
		return base + "una"
	}
	return word
}

// cardinal says 0 ≤ n < 10⁹ in gender g.
func (spanish) cardinal(n int64, g gender, _ string) string {
	if n == 0 {
		return "cero"
	}
	var w []string
	if n >= 1_000_000 {
		m := n / 1_000_000
		if m == 1 {
			w = append(w, "un millón")
		} else {
			w = append(w, esBelow1000(m, masculine), "millones")
		}
		n %= 1_000_000
	}
	if n >= 1000 {
		k := n / 1000
		if k > 1 {
			kg := masculine // veintiún mil
			if g == feminine {
				kg = feminine // veintiuna mil libras, doscientas mil libras
			}
			w = append(w, esBelow1000(k, kg))
		}
		w = append(w, "mil")
		n %= 1000
	}
	if n > 0 {
		w = append(w, esBelow1000(n, g))
	}
	return strings.Join(w, " ")
}

func esBelow1000(n int64, g gender) string {
	var w []string
	if n == 100 {
		return "cien"
	}
	if n >= 100 {
		h := esHundreds[n/100]
		if n/100 == 1 {
			h = "ciento"
		} else if g == feminine {
			h = strings.TrimSuffix(h, "os") + "as"
		}
		w = append(w, h)
		n %= 100
	}
	switch {
	case n == 0:
	case n < 30:
		w = append(w, esOne(esUnits[n], g))
	default:
		w = append(w, esTens[n/10])
		if n%10 > 0 {
			w = append(w, "y", esOne(esUnits[n%10], g))
		}
	}
	return strings.Join(w, " ")
}

func (spanish) date(d dateValue, _ string) string {
	var w []string
	if d.day > 0 {
		w = append(w, spanish{}.cardinal(int64(d.day), neuter, ""), "de")
	}
	if d.month > 0 {
		w = append(w, esMonths[d.month])
	}
	if d.year > 0 {
		if d.month > 0 {
			w = append(w, "de")
		}
		w = append(w, spanish{}.cardinal(int64(d.year), neuter, ""))
	}
	return strings.Join(w, " ")
}

var esCurrencies = map[string]currencyNames{
	"GBP": {major: [2]string{"libra", "libras"}, minor: [2]string{"penique", "peniques"}, majorGender: feminine},
	"USD": {major: [2]string{"dólar", "dólares"}, minor: [2]string{"centavo", "centavos"}, majorGender: masculine},
	"EUR": {major: [2]string{"euro", "euros"}, minor: [2]string{"céntimo", "céntimos"}, majorGender: masculine},
}

// amount: doce libras con cincuenta peniques; un euro; cincuenta céntimos; un millón de
// dólares.
func (spanish) amount(a amountValue, _ string) (string, error) {
	names, ok := esCurrencies[a.currency]
	if !ok {
		return "", fmt.Errorf("%w: currency %q cannot be spoken in Spanish (GBP, USD, EUR)", ErrSayAs, a.currency)
	}
	say := func(n int64, unit [2]string, g gender) string {
		if n == 1 {
			return esOne("uno", g) + " " + unit[0]
		}
		s := spanish{}.cardinal(n, g, "")
		if n%1_000_000 == 0 {
			s += " de"
		}
		return s + " " + unit[1]
	}
	var s string
	switch {
	case a.minor == 0:
		s = say(a.major, names.major, names.majorGender)
	case a.major == 0:
		s = say(a.minor, names.minor, masculine)
	default:
		s = say(a.major, names.major, names.majorGender) + " con " + say(a.minor, names.minor, masculine)
	}
	if a.negative {
		s = "menos " + s
	}
	return s, nil
}
