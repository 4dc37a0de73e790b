package pan

// The redactor: one rule set for every output of paybridge (logs, the store, events, the live
// feed, SIP traces, provider and plan error messages). The rule is stated in doc.go; this
// file implements it in one pass over the text, without allocating when there is nothing to
// mask.

// Redact returns s with every card number, security code, expiry and bank number the rule
// finds replaced by its mask. It returns s itself when there is nothing to mask.
func Redact(s string) string {
	if !hasDigit(s) {
		return s
	}
	var sc scanner
	out, changed := sc.redact(nil, s)
	if !changed {
		return s
	}
	return string(out)
}

// RedactValue returns value redacted as the value of a field named key: as Redact does
// "key: value", so that a security code logged as cvv=123 or an expiry as exp_month=12 is
// masked although the value alone is only a short number. It returns value itself when
// there is nothing to mask. (The key is not redacted here.)
func RedactValue(key, value string) string {
	if !hasDigit(value) {
		return value
	}
	var sc scanner
	sc.redact(nil, key)
	sc.skip(1)
	out, changed := sc.redact(nil, value)
	if !changed {
		return value
	}
	return string(out)
}

// FindCard returns the byte offset in s of the first complete card number (Valid: a known
// brand's prefix and length, Luhn), written with or without single spaces or dashes between
// its digits, or -1. It finds what Redact masks because it is certainly a card, including a
// card inside a longer run of digit groups; it ignores a phone number (after '+', at most 15
// digits) and the looser cases Redact masks only to be safe.
func FindCard(s string) int {
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		r := scanRun(s, i)
		plus := i > 0 && s[i-1] == '+'
		if !plus || r.n > 15 || r.n >= 13 && validWhole(s, r) {
			if at := r.validSpan(s); at >= 0 {
				return at
			}
		}
		i = r.end
	}
	return -1
}

// window is how far after its keyword (in bytes, punctuation and filler words included) a
// security code, an expiry or a bank number may stand and still be masked as one.
const window = 24

// ctxKind is what a keyword announces.
type ctxKind uint8

const (
	ctxNone         ctxKind = iota
	ctxSecurityCode         // 3–4 digits
	ctxExpiry               // MM/YY, MM/YYYY, MMYY, MMYYYY, a month or a year
	ctxRouting              // 9 digits
	ctxAccount              // 4–17 digits
)

// keywords announce a value; they are matched as whole words, case-insensitively, camelCase
// and snake_case split ("cardCvc", "exp_month", "security-code").
var keywords = map[string]ctxKind{
	"cvv": ctxSecurityCode, "cvc": ctxSecurityCode, "cvn": ctxSecurityCode, "csc": ctxSecurityCode,
	"cvd": ctxSecurityCode, "cv": ctxSecurityCode, "securitycode": ctxSecurityCode,
	"exp": ctxExpiry, "expiry": ctxExpiry, "expiration": ctxExpiry, "expdate": ctxExpiry,
	"routing": ctxRouting, "aba": ctxRouting,
	"account": ctxAccount, "acct": ctxAccount, "accountnumber": ctxAccount,
}

// fillers may stand between a keyword and its value ("expiry date: 12/25", "exp_month=12",
// "account number 12345678"); any other word ends the keyword's reach.
var fillers = map[string]bool{
	"date": true, "code": true, "number": true, "num": true, "no": true, "nr": true, "month": true,
	"year": true, "mm": true, "yy": true, "yyyy": true, "mmyy": true, "is": true, "value": true,
}

// scanner carries the keyword context through one text, or through the tokens of one JSON
// document (RedactJSON), so that "cvc" in a key reaches the value after it.
type scanner struct {
	ctx      ctxKind
	left     int // bytes the value may still lie ahead
	security int // > 0: "security" was the last word, this many bytes ago at most ("security code")
}

// skip accounts for n bytes that are neither letters nor digits.
func (sc *scanner) skip(n int) {
	if sc.ctx != ctxNone {
		if sc.left -= n; sc.left < 0 {
			sc.ctx = ctxNone
		}
	}
	if sc.security > 0 {
		if sc.security -= n; sc.security <= 0 {
			sc.security = 0
		}
	}
}

// word handles one word (letters only).
func (sc *scanner) word(w string) {
	var buf [16]byte
	if len(w) > len(buf) {
		sc.ctx, sc.security = ctxNone, 0
		return
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	lw := buf[:len(w)]
	if sc.security > 0 && string(lw) == "code" {
		sc.ctx, sc.left, sc.security = ctxSecurityCode, window, 0
		return
	}
	sc.security = 0
	if k, ok := keywords[string(lw)]; ok {
		sc.ctx, sc.left = k, window
		return
	}
	if string(lw) == "security" {
		sc.ctx, sc.security = ctxNone, 3 // "security code", "security-code", "security_code"
		return
	}
	if sc.ctx != ctxNone && fillers[string(lw)] {
		sc.skip(len(w))
		return
	}
	sc.ctx = ctxNone
}

// redact appends the redacted s to dst. dst is returned unchanged — and changed is false —
// until the first mask; from then on it holds the whole redacted text so far.
func (sc *scanner) redact(dst []byte, s string) (out []byte, changed bool) {
	last := 0 // s[last:] is not yet in out
	emit := func(start, end, n int, showLast4 bool) {
		if !changed {
			changed = true
			out = dst
		}
		out = append(out, s[last:start]...)
		var d [4]byte
		if showLast4 && lastDigits(d[:], s[start:end]) {
			out = appendMask(out, n, d[:])
		} else {
			out = appendMask(out, n, nil)
		}
		Zero(d[:])
		last = end
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isLetter(c):
			j := wordEnd(s, i)
			if i > 0 && isDigit(s[i-1]) && !capitalized(s, i, j) {
				// The tail of an identifier ("ch_…w6cv767", "…9EXP12"): no word starts
				// right after a digit, except a camelCase one ("card1Cvc").
				sc.ctx, sc.security = ctxNone, 0
				i = j
				continue
			}
			sc.word(s[i:j])
			if sc.ctx == ctxSecurityCode && sc.left == window && j < len(s) && s[j] == '2' && (j+1 == len(s) || !isDigit(s[j+1])) {
				j++ // "cvv2", "cvc2": the 2 is part of the name
			}
			i = j
		case isDigit(c):
			r := scanRun(s, i)
			ctx := sc.ctx
			sc.ctx, sc.security = ctxNone, 0
			if ctx != ctxNone {
				// A value that runs straight into a letter is part of an identifier
				// ("ch_cvv123abc"), not the value the keyword announced.
				if end, n, ok := contextValue(s, r, ctx); ok && (end == len(s) || !isLetter(s[end])) {
					emit(i, end, n, ctx == ctxAccount)
					i = end
					continue
				}
			}
			if masks(s, r) {
				emit(i, r.end, r.n, true)
			}
			i = r.end
		default:
			sc.skip(1)
			i++
		}
	}
	if !changed {
		return dst, false
	}
	return append(out, s[last:]...), true
}

// masks decides the card-number rule for the run r (see doc.go).
func masks(s string, r run) bool {
	i := r.start
	switch {
	case i > 0 && s[i-1] == '+': // a phone number: E.164 has at most 15 digits
		return r.n > 15 || r.n >= 13 && validWhole(s, r)
	case glued(s, r):
		return r.validSpan(s) >= 0
	default:
		return r.n >= 13 || r.n == minCardLen && validWhole(s, r)
	}
}

// lastDigits fills d with the last len(d) digits of t (separators skipped) and reports
// whether t has that many.
func lastDigits(d []byte, t string) bool {
	k := len(d)
	for j := len(t) - 1; j >= 0 && k > 0; j-- {
		if isDigit(t[j]) {
			k--
			d[k] = t[j]
		}
	}
	return k == 0
}

// run is a maximal run of digits in which single spaces or dashes may separate digits:
// "4242 4242 4242 4242", "3782-822463-10005", "4 2 4 2".
type run struct {
	start, end int // s[start:end], first and last byte digits
	n          int // digits in it
	groups     int // digit groups (separated parts)
}

func scanRun(s string, i int) run {
	r := run{start: i, groups: 1}
	j := i
	for j < len(s) {
		c := s[j]
		if isDigit(c) {
			r.n++
			j++
			continue
		}
		if (c == ' ' || c == '-') && j+1 < len(s) && isDigit(s[j+1]) {
			r.groups++
			j++
			continue
		}
		break
	}
	r.end = j
	return r
}

// validWhole reports whether the run's digits are a complete card number.
func validWhole(s string, r run) bool {
	if r.n < minCardLen || r.n > maxCardLen {
		return false
	}
	return validDigits(s[r.start:r.end])
}

// validSpan returns the offset of the first span of whole groups of r that is a complete
// card number ("ref 1234 4242 4242 4242 4242" holds one), or -1.
func (r run) validSpan(s string) int {
	if r.n < minCardLen {
		return -1
	}
	if r.groups == 1 {
		if validWhole(s, r) {
			return r.start
		}
		return -1
	}
	for g := r.start; g < r.end; {
		// every span starting at group g, growing group by group while it can be a card
		n := 0
		for e := g; e < r.end; {
			k := e
			for k < r.end && isDigit(s[k]) {
				k++
			}
			n += k - e
			if n > maxCardLen {
				break
			}
			if n >= minCardLen && validDigits(s[g:k]) {
				return g
			}
			e = k + 1 // past the separator
		}
		for g < r.end && isDigit(s[g]) {
			g++
		}
		g++ // past the separator
	}
	return -1
}

// validDigits reports whether the digits of t (separators skipped) are a complete card
// number. The copy it checks is zeroed before it returns.
func validDigits(t string) bool {
	var d [maxCardLen]byte
	n := 0
	for i := 0; i < len(t); i++ {
		if isDigit(t[i]) {
			if n == len(d) {
				Zero(d[:])
				return false
			}
			d[n] = t[i]
			n++
		}
	}
	ok := Valid(d[:n])
	Zero(d[:])
	return ok
}

// glued reports whether the run touches a letter: it is part of a word or an identifier
// ("a1b2…", a hex id, "tok_…"), unless the letter before it ends an escape ("\n", "\u0034",
// "%0A"), which text encoders put before digits.
func glued(s string, r run) bool {
	if r.end < len(s) && isLetter(s[r.end]) {
		return true
	}
	k := r.start - 1
	if k < 0 || !isLetter(s[k]) {
		return false
	}
	return !(k >= 1 && (s[k-1] == '\\' || s[k-1] == '%') || k >= 2 && s[k-2] == '%' && isHex(s[k-1]))
}

// contextValue reports whether the digits at r are the value a keyword of kind ctx announced,
// and returns its end and digit count.
func contextValue(s string, r run, ctx ctxKind) (end, n int, ok bool) {
	switch ctx {
	case ctxSecurityCode:
		return r.end, r.n, r.n >= 3 && r.n <= 4
	case ctxRouting:
		return r.end, r.n, r.n == 9
	case ctxAccount:
		// The last four of a mask ("maskedAccount": "********6789") are what the mask shows:
		// masking them again would leave nothing to recognise the account by.
		if r.n == 4 && r.groups == 1 && r.start > 0 && s[r.start-1] == '*' {
			return 0, 0, false
		}
		return r.end, r.n, r.n >= 4 && r.n <= 17
	case ctxExpiry:
		return expiryValue(s, r.start)
	}
	return 0, 0, false
}

// expiryValue reads an expiry at s[i:]: MM/YY, MM/YYYY, MM-YY, MM.YY or MM YY (spaces allowed
// around '/'), or a single group of 1, 2, 4 or 6 digits (a month, a year, MMYY, MMYYYY). A
// group followed by another separator and digit is part of something longer (a date such as
// 2026-11-22, a card number) and is not an expiry.
func expiryValue(s string, i int) (end, n int, ok bool) {
	a := digitsEnd(s, i)
	la := a - i
	if k, sep := expirySep(s, a); sep {
		b := digitsEnd(s, k)
		lb := b - k
		if la <= 2 && (lb == 2 || lb == 4) && !continues(s, b) {
			return b, la + lb, true
		}
		return 0, 0, false
	}
	if la == 1 || la == 2 || la == 4 || la == 6 {
		return a, la, true
	}
	return 0, 0, false
}

// expirySep returns the index after a date separator at s[j:] that a digit follows.
func expirySep(s string, j int) (int, bool) {
	k := j
	if k < len(s) && s[k] == ' ' {
		k++
	}
	if k < len(s) && (s[k] == '/' || s[k] == '-' || s[k] == '.') {
		k++
		if k < len(s) && s[k] == ' ' {
			k++
		}
	} else if k == j {
		return j, false
	}
	return k, k < len(s) && isDigit(s[k])
}

// continues reports whether a separator and a digit follow s[:j].
func continues(s string, j int) bool {
	return j+1 < len(s) && (s[j] == '/' || s[j] == '-' || s[j] == '.' || s[j] == ':' || s[j] == ' ') && isDigit(s[j+1])
}

func digitsEnd(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// wordEnd returns the end of the word at s[i]: letters, split where camelCase starts a new
// word ("cardCvc" → "card", "Cvc"; "CVVCode" → "CVV", "Code").
func wordEnd(s string, i int) int {
	j := i + 1
	for j < len(s) && isLetter(s[j]) {
		if isUpper(s[j]) && (!isUpper(s[j-1]) || j+1 < len(s) && isLower(s[j+1])) {
			break
		}
		j++
	}
	return j
}

// capitalized reports whether the word s[i:j] is an upper-case letter followed by lower-case
// ones: a camelCase word ("Cvc"), not a run of an upper-case identifier ("CV").
func capitalized(s string, i, j int) bool {
	return isUpper(s[i]) && j-i > 1 && isLower(s[i+1])
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isUpper(c byte) bool  { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool  { return c >= 'a' && c <= 'z' }
func isLetter(c byte) bool { return isUpper(c) || isLower(c) }
func isHex(c byte) bool    { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
