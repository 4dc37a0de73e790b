package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/internal/audiofile"
	"github.com/paybridge/paybridge/internal/replay"
	"github.com/paybridge/paybridge/sandbox"
	"github.com/paybridge/paybridge/tts"
)

func init() {
	register(&command{
		name:    "replay",
		usage:   "replay --plan FILE (--input FILE... | --digits KEYS) [--from NUM] [--to NUM] [--expect FILE] [--json]",
		summary: "run a call plan offline against recorded or typed keys on a virtual clock; prints the masked outcome as JSON",
		run:     runReplay,
	})
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// replayJob is one input of a replay run and what became of it.
type replayJob struct {
	name       string
	speechOut  string // --speech-out
	input      *replay.Input
	expectPath string // the expectation it is checked against ("" = none)
	expected   []byte
	res        *replay.Result
	err        error
	diffs      []string
}

func runReplay(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var inputs stringList
	planPath := fs.String("plan", "", "the call plan to run (required)")
	fs.Var(&inputs, "input", "a recorded call: WAV (PCM16/μ-law/A-law), raw .ul/.al/.s16, or .pcap; a directory means every recording in it (repeatable)")
	digits := fs.String("digits", "", "type keys instead: 0-9 * # A-D, each 100 ms on / 100 ms off; w waits 0.5 s, W 1 s")
	from := fs.String("from", "+447700900123", "the caller's number ($(Call.From))")
	to := fs.String("to", "", "the dialled number ($(Call.To)); default: the plan's first <Match> number")
	expect := fs.String("expect", "", "a JSON file the output must contain (subset match); exit 1 and print the difference otherwise; a directory holds one NAME.expect.json per input NAME.ext")
	asJSON := fs.Bool("json", false, "machine output: one compact JSON object per input on stdout, no progress bar")
	linger := fs.Duration("linger", replay.DefaultLinger, "how long the caller stays on the line after the input ends")
	parallel := fs.Int("parallel", runtime.GOMAXPROCS(0), "inputs replayed at once")
	start := fs.String("start", "", "the call's start time on the virtual clock (RFC 3339; default now)")
	verbose := fs.Bool("v", false, "log the engine's steps on stderr (masked, like every log)")
	faults := fs.String("faults", "", `sandbox fault injection as JSON, e.g. '{"fail_first":3,"paths":["/globalpci/v1/session"]}' (see docs/gateway.md)`)
	timeline := fs.Bool("timeline", false, "print each input's readable timeline on stderr: one line per step with its plan line, outcome, duration, keys, HTTP and speech (for reading, not parsing)")
	ttsEngine := fs.String("tts", "process", "text-to-speech engine for <Say>: process (the espeak-ng program: the same samples on every run), library (libespeak-ng: faster, not bit-identical) or off")
	ttsCache := fs.String("tts-cache", "", "directory of rendered speech, shared with serve's if you like (default: a temporary one for this run)")
	speechOut := fs.String("speech-out", "", "write every piece of speech the plan said to DIR as 8 kHz WAV files, INPUT-say-NN.wav")
	httpAllow := fs.String("http-allow", "public", "where the plan's ApiInteraction steps may connect, as serve --http-allow (the sandbox is always reachable)")
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, "usage: paybridge replay --plan FILE (--input FILE... | --digits KEYS) [--from NUM] [--to NUM] [--expect FILE] [--json]")
		fmt.Fprintln(env.stderr, "Runs a call plan offline: the keys of a recording (through the same DTMF detector as a live")
		fmt.Fprintln(env.stderr, "call) or typed with --digits, on a virtual clock, paying against the embedded sandbox on a")
		fmt.Fprintln(env.stderr, "loopback port. Prints {outcome, variables, events, …} as JSON; never a card digit.")
		fmt.Fprintln(env.stderr, "Exit status: 0 ok, 1 an expectation failed or an input could not be replayed, 2 usage or invalid plan.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	inputs = append(inputs, fs.Args()...) // inputs may also follow the flags
	if *planPath == "" || (len(inputs) == 0) == (*digits == "") {
		fmt.Fprintln(env.stderr, "paybridge replay: need --plan and exactly one of --input or --digits")
		fs.Usage()
		return 2
	}
	plan, ds := callplan.ParseFile(*planPath, env.getenv)
	if !ds.HasErrors() {
		ds = append(ds, engine.CheckSpeech(plan)...)
		ds.Sort()
	}
	if ds.HasErrors() {
		fmt.Fprint(env.stderr, ds.String())
		fmt.Fprintf(env.stderr, "paybridge replay: %s has errors; not running it\n", *planPath)
		return 2
	}
	if w := ds.Warnings(); len(w) > 0 && !*asJSON {
		fmt.Fprint(env.stderr, w.String())
	}
	var expectDir string
	var expected []byte
	if *expect != "" {
		if st, err := os.Stat(*expect); err == nil && st.IsDir() {
			expectDir = *expect // one expectation per input: DIR/<input name without extension>.expect.json
		} else {
			b, err := readExpectation(*expect)
			if err != nil {
				fmt.Fprintf(env.stderr, "paybridge replay: --expect %s: %v\n", *expect, err)
				return 2
			}
			expected = b
		}
	}
	var startAt time.Time
	if *start != "" {
		t, err := time.Parse(time.RFC3339, *start)
		if err != nil {
			fmt.Fprintf(env.stderr, "paybridge replay: --start: %v\n", err)
			return 2
		}
		startAt = t
	}
	if *to == "" && len(plan.Match) > 0 {
		*to = plan.Match[0]
	}

	var jobs []*replayJob
	if *digits != "" {
		in, err := replay.ParseDigits(*digits)
		if err != nil {
			fmt.Fprintf(env.stderr, "paybridge replay: --digits: %v\n", err)
			return 2
		}
		jobs = append(jobs, &replayJob{name: "digits", input: in})
	}
	for _, p := range expandInputs(inputs) {
		jobs = append(jobs, &replayJob{name: p})
	}

	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var f sandbox.Faults
	if *faults != "" {
		if err := json.Unmarshal([]byte(*faults), &f); err != nil {
			fmt.Fprintf(env.stderr, "paybridge replay: --faults: %v\n", err)
			return 2
		}
	}
	sb, err := replay.StartSandbox(logger, f)
	if err != nil {
		fmt.Fprintf(env.stderr, "paybridge replay: sandbox: %v\n", err)
		return 1
	}
	defer sb.Close()
	dest, err := engine.NewDestinations(strings.Fields(*httpAllow), sb.Addr())
	if err != nil {
		fmt.Fprintf(env.stderr, "paybridge replay: --http-allow: %v\n", err)
		return 2
	}
	hc := dest.HTTPClient()
	speech, closeSpeech, err := replaySpeech(plan, *ttsEngine, *ttsCache)
	if err != nil {
		fmt.Fprintf(env.stderr, "paybridge replay: %v\n", err)
		return 2
	}
	defer closeSpeech()
	if *speechOut != "" {
		if err := os.MkdirAll(*speechOut, 0o755); err != nil {
			fmt.Fprintf(env.stderr, "paybridge replay: --speech-out: %v\n", err)
			return 2
		}
	}

	wall := time.Now()
	bar := newProgress(env.stderr, len(jobs), !*asJSON && len(jobs) > 1)
	work := make(chan *replayJob)
	var wg sync.WaitGroup
	for range max(1, min(*parallel, len(jobs))) {
		wg.Go(func() {
			for j := range work {
				j.expectPath, j.expected = *expect, expected
				if expectDir != "" {
					j.expectPath = filepath.Join(expectDir, strings.TrimSuffix(filepath.Base(j.name), filepath.Ext(j.name))+".expect.json")
				}
				j.speechOut = *speechOut
				j.run(ctx, sb, plan, replay.Options{From: *from, To: *to, Linger: *linger, Start: startAt, Logger: logger, HTTPClient: hc, Speech: speech}, expectDir != "")
				bar.done()
			}
		})
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	bar.finish()

	failed, errored := 0, 0
	var virtual float64
	for _, j := range jobs {
		if j.err != nil {
			errored++
			fmt.Fprintf(env.stderr, "%s: %v\n", j.name, j.err)
			continue
		}
		virtual += j.res.Duration
		var b []byte
		if *asJSON || len(jobs) > 1 {
			b, _ = json.Marshal(j.res)
		} else {
			b, _ = json.MarshalIndent(j.res, "", "  ")
		}
		fmt.Fprintf(env.stdout, "%s\n", b)
		if *timeline {
			printTimeline(env.stderr, j.name, j.res)
		}
		if len(j.diffs) > 0 {
			failed++
			fmt.Fprintf(env.stderr, "%s: output does not match %s:\n", j.name, j.expectPath)
			for _, d := range j.diffs {
				fmt.Fprintf(env.stderr, "  %s\n", d)
			}
		}
	}
	if len(jobs) > 1 || *expect != "" {
		elapsed := time.Since(wall).Seconds()
		fmt.Fprintf(env.stderr, "replayed %d input(s): %d passed, %d failed, %d errors; %.1f s of calls in %.3f s (%.0f× real time)\n",
			len(jobs), len(jobs)-failed-errored, failed, errored, virtual, elapsed, virtual/max(elapsed, 1e-9))
	}
	if failed > 0 || errored > 0 {
		return 1
	}
	return 0
}

func (j *replayJob) run(ctx context.Context, sb *replay.Sandbox, plan *callplan.Plan, base replay.Options, perInput bool) {
	if perInput {
		if j.expected, j.err = readExpectation(j.expectPath); j.err != nil {
			j.err = fmt.Errorf("expectation: %w", j.err)
			return
		}
	}
	if j.input == nil {
		if j.input, j.err = replay.ReadInput(j.name); j.err != nil {
			return
		}
	}
	opts := sb.Options()
	opts.Plan, opts.From, opts.To, opts.Linger, opts.Start, opts.Logger = plan, base.From, base.To, base.Linger, base.Start, base.Logger
	opts.HTTPClient = base.HTTPClient
	opts.CallID = "replay-" + sanitizeID(j.input.Name)
	if base.Speech != nil && j.speechOut != "" {
		// Keep what this input said, in order, to write it out.
		n := 0
		opts.Speech = tts.RenderFunc(func(ctx context.Context, req tts.Request) (*tts.Audio, error) {
			a, err := base.Speech.Render(ctx, req)
			if err == nil {
				n++
				name := fmt.Sprintf("%s-say-%02d.wav", strings.TrimSuffix(filepath.Base(j.name), filepath.Ext(j.name)), n)
				if werr := audiofile.WriteWAVFile(filepath.Join(j.speechOut, name), a.Samples, audiofile.PCM16); werr != nil {
					return nil, werr
				}
			}
			return a, err
		})
	} else {
		opts.Speech = base.Speech
	}
	if j.res, j.err = replay.Run(ctx, j.input, opts); j.err != nil || j.expected == nil {
		return
	}
	j.diffs, j.err = replay.MatchJSON(j.expected, j.res)
}

// replaySpeech opens the text-to-speech engine a replay renders <Say> with, behind a cache
// (--tts-cache, or a temporary directory removed by the returned func). A plan that says
// nothing needs no engine at all.
func replaySpeech(plan *callplan.Plan, engineName, cacheDir string) (engine.Renderer, func(), error) {
	none := func() {}
	if len(callplan.Says(plan)) == 0 || engineName == "off" {
		return nil, none, nil
	}
	var eng tts.Engine
	switch engineName {
	case "process":
		e, err := tts.NewEspeakProcess("")
		if err != nil {
			return nil, none, fmt.Errorf("--tts process: %w", err)
		}
		eng = e
	case "library":
		e, err := tts.NewEspeak()
		if err != nil {
			return nil, none, fmt.Errorf("--tts library: %w", err)
		}
		eng = e
	default:
		return nil, none, fmt.Errorf("--tts %q: want process, library or off", engineName)
	}
	cleanup := none
	if cacheDir == "" {
		dir, err := os.MkdirTemp("", "paybridge-replay-tts-")
		if err != nil {
			return nil, none, err
		}
		cacheDir, cleanup = dir, func() { os.RemoveAll(dir) }
	}
	cache, err := tts.OpenCache(tts.CacheConfig{Dir: cacheDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		cleanup()
		return nil, none, fmt.Errorf("--tts-cache: %w", err)
	}
	return cache.Wrap(eng), cleanup, nil
}

// readExpectation reads an expect file and checks that it is JSON.
func readExpectation(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var probe any
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	return b, nil
}

// printTimeline writes a result's readable timeline (event.Timeline): one line per step with
// its plan line, outcome and duration, the keys of each entry folded into a count and a time,
// HTTP exchanges, speech and the variables the step set, ending with how the call ended:
//
//	vcc-visa.wav   7.34s  L52   Pay    success    9.8 s  card number: 16 digits in 3.1 s · …
func printTimeline(w io.Writer, name string, res *replay.Result) {
	for _, l := range res.Timeline() {
		fmt.Fprintf(w, "%s %s\n", name, l.String())
	}
}

// expandInputs replaces a directory by the recordings in it (by extension, sorted); files are
// kept as given, so a missing one is reported when it is read.
func expandInputs(args []string) []string {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			out = append(out, a)
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			out = append(out, a)
			continue
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			if _, err := audiofile.FormatFromPath(e.Name()); err == nil {
				out = append(out, filepath.Join(a, e.Name()))
			}
		}
	}
	return out
}

func sanitizeID(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

// progress draws "[#####.....] 12/40" on a terminal; elsewhere it prints nothing.
type progress struct {
	w     io.Writer
	total int
	mu    sync.Mutex
	n     int
	on    bool
}

func newProgress(w io.Writer, total int, want bool) *progress {
	return &progress{w: w, total: total, on: want && isTerminal(w)}
}

// isTerminal reports whether w is a character device (a terminal), not a file or a pipe.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if !p.on {
		return
	}
	const width = 30
	fill := p.n * width / p.total
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d", strings.Repeat("#", fill), strings.Repeat(".", width-fill), p.n, p.total)
}

func (p *progress) finish() {
	if p.on {
		fmt.Fprintln(p.w)
	}
}
