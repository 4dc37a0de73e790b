package prompts

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

//go:embed en-GB/*.wav
var bundled embed.FS

// BundledLang is the language of the bundled pack.
const BundledLang = "en-GB"

// Prompt is one decoded prompt.
type Prompt struct {
	Name     string
	Samples  []int16 // 8 kHz mono PCM; shared, do not modify
	Duration time.Duration
	Bundled  bool // true when it came from the bundled pack, not the plan's directory
}

// Set resolves prompt names: a plan's own directory first, then the bundled pack. Decoded
// prompts are cached; a Set is safe for concurrent use by many calls.
type Set struct {
	dir   string
	mu    sync.Mutex
	cache map[string]*Prompt
}

// Open returns a Set that looks in dir before the bundled pack. dir "" means the bundled
// pack only; a dir that does not exist or is not a directory is an error.
func Open(dir string) (*Set, error) {
	if dir != "" {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("prompts: open %s: %w", dir, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("prompts: open %s: not a directory", dir)
		}
	}
	return &Set{dir: dir, cache: map[string]*Prompt{}}, nil
}

// Dir returns the plan directory the Set looks in first ("" for none).
func (s *Set) Dir() string { return s.dir }

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
				return nil, fmt.Errorf("prompts: %s: %w", path, errors.Unwrap(err))
			}
			return p, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("prompts: %s: %w", name, err)
		}
	}
	data, err := bundled.ReadFile(BundledLang + "/" + file)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return decode(name, data, true)
}

func decode(name string, data []byte, isBundled bool) (*Prompt, error) {
	samples, err := DecodeWAV(data)
	if err != nil {
		return nil, fmt.Errorf("prompts: %s: %w", name, err)
	}
	return &Prompt{
		Name:     name,
		Samples:  samples,
		Duration: time.Duration(len(samples)) * time.Second / SampleRate,
		Bundled:  isBundled,
	}, nil
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

// BundledNames lists the prompts of the bundled pack, sorted.
func BundledNames() []string {
	entries, _ := bundled.ReadDir(BundledLang)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".wav"))
	}
	sort.Strings(names)
	return names
}
