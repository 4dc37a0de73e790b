package tts

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// SayAs says how a segment's text is spoken (SSML's say-as interpret-as).
type SayAs string

const (
	SayText       SayAs = ""           // ordinary text, read by the engine's own rules
	SayDigits     SayAs = "digits"     // each digit on its own: "4242" → four two four two; '*' star, '#' hash
	SayCharacters SayAs = "characters" // spelled: "ch_6dy" → c h underscore six d y
	SayCurrency   SayAs = "currency"   // an amount: GBP "12.50" → twelve pounds fifty
	SayDate       SayAs = "date"       // a date in Segment.Format order: "2026-11-22" → the twenty second of November twenty twenty six
	SayCardinal   SayAs = "cardinal"   // a number: "1234" → one thousand two hundred and thirty four
	SayBreak      SayAs = "break"      // silence of Segment.Pause
)

// Limits of one request: a prompt, not a book.
const (
	MaxTextBytes = 4000             // all segment text together
	MaxSegments  = 256              //
	MaxPause     = 10 * time.Second // one break
	MinRate      = 80               // words per minute (espeak-ng's range)
	MaxRate      = 450              //
	DefaultRate  = 165              // the rate the bundled prompt packs are rendered at
	DefaultLang  = "en-GB"
)

// Segment is one piece of a request, spoken as its SayAs says.
type Segment struct {
	SayAs SayAs
	Text  string
	// Currency is SayCurrency's ISO 4217 code (GBP, USD, EUR). "" takes it from Text: "GBP
	// 12.50", "12.50 GBP", "£12.50", "$12.50", "€12.50".
	Currency string
	// Format is SayDate's field order: "ymd" (the default, ISO 8601 "2026-11-22"), "dmy",
	// "mdy", "ym", "my", "md", "dm". Fields are separated by '-', '/', '.' or a space; "ymd"
	// also takes "20261122".
	Format string
	// Pause is SayBreak's silence, 0 to MaxPause.
	Pause time.Duration
}

// Request is what to say and how. Text, when set, is spoken before Segments.
type Request struct {
	Text     string    // plain text: shorthand for a leading SayText segment
	Segments []Segment // say-as pieces in order
	Voice    string    // engine voice ("en-gb", "es", "en-gb+f3", or an HTTP service's name); "" = the language's default
	Language string    // BCP 47 tag; "" = DefaultLang. Say-as rules exist for en-* and es-*.
	Rate     int       // words per minute, MinRate–MaxRate; 0 = DefaultRate
}

// Text is a request for plain text in a language with its default voice and rate.
func Text(language, text string) Request { return Request{Language: language, Text: text} }

// Normalize returns the request as it will be rendered: defaults filled in (language tag in
// canonical case, rate; Voice "" stays "", each engine has its default per language), Text
// folded into Segments, and every limit checked. Engines and the cache call it; consumers may call it to
// validate a request early (at plan load), which also checks every say-as value.
func (r Request) Normalize() (Request, error) {
	out := Request{Voice: r.Voice, Rate: r.Rate}
	lang, err := canonicalLang(r.Language)
	if err != nil {
		return out, err
	}
	out.Language = lang
	if out.Rate == 0 {
		out.Rate = DefaultRate
	}
	if out.Rate < MinRate || out.Rate > MaxRate {
		return out, fmt.Errorf("%w: rate %d words per minute (want %d–%d)", ErrRequest, r.Rate, MinRate, MaxRate)
	}
	if !validVoice(out.Voice) {
		return out, fmt.Errorf("%w: voice name %q (letters, digits, '-', '_', '+', '.'; at most 64)", ErrVoice, r.Voice)
	}
	if r.Text != "" {
		out.Segments = append(out.Segments, Segment{Text: r.Text})
	}
	out.Segments = append(out.Segments, r.Segments...)
	if len(out.Segments) == 0 {
		return out, fmt.Errorf("%w: nothing to say", ErrRequest)
	}
	if len(out.Segments) > MaxSegments {
		return out, fmt.Errorf("%w: %d segments (at most %d)", ErrRequest, len(out.Segments), MaxSegments)
	}
	total := 0
	for i, s := range out.Segments {
		total += len(s.Text)
		if !utf8.ValidString(s.Text) {
			return out, fmt.Errorf("%w: segment %d is not UTF-8", ErrRequest, i+1)
		}
		switch s.SayAs {
		case SayText, SayDigits, SayCharacters, SayCurrency, SayDate, SayCardinal:
		case SayBreak:
			if s.Pause < 0 || s.Pause > MaxPause {
				return out, fmt.Errorf("%w: break of %v (want 0–%v)", ErrRequest, s.Pause, MaxPause)
			}
		default:
			return out, fmt.Errorf("%w: say-as %q (want digits, characters, currency, date, cardinal or break)", ErrSayAs, s.SayAs)
		}
	}
	if total > MaxTextBytes {
		return out, fmt.Errorf("%w: %d bytes of text (at most %d)", ErrRequest, total, MaxTextBytes)
	}
	if _, err := buildScript(out); err != nil {
		return out, err
	}
	return out, nil
}

// canonicalLang checks a BCP 47 tag and puts it in canonical case: "en-gb" → "en-GB",
// "es_es" → "es-ES", "" → DefaultLang. Say-as rules need a known primary language.
func canonicalLang(tag string) (string, error) {
	if tag == "" {
		return DefaultLang, nil
	}
	parts := strings.Split(strings.ReplaceAll(tag, "_", "-"), "-")
	for i, p := range parts {
		if p == "" || len(p) > 8 || strings.IndexFunc(p, func(c rune) bool {
			return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')
		}) >= 0 {
			return "", fmt.Errorf("%w: %q is not a language tag", ErrLanguage, tag)
		}
		switch {
		case i == 0:
			parts[i] = strings.ToLower(p)
		case len(p) == 2:
			parts[i] = strings.ToUpper(p)
		case len(p) == 4:
			parts[i] = strings.ToUpper(p[:1]) + strings.ToLower(p[1:])
		default:
			parts[i] = strings.ToLower(p)
		}
	}
	if rulesFor(parts[0]) == nil {
		return "", fmt.Errorf("%w: %q (say-as rules exist for en and es)", ErrLanguage, tag)
	}
	return strings.Join(parts, "-"), nil
}

func validVoice(v string) bool {
	if len(v) > 64 {
		return false
	}
	for _, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '+', c == '.':
		default:
			return false
		}
	}
	return true
}

// keyVersion changes whenever the package's text rules or audio processing change, so that a
// cache never serves audio the current code would not make.
const keyVersion = "paybridge-tts/1"

// Key is the cache key of a normalised request rendered by the engine named engineID: a hex
// SHA-256 over the engine, the package's rules version, voice, language, rate and every
// segment. Two requests that normalise alike share a key.
func (r Request) Key(engineID string) string {
	h := sha256.New()
	field := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	field(keyVersion)
	field(engineID)
	field(r.Voice)
	field(r.Language)
	field(fmt.Sprint(r.Rate))
	field(r.Text)
	for _, s := range r.Segments {
		field(string(s.SayAs))
		field(s.Text)
		field(s.Currency)
		field(s.Format)
		field(fmt.Sprint(int64(s.Pause)))
	}
	return hex.EncodeToString(h.Sum(nil))
}
