package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/ivr"
	"github.com/paybridge/paybridge/loadtest/pcapgen"
)

// The bridge phase: every caller is bridged to an agent (a SIPp PBX that answers, holds and
// echoes the audio it gets), a secure capture runs on the bridge, and the caller keys the
// card. It counts the keys paybridge takes on the secure side (0 lost is the goal) and prints
// the agent-side audio figures of the caller→agent direction: the most any relayed sample
// waited (jitter buffer + masker) and the frames due while the caller was sending that had
// nothing to play.

type bridgeFigures struct {
	mu         sync.Mutex
	dialFailed int
	maxDelay   []time.Duration
	frames     int64
	skipped    int64
	callsSkip  int // calls with at least one skipped frame
}

func bridgePhase(sipp, scenarios, work string, calls int, rate float64, mode string) bool {
	pbxPort := freePort()
	pbxSF := rewrite(filepath.Join(scenarios, "pbx_answer_hold.xml"), filepath.Join(work, "pbx.xml"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pbxDir := filepath.Join(work, "pbx")
	os.MkdirAll(pbxDir, 0o755)
	var pbxOut bytes.Buffer
	pbx := exec.CommandContext(ctx, "nice", "-n", "10", sipp, "-sf", pbxSF, "-i", "127.0.0.1", "-p", strconv.Itoa(pbxPort),
		"-mp", strconv.Itoa(freePort()&^1), "-rtp_echo", "-nostdin", "-max_socket", "10000", "-trace_err",
		"-error_file", filepath.Join(pbxDir, "err.log"))
	pbx.Dir = pbxDir
	pbx.Stdout, pbx.Stderr = &pbxOut, &pbxOut
	if err := pbx.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "ivrload: PBX:", err)
		return false
	}
	defer func() { cancel(); pbx.Wait() }()
	time.Sleep(500 * time.Millisecond) // SIPp binds its port

	var res result
	var fig bridgeFigures
	agent := "sip:agent@127.0.0.1:" + strconv.Itoa(pbxPort)
	s := newServer(func(ctx context.Context, call *ivr.Call) {
		br, d := call.Dial(ctx, engine.DialRequest{Targets: []engine.DialTarget{{URI: agent}}, Timeout: 20 * time.Second})
		if br == nil {
			fig.mu.Lock()
			fig.dialFailed++
			fig.mu.Unlock()
			fmt.Fprintf(os.Stderr, "dial: %s %d %s\n", d.Status, d.SIPStatus, d.Reason)
			call.Hangup(ctx, "no agent")
			return
		}
		br.SetCapture(engine.CaptureSecure, false)
		var got []byte
		quiet := 20 * time.Second
	loop:
		for {
			select {
			case e, ok := <-call.Digits():
				if !ok {
					break loop
				}
				got = append(got, e.Digit.Char())
				if len(got) >= len(card) {
					quiet = 400 * time.Millisecond
				}
			case <-br.Done():
				break loop
			case <-time.After(quiet):
				break loop
			}
		}
		switch {
		case string(got) == card:
			res.exact.Add(1)
		case len(got) == 0:
			res.noDigits.Add(1)
		case len(got) < len(card):
			res.missed.Add(1)
		case len(got) > len(card):
			res.extra.Add(1)
		default:
			res.wrong.Add(1)
		}
		st := br.Stats()
		fig.mu.Lock()
		fig.maxDelay = append(fig.maxDelay, st.MaxDelay)
		fig.frames += st.Frames
		fig.skipped += st.FramesSkipped
		if st.FramesSkipped > 0 {
			fig.callsSkip++
		}
		fig.mu.Unlock()
		hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
		br.Hangup(hctx)
		hcancel()
		call.Hangup(ctx, "done")
	})
	defer s.Close()

	// The keys start 2 s after the answer: the agent's leg is up by then.
	opt := pcapgen.Options{Lead: 2 * time.Second}
	var sf, how string
	switch mode {
	case "inband":
		audio := filepath.Join(work, "bridge.ulaw")
		os.WriteFile(audio, pcapgen.InbandULaw(card, opt), 0o644)
		sf = rewrite(filepath.Join(scenarios, "uac_card_inband.xml"), filepath.Join(work, "bridge.xml"), "@AUDIO@", audio)
		how = "in-band tones via SIPp rtp_stream"
	default:
		pcap := filepath.Join(work, "bridge.pcap")
		var b bytes.Buffer
		pcapgen.WriteRFC4733(&b, card, opt)
		os.WriteFile(pcap, b.Bytes(), 0o644)
		sf = rewrite(filepath.Join(scenarios, "uac_card_pcap.xml"), filepath.Join(work, "bridge.xml"), "@PCAP@", pcap)
		how = "RFC 4733 from a generated pcap"
	}
	var peak, peakRSS atomic.Int64
	stop := sample(s, &peak, &peakRSS)
	start := time.Now()
	st, err := runSIPp(sipp, sf, s.Addr().String(), work, "bridge", calls, rate, calls, true)
	stop()
	elapsed := time.Since(start)

	fig.mu.Lock()
	defer fig.mu.Unlock()
	slices.Sort(fig.maxDelay)
	q := func(p float64) time.Duration {
		if len(fig.maxDelay) == 0 {
			return 0
		}
		i := min(len(fig.maxDelay)-1, max(0, int(p*float64(len(fig.maxDelay)))-1))
		return fig.maxDelay[i]
	}
	fmt.Printf("== 3. bridged calls: caller → paybridge → agent (SIPp PBX, -rtp_echo), secure capture on, the card keyed by %s ==\n", how)
	fmt.Printf("calls placed %d at %.0f/s; SIPp successful %d, failed %d; %s\n", calls, rate, st.ok, st.failed, elapsed.Round(time.Millisecond))
	if err != nil {
		fmt.Printf("SIPp: %v\n", err)
	}
	fmt.Printf("peak concurrent calls        %d bridged (%d legs)   (goal 200 / 400)\n", peak.Load(), 2*peak.Load())
	fmt.Printf("agent legs not answered      %d\n", fig.dialFailed)
	fmt.Printf("secure side: cards exact     %d / %d   missed-digit calls %d, duplicated %d, wrong %d, no digits %d   (goal: all exact, 0 lost digits)\n",
		res.exact.Load(), calls, res.missed.Load(), res.extra.Load(), res.wrong.Load(), res.noDigits.Load())
	fmt.Printf("agent side: max added delay  p50 %v, p95 %v, max %v   (per call: the longest any relayed sample waited)\n",
		q(0.50).Round(time.Millisecond), q(0.95).Round(time.Millisecond), q(1).Round(time.Millisecond))
	fmt.Printf("agent side: frames skipped   %d of %d due (%.3f%%), in %d calls\n\n",
		fig.skipped, fig.frames, 100*float64(fig.skipped)/float64(max(fig.frames, 1)), fig.callsSkip)
	return err == nil && res.exact.Load() == int64(calls) && fig.dialFailed == 0
}
