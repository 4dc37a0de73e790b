package tts

import "strings"

// voiceSet holds the names espeak-ng knows a voice by, lower case: its name (spaces as
// underscores too), its identifier ("gmw/en") and the identifier's last element, and its
// languages ("en-gb").
type voiceSet map[string]bool

func (v voiceSet) add(names ...string) {
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		v[n] = true
		v[strings.ReplaceAll(n, " ", "_")] = true
		if i := strings.LastIndexByte(n, '/'); i >= 0 {
			v[n[i+1:]] = true
		}
	}
}

// has reports whether espeak-ng knows voice, ignoring a "+variant" suffix.
func (v voiceSet) has(voice string) bool {
	base, _, _ := strings.Cut(voice, "+")
	return v[strings.ToLower(base)]
}

// espeakVoice is espeak-ng's voice for a language tag: en-gb (British English; en-us for
// en-US), es (Spain; es-419 for Latin American tags).
func espeakVoice(lang string) string {
	primary, region, _ := strings.Cut(lang, "-")
	switch {
	case primary == "en" && region == "US":
		return "en-us"
	case primary == "en":
		return "en-gb"
	case primary == "es" && region != "" && region != "ES":
		return "es-419"
	}
	return primary
}
