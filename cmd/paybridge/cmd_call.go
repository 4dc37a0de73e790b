package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/paybridge/paybridge/internal/audiofile"
	"github.com/paybridge/paybridge/internal/tlsconf"
	"github.com/paybridge/paybridge/media"
	"github.com/paybridge/paybridge/siptest"
)

func init() {
	register(&command{
		name:    "call",
		usage:   "call sip:USER@HOST:PORT | sips:USER@HOST:PORT [--digits D | --play FILE] [--dtmf M] [--srtp]",
		summary: "place a test call: key digits or stream a recording, save what was heard, print a JSON summary",
		run:     runCall,
	})
}

func runCall(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	from := fs.String("from", "paybridge-call", "caller number (From user)")
	digits := fs.String("digits", "", "digits to key after the answer and the first prompt; w = 0.5 s pause, W = 1 s, | = wait for a line on standard input")
	play := fs.String("play", "", "stream this recording instead (WAV, raw .ul/.al/.s16, or pcap with RTP)")
	mode := fs.String("dtmf", siptest.DTMFRFC4733, "how digits are sent: rfc4733, inband or info")
	record := fs.String("record", "", "save what the caller heard to this WAV file")
	timeout := fs.Duration("timeout", 60*time.Second, "give up (and hang up) after this long")
	transport := fs.String("transport", "", "SIP transport: udp, tcp or tls (default udp; tls for a sips: URI)")
	srtp := fs.Bool("srtp", false, "offer SRTP (RTP/SAVP with SDES keys) and require it in the answer")
	srtpSuite := fs.String("srtp-suite", "", "offer only this SRTP suite (AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, AES_256_CM_HMAC_SHA1_80/_32, AEAD_AES_128_GCM, AEAD_AES_256_GCM); implies --srtp")
	caFile := fs.String("ca", "", "over TLS: trust the CA certificates in this PEM file (default: the system's)")
	insecure := fs.Bool("insecure-skip-verify", false, "over TLS: accept any server certificate (tests with throwaway certificates only)")
	clientCert := fs.String("cert", "", "over TLS: this caller's certificate (PEM) for mutual TLS")
	clientKey := fs.String("key", "", "over TLS: the private key of --cert (PEM)")
	hangup := fs.Bool("hangup", false, "hang up after the digits/recording instead of waiting for the far end")
	localIP := fs.String("local-ip", "", "local address for SIP and RTP (default: the one that reaches the target)")
	digitOn := fs.Duration("digit-duration", 100*time.Millisecond, "how long each key is held")
	digitOff := fs.Duration("digit-gap", 100*time.Millisecond, "pause after each key")
	verbose := fs.Bool("v", false, "log to stderr (SIP bodies other than SDP are redacted)")
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, "usage: paybridge call sip:USER@HOST:PORT | sips:USER@HOST:PORT [flags]")
		fs.PrintDefaults()
	}
	var target string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		target, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if target == "" && fs.NArg() > 0 {
		target = fs.Arg(0)
	}
	if target == "" {
		fs.Usage()
		return 2
	}
	if *digits != "" && *play != "" {
		fmt.Fprintln(env.stderr, "paybridge call: give --digits or --play, not both")
		return 2
	}
	cfg := siptest.CallerConfig{
		Target: target, From: *from, Transport: *transport, Digits: *digits, DTMF: *mode,
		DigitOn: *digitOn, DigitOff: *digitOff, Timeout: *timeout, Hangup: *hangup,
	}
	if strings.Contains(*digits, "|") {
		cfg.Proceed = linesOf(ctx, env.stdin)
	}
	if *hangup {
		cfg.HangupAfter = 500 * time.Millisecond
	}
	switch {
	case *srtpSuite != "":
		suite, ok := media.SuiteByName(*srtpSuite)
		if !ok {
			fmt.Fprintf(env.stderr, "paybridge call: --srtp-suite %q is not a suite paybridge speaks\n", *srtpSuite)
			return 2
		}
		cfg.SRTP = []media.SRTPSuite{suite}
	case *srtp:
		cfg.SRTP = media.DefaultSuites
	}
	if strings.HasPrefix(strings.ToLower(target), "sips:") || cfg.Transport == "tls" {
		tc, err := tlsconf.Client(tlsconf.ClientOptions{CAFile: *caFile, InsecureSkipVerify: *insecure, Cert: *clientCert, Key: *clientKey})
		if err != nil {
			fmt.Fprintf(env.stderr, "paybridge call: %v\n", err)
			return 2
		}
		cfg.TLS = tc
	} else if *caFile != "" || *insecure || *clientCert != "" {
		fmt.Fprintln(env.stderr, "paybridge call: --ca, --insecure-skip-verify and --cert are for TLS: dial a sips: URI or give --transport tls")
		return 2
	}
	if *localIP != "" {
		ip, err := netip.ParseAddr(*localIP)
		if err != nil {
			fmt.Fprintf(env.stderr, "paybridge call: --local-ip: %v\n", err)
			return 2
		}
		cfg.LocalIP = ip
	}
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if *play != "" {
		if err := loadPlayback(&cfg, *play); err != nil {
			fmt.Fprintf(env.stderr, "paybridge call: --play: %v\n", err)
			return 2
		}
	}
	var heard []int16
	if *record != "" {
		cfg.Heard = func(pcm []int16) { heard = pcm }
	}
	res, err := siptest.Dial(ctx, cfg)
	if err != nil {
		fmt.Fprintf(env.stderr, "paybridge call: %v\n", err)
		return 2
	}
	if *record != "" {
		if err := audiofile.WriteWAVFile(*record, heard, audiofile.PCM16); err != nil {
			fmt.Fprintf(env.stderr, "paybridge call: --record: %v\n", err)
			if res.Error == "" {
				res.Error = "recording not saved"
			}
		}
	}
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	enc.Encode(res)
	fmt.Fprintln(env.stderr, callSummary(res))
	if !res.Answered || res.Error != "" {
		return 1
	}
	return 0
}

// callSummary says in one line what the caller can know of the call: who answered (and the
// id the server gave the call, to find it in the console), what was heard, who hung up.
func callSummary(r *siptest.CallerResult) string {
	var b strings.Builder
	b.WriteString("call")
	if r.ServerCallID != "" {
		fmt.Fprintf(&b, " %s", r.ServerCallID)
	}
	switch {
	case !r.Answered && r.Status >= 300:
		fmt.Fprintf(&b, ": refused, %d %s", r.Status, r.Reason)
	case !r.Answered:
		fmt.Fprintf(&b, ": not answered")
	default:
		fmt.Fprintf(&b, ": answered after %d ms over %s (%s", r.AnswerMS, strings.ToUpper(r.Transport), r.Codec)
		if r.EventPT >= 0 {
			fmt.Fprintf(&b, ", telephone-event %d", r.EventPT)
		}
		if r.SRTP != "" {
			fmt.Fprintf(&b, ", SRTP %s", r.SRTP)
		} else {
			b.WriteString(", plain RTP")
		}
		fmt.Fprintf(&b, "); heard %.1f s of audio", float64(r.HeardMS)/1000)
		if !r.PromptHeard {
			b.WriteString(" (no prompt)")
		}
		fmt.Fprintf(&b, "; %d digit(s) sent (%s)", r.DigitsSent, r.DTMF)
		switch {
		case r.HangupBy == "remote":
			fmt.Fprintf(&b, "; the far end hung up after %.1f s", float64(r.FarEndBYEMS)/1000)
		case r.HangupBy == "local":
			fmt.Fprintf(&b, "; this caller hung up after %.1f s", float64(r.DurationMS)/1000)
		case r.TimedOut:
			b.WriteString("; still up at --timeout, hung up")
		}
	}
	if r.Error != "" {
		fmt.Fprintf(&b, "; %s", r.Error)
	}
	return b.String()
}

// loadPlayback reads --play: audio files become PCM, a pcap's RTP packets (those of its first
// SSRC) are replayed with their capture timing.
func loadPlayback(cfg *siptest.CallerConfig, path string) error {
	f, err := audiofile.FormatFromPath(path)
	if err != nil {
		return err
	}
	if f != audiofile.FormatPcap {
		pcm, err := audiofile.ReadAudioFile(path, f)
		if err != nil {
			return err
		}
		cfg.Play = pcm
		return nil
	}
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	capture, err := audiofile.ReadPcap(file)
	if err != nil {
		return err
	}
	if len(capture.RTP) == 0 {
		return fmt.Errorf("%s holds no RTP packets", path)
	}
	ssrc := capture.RTP[0].Header.SSRC
	t0 := capture.RTP[0].Time
	for _, p := range capture.RTP {
		if p.Header.SSRC != ssrc {
			continue
		}
		h := p.Header
		b, err := h.Marshal()
		if err != nil {
			continue
		}
		cfg.PlayRTP = append(cfg.PlayRTP, siptest.RecordedRTP{At: p.Time.Sub(t0), Packet: append(b, p.Payload...)})
	}
	return nil
}

// linesOf sends a value for each line read from r: each releases one '|' of the digit script,
// so whoever drives the call (a test, a person at a terminal) keys a field only when the far
// end is ready for it.
func linesOf(ctx context.Context, r io.Reader) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case ch <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}
