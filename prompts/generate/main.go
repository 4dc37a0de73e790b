// Command generate renders the bundled prompt packs from their wording: each prompts/<lang>.tsv
// (lines "name<TAB>wording", the wording in the tts package's markup; '#' starts a comment
// line) becomes prompts/<lang>/<name>.wav, 8 kHz mono 16-bit PCM, through the espeak-ng program
// (tts.EspeakProcess: the same request always renders to the same bytes). WAVs whose name is
// no longer listed are deleted. Every pack must have every prompt of the default pack, en-GB.
//
// It does not import the prompts package, which embeds the packs it makes (a new language's
// directory does not exist before its first run); the prompts tests check that the package
// lists every pack and that the names are valid.
//
//	go run ./prompts/generate            (make prompts)
//	go run ./prompts/generate -lang es-ES
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/paybridge/paybridge/internal/audiofile"
	"github.com/paybridge/paybridge/tts"
)

func main() {
	dir := flag.String("dir", "prompts", "the prompts package directory")
	only := flag.String("lang", "", "render only this pack (default: every pack)")
	flag.Parse()
	if err := run(*dir, *only); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

const defaultLang = "en-GB"

type line struct {
	name string
	segs []tts.Segment
}

func run(dir, only string) error {
	engine, err := tts.NewEspeakProcess("")
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.tsv"))
	if err != nil {
		return err
	}
	packs := map[string][]line{}
	var langs []string
	for _, f := range files {
		lang := strings.TrimSuffix(filepath.Base(f), ".tsv")
		lines, err := readWording(f)
		if err != nil {
			return err
		}
		packs[lang] = lines
		langs = append(langs, lang)
	}
	if packs[defaultLang] == nil {
		return fmt.Errorf("no %s.tsv in %s", defaultLang, dir)
	}
	want := names(packs[defaultLang])
	for lang, lines := range packs {
		if missing := diff(want, names(lines)); len(missing) > 0 {
			return fmt.Errorf("%s.tsv lacks prompts of the %s pack: %s", lang, defaultLang, strings.Join(missing, ", "))
		}
	}
	for _, lang := range langs {
		if only != "" && only != lang {
			continue
		}
		n, size, err := render(engine, filepath.Join(dir, lang), lang, packs[lang])
		if err != nil {
			return fmt.Errorf("%s: %w", lang, err)
		}
		fmt.Printf("%s: %d prompts, %d bytes (%s)\n", lang, n, size, engine.ID())
	}
	return nil
}

func readWording(path string) ([]line, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []line
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		name, wording, ok := strings.Cut(text, "\t")
		switch {
		case !ok:
			return nil, fmt.Errorf("%s:%d: want name<TAB>wording", path, n)
		case seen[name]:
			return nil, fmt.Errorf("%s:%d: %s listed twice", path, n, name)
		}
		seen[name] = true
		segs, err := tts.ParseMarkup(wording)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		out = append(out, line{name: name, segs: segs})
	}
	return out, sc.Err()
}

func names(lines []line) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.name
	}
	return out
}

func diff(want, have []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	return out
}

// render writes one pack, GOMAXPROCS prompts at a time, and deletes WAVs no longer listed.
func render(engine tts.Renderer, out, lang string, lines []line) (int, int64, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return 0, 0, err
	}
	errs := make([]error, len(lines))
	sizes := make([]int64, len(lines))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, l := range lines {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			a, err := engine.Render(context.Background(), tts.Request{Language: lang, Segments: l.segs})
			if err == nil {
				path := filepath.Join(out, l.name+".wav")
				err = audiofile.WriteWAVFile(path, a.Samples, audiofile.PCM16)
				sizes[i] = int64(44 + 2*len(a.Samples))
			}
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", l.name, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, 0, err
	}
	listed := map[string]bool{}
	var total int64
	for i, l := range lines {
		listed[l.name+".wav"] = true
		total += sizes[i]
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		if !listed[e.Name()] {
			if err := os.Remove(filepath.Join(out, e.Name())); err != nil {
				return 0, 0, err
			}
		}
	}
	return len(lines), total, nil
}
