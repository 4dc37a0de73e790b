package prompts

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/paybridge/paybridge/internal/audiofile"
)

//go:embed en-GB/*.wav es-ES/*.wav
var bundled embed.FS

// BundledLang is the language of the default bundled pack.
const BundledLang = "en-GB"

// languages are the bundled packs, the default first. Each is the directory <tag>/ of WAVs
// that `make prompts` renders from <tag>.tsv.
var languages = []string{BundledLang, "es-ES"}

// Prompt is one decoded prompt.
type Prompt struct {
	Name     string
	Samples  []int16 // 8 kHz mono PCM; shared, do not modify
	Duration time.Duration
	Bundled  bool // true when it came from the bundled pack, not the plan's directory
	// Converted describes the format a plan's WAV had when it was not 8 kHz mono 16-bit PCM
	// and was converted at load ("44100 Hz, 2 channels, 16-bit PCM"); "" when it was.
	Converted string
}

// Set resolves prompt names: a plan's own directory first, then the bundled pack of its
// language. Decoded prompts are cached; a Set is safe for concurrent use by many calls.
type Set struct {
	dir   string
	lang  string
	log   *slog.Logger
	mu    sync.Mutex
	cache map[string]*Prompt
}

// Languages lists the languages of the bundled packs, the default (BundledLang) first.
func Languages() []string { return append([]string(nil), languages...) }

// MatchLanguage returns the bundled pack for a BCP 47 language tag: the pack of that exact
// tag (compared case-insensitively, "_" taken as "-"), else the first pack of the same
// primary language ("es" and "es-MX" → es-ES, "en-US" → en-GB). A language with no pack is
// an error wrapping ErrNoPack.
func MatchLanguage(tag string) (string, error) {
	t := strings.ReplaceAll(strings.TrimSpace(tag), "_", "-")
	for _, l := range languages {
		if strings.EqualFold(l, t) {
			return l, nil
		}
	}
	primary, _, _ := strings.Cut(t, "-")
	for _, l := range languages {
		if p, _, _ := strings.Cut(l, "-"); primary != "" && strings.EqualFold(p, primary) {
			return l, nil
		}
	}
	return "", fmt.Errorf("%w: %q (bundled: %s)", ErrNoPack, tag, strings.Join(languages, ", "))
}

// Open returns a Set that looks in dir before the default (en-GB) bundled pack. dir "" means
// the bundled pack only; a dir that does not exist or is not a directory is an error.
func Open(dir string) (*Set, error) { return OpenLang(dir, BundledLang) }

// OpenLang is Open with the bundled pack of language lang (see MatchLanguage).
func OpenLang(dir, lang string) (*Set, error) {
	pack, err := MatchLanguage(lang)
	if err != nil {
		return nil, err
	}
	if dir != "" {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("prompts: open %s: %w", dir, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("prompts: open %s: not a directory", dir)
		}
	}
	return &Set{dir: dir, lang: pack, log: slog.Default(), cache: map[string]*Prompt{}}, nil
}

// Dir returns the plan directory the Set looks in first ("" for none).
func (s *Set) Dir() string { return s.dir }

// Lang returns the language of the bundled pack the Set falls back to.
func (s *Set) Lang() string { return s.lang }

// SetLogger sets where the Set warns about WAVs it converted at load (default slog.Default).
func (s *Set) SetLogger(l *slog.Logger) {
	if l != nil {
		s.log = l
	}
}

// ValidName reports whether name can name a prompt: 1–128 characters of letters, digits,
// '-', '_' and '.', not starting with '.'.
func ValidName(name string) bool {
	if name == "" || len(name) > 128 || name[0] == '.' {
		return false
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// Load returns the named prompt.
func (s *Set) Load(name string) (*Prompt, error) {
	if !ValidName(name) {
		return nil, fmt.Errorf("%w: %q", ErrBadName, name)
	}
	s.mu.Lock()
	p, ok := s.cache[name]
	s.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := s.load(name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache[name] = p
	s.mu.Unlock()
	return p, nil
}

func (s *Set) load(name string) (*Prompt, error) {
	file := name + ".wav"
	if s.dir != "" {
		path := filepath.Join(s.dir, file)
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			p, err := decode(name, data, false)
			if err != nil {
				return nil, err
			}
			if p.Converted != "" {
				s.log.Warn("prompt converted at load: not 8 kHz mono 16-bit PCM", "prompt", name,
					"file", path, "format", p.Converted,
					"fix", "sox IN.wav -r 8000 -c 1 -b 16 -e signed-integer OUT.wav")
			}
			return p, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("prompts: %s: %w", name, err)
		}
	}
	data, err := bundled.ReadFile(s.lang + "/" + file)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return decode(name, data, true)
}

// decode reads a WAV in any layout audiofile.ConvertWAV knows, converting it to 8 kHz mono
// 16-bit PCM; what it was is kept in Prompt.Converted.
func decode(name string, data []byte, isBundled bool) (*Prompt, error) {
	samples, src, err := audiofile.ConvertWAV(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFormat, name, err)
	}
	p := &Prompt{
		Name:     name,
		Samples:  samples,
		Duration: time.Duration(len(samples)) * time.Second / SampleRate,
		Bundled:  isBundled,
	}
	if !src.Native() {
		p.Converted = src.String()
	}
	return p, nil
}

// Duration returns how long the named prompt plays.
func (s *Set) Duration(name string) (time.Duration, error) {
	p, err := s.Load(name)
	if err != nil {
		return 0, err
	}
	return p.Duration, nil
}

// Has reports whether the named prompt resolves.
func (s *Set) Has(name string) bool {
	_, err := s.Load(name)
	return err == nil
}

// BundledNames lists the prompts of the default bundled pack, sorted.
func BundledNames() []string { return PackNames(BundledLang) }

// PackNames lists the prompts of the bundled pack of language lang (see MatchLanguage),
// sorted; nil when there is no such pack.
func PackNames(lang string) []string {
	pack, err := MatchLanguage(lang)
	if err != nil {
		return nil
	}
	entries, _ := bundled.ReadDir(pack)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".wav"))
	}
	sort.Strings(names)
	return names
}
