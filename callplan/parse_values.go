package callplan

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Value rules shared by the parser: environment references, secret detection, durations,
// numbers, booleans, E.164 numbers and connector URLs.

// expandEnv replaces every #(env:NAME) and #(env:NAME:-default) in raw with the process
// environment (an empty variable counts as unset). at(k) gives the position of byte k of raw.
// A missing variable without a default, or a malformed reference, is reported and expands
// to "".
func (p *parser) expandEnv(raw string, at func(int) Pos) string {
	if !strings.Contains(raw, "#(") {
		return raw
	}
	var b strings.Builder
	i := 0
	for {
		j := strings.Index(raw[i:], "#(")
		if j < 0 {
			b.WriteString(raw[i:])
			break
		}
		b.WriteString(raw[i : i+j])
		i += j
		end := strings.IndexByte(raw[i:], ')')
		if end < 0 {
			p.sink.errorf(at(i), "env", "unterminated #( (missing ))")
			break
		}
		ref := raw[i+2 : i+end]
		rest, ok := strings.CutPrefix(ref, "env:")
		if !ok {
			p.sink.errorf(at(i), "env", "#(%s): only #(env:NAME) is supported", ref)
			i += end + 1
			continue
		}
		name, def, hasDef := strings.Cut(rest, ":-")
		if !validEnvName(name) {
			p.sink.errorf(at(i), "env", "#(env:%s): an environment variable name is letters, digits and _", name)
			i += end + 1
			continue
		}
		v := ""
		if p.env != nil {
			v = p.env(name)
		}
		switch {
		case v != "":
			b.WriteString(v)
		case hasDef:
			b.WriteString(def)
		default:
			p.sink.errorf(at(i), "env-missing", "environment variable %s is not set (referenced as #(env:%s))", name, name)
		}
		i += end + 1
	}
	return b.String()
}

func validEnvName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// isEnvOnly reports whether raw is exactly one #(env:…) reference (possibly with a default).
func isEnvOnly(raw string) bool {
	t := strings.TrimSpace(raw)
	return strings.HasPrefix(t, "#(env:") && strings.IndexByte(t, ')') == len(t)-1
}

// stripRefs removes #(…) and $(…) references from raw, leaving only the literal text an author
// typed (secret detection looks at that).
func stripRefs(raw string) string {
	for _, open := range []string{"#(", "$("} {
		for {
			i := strings.Index(raw, open)
			if i < 0 {
				break
			}
			j := strings.IndexByte(raw[i:], ')')
			if j < 0 {
				raw = raw[:i]
				break
			}
			raw = raw[:i] + "\x1a" + raw[i+j+1:] // a placeholder no check looks for
		}
	}
	return raw
}

// secretPatterns are literal prefixes of well-known API secrets.
var secretPatterns = []struct{ prefix, what string }{
	{"sk_live_", "a live secret API key"},
	{"sk_test_", "a test secret API key"},
	{"rk_live_", "a restricted API key"},
	{"rk_test_", "a restricted API key"},
	{"whsec_", "a webhook signing secret"},
	{"xoxb-", "a bot token"},
	{"ghp_", "an access token"},
	{"AKIA", "a cloud access key id"},
}

// findSecret returns a description of the secret-looking literal in raw, or "".
// References ($(…), #(…)) do not count: only text the author typed.
func findSecret(raw string) string {
	lit := stripRefs(raw)
	for _, sp := range secretPatterns {
		if i := strings.Index(lit, sp.prefix); i >= 0 && tokenLen(lit[i+len(sp.prefix):]) >= 8 {
			if sp.prefix == "AKIA" && (i > 0 && isTokenByte(lit[i-1]) || tokenLen(lit[i+4:]) != 16) {
				continue
			}
			return sp.what + " (" + sp.prefix + "…)"
		}
	}
	lower := strings.ToLower(lit)
	for _, kw := range []string{"bearer ", "basic "} {
		// Only where a credential goes: at the start of a value (a header) or right after
		// "Authorization", so that prose such as "Basic information" is not mistaken for one.
		i := -1
		if t := strings.TrimLeft(lower, " \t"); strings.HasPrefix(t, kw) {
			i = len(lower) - len(t)
		} else if a := strings.Index(lower, "authorization"); a >= 0 {
			if j := strings.Index(lower[a:], kw); j >= 0 && j <= len("authorization")+4 {
				i = a + j
			}
		}
		if i < 0 {
			continue
		}
		rest := lit[i+len(kw):]
		n := tokenLen(rest)
		// A credential is one token that ends the value (or its quoted string): "Basic
		// information about…" continues with more words and is prose.
		if after := strings.TrimLeft(rest[n:], " \t"); n >= 8 && (after == "" || strings.ContainsRune("\"',;}\r\n\x1a", rune(after[0]))) {
			return "a literal " + strings.TrimSpace(lit[i:i+len(kw)]) + " credential"
		}
	}
	for _, kw := range []string{"client_secret=", "password=", "api_key=", "apikey=", `"client_secret":"`, `"password":"`, `"client_secret": "`, `"password": "`} {
		if i := strings.Index(lower, kw); i >= 0 && tokenLen(lit[i+len(kw):]) >= 1 {
			return "a literal " + strings.Trim(strings.TrimRight(kw, `=: "`), `"`)
		}
	}
	return ""
}

func tokenLen(s string) int {
	n := 0
	for n < len(s) && isTokenByte(s[n]) {
		n++
	}
	return n
}

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == '~' || c == '+' || c == '/' || c == '='
}

// parseDurationAttr reads a duration with a unit ("500ms", "5s", "1m", "72h", "1m30s").
func parseDurationAttr(s string, lo, hi time.Duration) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, fmt.Errorf("duration %q has no unit: write e.g. %q", s, s+"s")
	}
	d, err := time.ParseDuration(s)
	if err != nil || strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("bad duration %q: use a number with a unit: ms, s, m or h (e.g. 500ms, 5s, 1m)", s)
	}
	if d < lo || d > hi {
		return 0, fmt.Errorf("duration %s out of range %s–%s", s, fmtDur(lo), fmtDur(hi))
	}
	return d, nil
}

// fmtDur writes a duration without its zero tails: 10s, 10m, 72h, 1m30s, 100ms.
func fmtDur(d time.Duration) string {
	s := d.String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}

// parseE164 accepts "+" followed by 2–15 digits, the first not 0.
func parseE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isLoopbackHost(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// dtmfKeys are the keys a Menu choice or finishOnKey may name.
const dtmfKeys = "0123456789*#ABCD"

// validVarName reports whether name may be assigned ($(…) name syntax).
func validVarName(name string) bool { return checkVarName(name) == nil }
