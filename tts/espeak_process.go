package tts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/paybridge/paybridge/internal/audiofile"
)

// EspeakProcess renders by running the espeak-ng program once per stretch of speech (SSML on
// its standard input, a WAV on its standard output). It renders in parallel, one process per
// request, at the cost of a process start each time; Espeak is faster (see the package
// benchmarks) and is the default. Every process starts from the same state, so a request
// always renders to the same samples: `make prompts` uses it for reproducible packs.
type EspeakProcess struct {
	// Path is the program; "" finds espeak-ng on $PATH.
	Path string

	once    sync.Once
	version string
	voices  voiceSet
	err     error
}

// NewEspeakProcess checks that the program runs and returns the engine.
func NewEspeakProcess(path string) (*EspeakProcess, error) {
	e := &EspeakProcess{Path: path}
	if err := e.init(); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *EspeakProcess) init() error {
	e.once.Do(func() {
		if e.Path == "" {
			e.Path = "espeak-ng"
		}
		p, err := exec.LookPath(e.Path)
		if err != nil {
			e.err = fmt.Errorf("%w: %v (Debian package espeak-ng)", ErrEngine, err)
			return
		}
		e.Path = p
		out, err := exec.Command(p, "--version").Output()
		if err != nil {
			e.err = fmt.Errorf("%w: %s --version: %v", ErrEngine, p, err)
			return
		}
		// "eSpeak NG text-to-speech: 1.51  Data at: …"
		v := strings.TrimSpace(string(out))
		if _, after, ok := strings.Cut(v, ":"); ok {
			if f := strings.Fields(after); len(f) > 0 {
				v = f[0]
			}
		}
		e.version = v
		out, err = exec.Command(p, "--voices").Output()
		if err != nil {
			e.err = fmt.Errorf("%w: %s --voices: %v", ErrEngine, p, err)
			return
		}
		e.voices = parseVoiceList(string(out))
	})
	return e.err
}

// ID names the engine and its version for cache keys: "espeak-ng 1.51". It is the library's
// ID too: both give the same speech, so they share cache entries.
func (e *EspeakProcess) ID() string {
	_ = e.init()
	return "espeak-ng " + e.version
}

// Render renders req; ctx cancels the running process.
func (e *EspeakProcess) Render(ctx context.Context, req Request) (*Audio, error) {
	if err := e.init(); err != nil {
		return nil, err
	}
	return renderScript(ctx, e, req, espeakVoice)
}

var otherLanguages = regexp.MustCompile(`\(([^ ()]+) [0-9]+\)`)

// parseVoiceList reads `espeak-ng --voices`: a header line, then per voice "Pty Language
// Age/Gender VoiceName File Other-Languages", the other languages as "(en-gb 3)(en 2)".
func parseVoiceList(out string) voiceSet {
	vs := voiceSet{}
	for _, line := range strings.Split(out, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		vs.add(f[1], f[3], f[4])
		for _, m := range otherLanguages.FindAllStringSubmatch(strings.Join(f[5:], " "), -1) {
			vs.add(m[1])
		}
	}
	return vs
}

func (e *EspeakProcess) speak(ctx context.Context, voice string, wpm int, ssml string) ([]int16, int, error) {
	if !e.voices.has(voice) {
		return nil, 0, fmt.Errorf("%w: espeak-ng has no voice %q", ErrVoice, voice)
	}
	cmd := exec.CommandContext(ctx, e.Path, "--stdout", "-m", "-b", "1", "-v", voice, "-s", strconv.Itoa(wpm), "--stdin")
	cmd.Stdin = strings.NewReader("<speak>" + ssml + "</speak>")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		var ee *exec.ExitError
		if errors.As(err, &ee) && strings.Contains(msg, "voice") {
			return nil, 0, fmt.Errorf("%w: espeak-ng: %s", ErrVoice, msg)
		}
		return nil, 0, fmt.Errorf("%w: espeak-ng: %v: %s", ErrEngine, err, clip(msg, 200))
	}
	pcm, src, err := audiofile.DecodeWAVAny(stdout.Bytes())
	if err != nil {
		return nil, 0, fmt.Errorf("%w: espeak-ng output: %w", ErrEngine, err)
	}
	return pcm, src.SampleRate, nil
}
