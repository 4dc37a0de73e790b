package tts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/paybridge/paybridge/internal/media"
)

// EspeakProcess renders by running the espeak-ng program once per stretch of speech (SSML on
// its standard input, a WAV on its standard output). It needs no cgo and renders in parallel,
// one process per request, at the cost of a process start each time; Espeak is faster (see
// the package benchmarks) and is the default.
type EspeakProcess struct {
	// Path is the program; "" finds espeak-ng on $PATH.
	Path string

	once    sync.Once
	version string
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

func (e *EspeakProcess) speak(ctx context.Context, voice string, wpm int, ssml string) ([]int16, int, error) {
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
	pcm, src, err := media.DecodeWAVAny(stdout.Bytes())
	if err != nil {
		return nil, 0, fmt.Errorf("%w: espeak-ng output: %w", ErrEngine, err)
	}
	return pcm, src.SampleRate, nil
}
