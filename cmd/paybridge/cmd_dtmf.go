package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/internal/audiofile"
)

func init() {
	register(&command{
		name:    "dtmf",
		usage:   "dtmf decode|gen|mask [flags] FILE",
		summary: "offline DTMF tools: find the keys in audio or a pcap, make tones, mask tones",
		run:     runDTMF,
	})
}

func runDTMF(ctx context.Context, env *cmdEnv, args []string) int {
	if len(args) == 0 {
		dtmfUsage(env.stderr)
		return 2
	}
	switch args[0] {
	case "decode":
		return dtmfDecode(env, args[1:])
	case "gen":
		return dtmfGen(env, args[1:])
	case "mask":
		return dtmfMask(env, args[1:])
	case "-h", "--help", "help":
		dtmfUsage(env.stdout)
		return 0
	}
	fmt.Fprintf(env.stderr, "paybridge dtmf: unknown subcommand %q\n", args[0])
	dtmfUsage(env.stderr)
	return 2
}

func dtmfUsage(w io.Writer) {
	fmt.Fprint(w, `usage:
  paybridge dtmf decode [--format wav|ulaw|alaw|s16|pcap] [--event-pt N] [--red-pt N] FILE
      one JSON line per key: {"digit":"5","start_ms":1234,"end_ms":1290,"source":"inband"}
  paybridge dtmf gen --digits "123#" -o OUT.wav [--level -10] [--twist 0] [--on 60ms] [--off 60ms] [--law ulaw|alaw]
  paybridge dtmf mask IN -o OUT.wav [--format F]
      writes the audio with every tone replaced by silence; prints {"masked_digits":N,"lookahead_ms":M}
`)
}

// parseArgs parses flags that may come before or after the positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// flagExit is the exit status for a flag parsing error: 0 for -h, 2 otherwise.
func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// digitLine is the JSON shape other tools read from `dtmf decode`.
type digitLine struct {
	Digit   string `json:"digit"`
	StartMS int64  `json:"start_ms"`
	EndMS   int64  `json:"end_ms"`
	Source  string `json:"source"`
}

func dtmfDecode(env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("dtmf decode", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	format := fs.String("format", "", "input format: wav, ulaw, alaw, s16 or pcap (default: from the extension)")
	eventPT := fs.Uint("event-pt", 0, "pcap: telephone-event payload type (default: any dynamic type with 4-byte payloads)")
	redPT := fs.Uint("red-pt", 0, "pcap: RFC 2198 payload type carrying telephone-events")
	eventRate := fs.Int("event-rate", 8000, "pcap: telephone-event clock rate")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.stderr, "paybridge dtmf decode: want exactly one FILE")
		return 2
	}
	if *eventPT > 127 || *redPT > 127 {
		fmt.Fprintln(env.stderr, "paybridge dtmf decode: payload types are 0-127")
		return 2
	}
	path := pos[0]
	f := audiofile.Format("")
	if *format != "" {
		if f, err = audiofile.ParseFormat(*format); err != nil {
			fmt.Fprintf(env.stderr, "paybridge dtmf decode: %v\n", err)
			return 2
		}
	} else if f, err = audiofile.FormatFromPath(path); err != nil {
		fmt.Fprintf(env.stderr, "paybridge dtmf decode: %v\n", err)
		return 1
	}
	var evs []dtmf.Event
	if f == audiofile.FormatPcap {
		fh, err := os.Open(path)
		if err != nil {
			fmt.Fprintf(env.stderr, "paybridge dtmf decode: %v\n", err)
			return 1
		}
		c, err := audiofile.ReadPcap(fh)
		fh.Close()
		if err != nil {
			fmt.Fprintf(env.stderr, "paybridge dtmf decode: %s: %v\n", path, err)
			return 1
		}
		evs = audiofile.CaptureDigits(c, audiofile.CaptureOptions{EventPT: uint8(*eventPT), REDPT: uint8(*redPT), EventRate: *eventRate})
	} else {
		pcm, err := audiofile.ReadAudioFile(path, f)
		if err != nil {
			fmt.Fprintf(env.stderr, "paybridge dtmf decode: %s: %v\n", path, err)
			return 1
		}
		evs = audiofile.AudioDigits(pcm)
	}
	enc := json.NewEncoder(env.stdout)
	for _, e := range evs {
		// an offline analysis tool on the user's own file: showing the key is the point
		if err := enc.Encode(digitLine{Digit: string(e.Digit.Char()), StartMS: e.Start.Milliseconds(),
			EndMS: e.End.Milliseconds(), Source: e.Source.String()}); err != nil {
			fmt.Fprintf(env.stderr, "paybridge dtmf decode: %v\n", err)
			return 1
		}
	}
	return 0
}

func dtmfGen(env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("dtmf gen", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	digits := fs.String("digits", "", "keys to generate (0-9 * # A-D; ',' or ' ' is a pause)")
	out := fs.String("o", "", "output WAV file")
	level := fs.Float64("level", -10, "level of the low tone in dBm0")
	twist := fs.Float64("twist", 0, "high-tone level minus low-tone level in dB")
	on := fs.Duration("on", 60*time.Millisecond, "tone duration")
	off := fs.Duration("off", 60*time.Millisecond, "silence after each tone")
	law := fs.String("law", "", "write a G.711 WAV: ulaw or alaw (default 16-bit PCM)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 0 || *out == "" || *digits == "" {
		fmt.Fprintln(env.stderr, "paybridge dtmf gen: want --digits KEYS -o OUT.wav")
		return 2
	}
	for i := 0; i < len(*digits); i++ {
		c := (*digits)[i]
		if _, ok := dtmf.ParseDigit(c); !ok && c != ',' && c != ' ' {
			fmt.Fprintf(env.stderr, "paybridge dtmf gen: %q is not a DTMF key\n", c)
			return 2
		}
	}
	if *on <= 0 || *off < 0 || *level > 3.14 || *level+*twist > 3.14 {
		fmt.Fprintln(env.stderr, "paybridge dtmf gen: --on must be positive, --off not negative, levels at most +3.14 dBm0")
		return 2
	}
	enc := audiofile.PCM16
	switch strings.ToLower(*law) {
	case "":
	case "ulaw", "u-law", "mulaw", "pcmu":
		enc = audiofile.ULaw
	case "alaw", "a-law", "pcma":
		enc = audiofile.ALaw
	default:
		fmt.Fprintf(env.stderr, "paybridge dtmf gen: --law %q: want ulaw or alaw\n", *law)
		return 2
	}
	opt := dtmf.ToneOptions{Level: *level, Twist: *twist, Duration: *on, Gap: *off}
	if *off == 0 {
		opt.Gap = -1
	}
	pcm := dtmf.GenerateDigits(*digits, opt)
	if err := audiofile.WriteWAVFile(*out, pcm, enc); err != nil {
		fmt.Fprintf(env.stderr, "paybridge dtmf gen: %v\n", err)
		return 1
	}
	return 0
}

func dtmfMask(env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("dtmf mask", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	out := fs.String("o", "", "output WAV file")
	format := fs.String("format", "", "input format: wav, ulaw, alaw or s16 (default: from the extension)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 1 || *out == "" {
		fmt.Fprintln(env.stderr, "paybridge dtmf mask: want IN -o OUT.wav")
		return 2
	}
	in := pos[0]
	f := audiofile.Format("")
	if *format != "" {
		if f, err = audiofile.ParseFormat(*format); err != nil {
			fmt.Fprintf(env.stderr, "paybridge dtmf mask: %v\n", err)
			return 2
		}
	}
	if f == audiofile.FormatPcap || (f == "" && strings.EqualFold(filepath.Ext(in), ".pcap")) {
		fmt.Fprintln(env.stderr, "paybridge dtmf mask: pcap input is not supported; mask audio files")
		return 2
	}
	pcm, err := audiofile.ReadAudioFile(in, f)
	if err != nil {
		fmt.Fprintf(env.stderr, "paybridge dtmf mask: %s: %v\n", in, err)
		return 1
	}
	enc := audiofile.PCM16
	if f == "" || f == audiofile.FormatWAV {
		if fh, err := os.Open(in); err == nil {
			if _, info, err := audiofile.ReadWAV(fh); err == nil {
				enc = info.Encoding
			}
			fh.Close()
		}
	}
	m := dtmf.NewMasker(dtmf.MaskerConfig{})
	var masked []int16
	for i := 0; i < len(pcm); i += 160 {
		masked = append(masked, m.Process(pcm[i:min(i+160, len(pcm))])...)
	}
	masked = append(masked, m.Flush()...)
	lag := int(m.Lookahead() * dtmf.SampleRate / time.Second)
	masked = masked[lag : lag+len(pcm)] // aligned with the input
	if err := audiofile.WriteWAVFile(*out, masked, enc); err != nil {
		fmt.Fprintf(env.stderr, "paybridge dtmf mask: %v\n", err)
		return 1
	}
	b, _ := json.Marshal(struct {
		MaskedDigits int   `json:"masked_digits"`
		LookaheadMS  int64 `json:"lookahead_ms"`
	}{m.Masked(), m.Lookahead().Milliseconds()})
	fmt.Fprintln(env.stdout, string(b))
	return 0
}
