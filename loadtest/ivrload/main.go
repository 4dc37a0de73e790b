// Command ivrload drives paybridge's SIP/RTP endpoint with SIPp on loopback and prints a
// capacity report: concurrent calls keying a card over RFC 4733 (missed/duplicated digits,
// RTP send lateness, RSS per call), and short calls per second (failures, p95 INVITE→200).
//
// It runs the ivr server in this process, so the RSS and the profile are the endpoint's own.
// With -bridge-calls it also bridges each caller to an agent (a SIPp PBX) with a secure
// capture on, and prints the secure side's digits and the agent side's audio figures.
// Usage: go run ./loadtest/ivrload [-card-calls 1000 -card-rate 120] [-short-calls 5000 -short-rate 500] [-bridge-calls 200 -bridge-rate 20]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paybridge/paybridge/ivr"
	"github.com/paybridge/paybridge/loadtest/pcapgen"
)

const card = "4242424242424242" + "1230" + "123"

type result struct {
	exact, missed, extra, wrong, noDigits atomic.Int64
	rtpIn, rtpLost                        atomic.Int64
}

func main() {
	cardCalls := flag.Int("card-calls", 1000, "calls that key a card over RFC 4733 (0 skips the phase)")
	cardRate := flag.Float64("card-rate", 150, "new card calls per second (ramp)")
	cardDTMF := flag.String("card-dtmf", "rfc4733", "how the card is keyed: rfc4733 (pcap via play_pcap_audio) or inband (tones via rtp_stream)")
	shortCalls := flag.Int("short-calls", 5000, "short calls (answer, prompt, hang-up; 0 skips)")
	shortRate := flag.Float64("short-rate", 500, "short calls per second")
	bridgeCalls := flag.Int("bridge-calls", 0, "calls bridged to an agent (a SIPp PBX) with a secure capture while the card is keyed (0 skips)")
	bridgeRate := flag.Float64("bridge-rate", 20, "new bridged calls per second")
	bridgeDTMF := flag.String("bridge-dtmf", "rfc4733", "how the card is keyed on bridged calls: rfc4733 or inband")
	scenarios := flag.String("scenarios", "testdata/sip/sipp", "directory of the SIPp scenarios")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the endpoint here")
	flag.Parse()

	sipp, err := exec.LookPath("sipp")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ivrload: sipp not installed: run make deps")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	work, _ := os.MkdirTemp("", "ivrload")
	defer os.RemoveAll(work)
	fmt.Printf("paybridge ivr load test — %d CPUs, GOMAXPROCS %d, %s\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339))
	ok := true
	if *cardCalls > 0 {
		ok = cardPhase(sipp, *scenarios, work, *cardCalls, *cardRate, *cardDTMF) && ok
	}
	if *bridgeCalls > 0 {
		ok = bridgePhase(sipp, *scenarios, work, *bridgeCalls, *bridgeRate, *bridgeDTMF) && ok
	}
	if *shortCalls > 0 {
		ok = shortPhase(sipp, *scenarios, work, *shortCalls, *shortRate) && ok
	}
	if !ok {
		os.Exit(1)
	}
}

func newServer(h ivr.CallHandler) *ivr.Server {
	s, err := ivr.NewServer(ivr.Config{
		SIPAddr: "127.0.0.1:0", RTPPortMin: 20000, RTPPortMax: 39999, MaxCalls: 6000,
		Router: ivr.RouterFunc(func(string) (ivr.CallHandler, bool) { return h, true }),
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ivrload:", err)
		os.Exit(2)
	}
	go s.Serve(context.Background())
	return s
}

func tone(d time.Duration) []int16 {
	out := make([]int16, int(d.Seconds()*8000))
	for i := range out {
		out[i] = int16(4000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	return out
}

func cardPhase(sipp, scenarios, work string, calls int, rate float64, mode string) bool {
	var res result
	prompt := tone(300 * time.Millisecond)
	s := newServer(func(ctx context.Context, call *ivr.Call) {
		call.PlayPCM(ctx, prompt)
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
					quiet = 400 * time.Millisecond // any further key is a duplicate
				}
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
		call.Hangup(ctx, "done")
		in, lost, _ := call.Stats()
		res.rtpIn.Add(in)
		res.rtpLost.Add(lost)
	})
	defer s.Close()
	var sf, how string
	switch mode {
	case "inband":
		audio := filepath.Join(work, "card.ulaw")
		os.WriteFile(audio, pcapgen.InbandULaw(card, pcapgen.Options{}), 0o644)
		sf = rewrite(filepath.Join(scenarios, "uac_card_inband.xml"), filepath.Join(work, "card.xml"), "@AUDIO@", audio)
		how = "in-band tones via SIPp rtp_stream"
	default:
		pcap := filepath.Join(work, "card.pcap")
		var b bytes.Buffer
		pcapgen.WriteRFC4733(&b, card, pcapgen.Options{})
		os.WriteFile(pcap, b.Bytes(), 0o644)
		sf = rewrite(filepath.Join(scenarios, "uac_card_pcap.xml"), filepath.Join(work, "card.xml"), "@PCAP@", pcap)
		how = "RFC 4733 from a generated pcap"
	}

	base := rss()
	var peak, peakRSS atomic.Int64
	stop := sample(s, &peak, &peakRSS)
	start := time.Now()
	st, err := runSIPp(sipp, sf, s.Addr().String(), work, "card", calls, rate, calls, true)
	stop()
	elapsed := time.Since(start)
	j := s.SendJitter()
	perCall := float64(peakRSS.Load()-base) / float64(max(peak.Load(), 1))
	fmt.Printf("== 1. concurrent calls keying a card (%s, 23 keys each) ==\n", how)
	fmt.Printf("calls placed %d at %.0f/s; SIPp successful %d, failed %d; %s\n", calls, rate, st.ok, st.failed, elapsed.Round(time.Millisecond))
	if err != nil {
		fmt.Printf("SIPp: %v\n", err)
	}
	fmt.Printf("peak concurrent calls        %d   (goal 1000)\n", peak.Load())
	fmt.Printf("cards exact                  %d / %d   missed-digit calls %d, duplicated %d, wrong %d, no digits %d   (goal: all exact)\n",
		res.exact.Load(), calls, res.missed.Load(), res.extra.Load(), res.wrong.Load(), res.noDigits.Load())
	fmt.Printf("RTP received                 %d packets, %d lost in transit (sequence gaps reported to the detector)\n", res.rtpIn.Load(), res.rtpLost.Load())
	fmt.Printf("RTP send lateness            packets sent %d (silence between prompts is suppressed), mean %v, p99 ≤ %v, max %v, ≥20 ms late %d\n",
		j.Packets, j.Mean, j.P99, j.Max.Round(time.Microsecond), j.Over20)
	fmt.Printf("scheduler stalls             %d of %d frame slots skipped (%.2f%%) after the endpoint got no CPU for > 100 ms\n",
		j.Skipped, j.Frames+j.Skipped, 100*float64(j.Skipped)/float64(max(j.Frames+j.Skipped, 1)))
	fmt.Printf("RSS                          base %.1f MB, at peak %.1f MB → %.1f KB per concurrent call   (goal ≤ 100 KB)\n\n",
		float64(base)/1e6, float64(peakRSS.Load())/1e6, perCall/1e3)
	return err == nil && res.exact.Load() == int64(calls)
}

func shortPhase(sipp, scenarios, work string, calls int, rate float64) bool {
	prompt := tone(200 * time.Millisecond)
	s := newServer(func(ctx context.Context, call *ivr.Call) {
		call.PlayPCM(ctx, prompt)
		call.Hangup(ctx, "done")
	})
	defer s.Close()
	sf := rewrite(filepath.Join(scenarios, "uac_short.xml"), filepath.Join(work, "short.xml"))
	var peak, peakRSS atomic.Int64
	stop := sample(s, &peak, &peakRSS)
	start := time.Now()
	st, err := runSIPp(sipp, sf, s.Addr().String(), work, "short", calls, rate, 3000, false)
	stop()
	elapsed := time.Since(start)
	fmt.Println("== 2. short calls per second (answer, 200 ms prompt, paybridge hangs up) ==")
	if err != nil {
		fmt.Printf("SIPp: %v\n", err)
	}
	fmt.Printf("calls %d at %.0f/s offered; successful %d, failed %d; SIPp's cumulative rate %.1f calls/s; %s   (goal ≥ 500/s, 0 failed)\n", calls, rate, st.ok, st.failed, st.rate, elapsed.Round(time.Millisecond))
	fmt.Printf("INVITE→200 (as SIPp saw it)  p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms   (goal p95 < 50 ms)\n",
		pct(st.rtt, 50), pct(st.rtt, 95), pct(st.rtt, 99), pct(st.rtt, 100))
	fmt.Printf("peak concurrent calls        %d\n\n", peak.Load())
	return err == nil && st.failed == 0
}

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	sort.Float64s(v)
	i := int(math.Ceil(p/100*float64(len(v)))) - 1
	return v[max(0, min(i, len(v)-1))]
}

// sample records the peak number of calls and the RSS at that moment.
func sample(s *ivr.Server, peak, peakRSS *atomic.Int64) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if n := int64(s.ActiveCalls()); n > peak.Load() {
					peak.Store(n)
					peakRSS.Store(rss())
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// rss reads VmRSS of this process in bytes.
func rss() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func rewrite(src, dst string, repl ...string) string {
	b, err := os.ReadFile(src)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ivrload:", err)
		os.Exit(2)
	}
	os.WriteFile(dst, []byte(strings.NewReplacer(repl...).Replace(string(b))), 0o644)
	return dst
}

type sippStats struct {
	ok, failed int
	rate       float64   // SIPp's cumulative call rate
	rtt        []float64 // INVITE→200 in ms, one per call
}

func freePort() int {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 15060
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func runSIPp(sipp, sf, addr, work, name string, calls int, rate float64, limit int, niced bool) (sippStats, error) {
	var st sippStats
	dir := filepath.Join(work, name)
	os.MkdirAll(dir, 0o755)
	mp := freePort() &^ 1
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(float64(calls)/rate+120)*time.Second)
	defer cancel()
	// In the card phase SIPp runs niced: with play_pcap_audio it has a thread per call, and the kernel's
	// per-thread fairness would otherwise hand the load generator most of the two cores and
	// starve the endpoint under test of the very ticks it is measured on.
	args := []string{"-n", "0", sipp, addr, "-sf", sf, "-s", name, "-m", strconv.Itoa(calls),
		"-r", strconv.FormatFloat(rate, 'f', -1, 64), "-l", strconv.Itoa(limit),
		"-i", "127.0.0.1", "-p", strconv.Itoa(freePort()), "-mp", strconv.Itoa(mp),
		"-nostdin", "-trace_stat", "-stf", filepath.Join(dir, "stat.csv"), "-fd", "1",
		"-trace_rtt", "-rtt_freq", "1", "-timeout", strconv.Itoa(int(float64(calls)/rate)+90) + "s",
		"-max_socket", "10000"}
	if niced {
		args[1] = "10"
	}
	cmd := exec.CommandContext(ctx, "nice", args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	err := cmd.Run()
	st.ok, st.failed, st.rate = readStat(filepath.Join(dir, "stat.csv"))
	matches, _ := filepath.Glob(filepath.Join(dir, "*_rtt.csv"))
	for _, m := range matches {
		st.rtt = append(st.rtt, readRTT(m)...)
	}
	if err != nil {
		return st, fmt.Errorf("sipp: %w", err)
	}
	return st, nil
}

func readStat(path string) (ok, failed int, rate float64) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	r.FieldsPerRecord = -1
	rows, _ := r.ReadAll()
	if len(rows) < 2 {
		return 0, 0, 0
	}
	head, last := rows[0], rows[len(rows)-1]
	for i, h := range head {
		if i >= len(last) {
			break
		}
		switch h {
		case "SuccessfulCall(C)":
			ok, _ = strconv.Atoi(last[i])
		case "FailedCall(C)":
			failed, _ = strconv.Atoi(last[i])
		case "CallRate(C)":
			rate, _ = strconv.ParseFloat(last[i], 64)
		}
	}
	return ok, failed, rate
}

func readRTT(path string) []float64 {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), ";")
		if len(fs) < 2 {
			continue
		}
		if v, err := strconv.ParseFloat(fs[1], 64); err == nil {
			out = append(out, v)
		}
	}
	return out
}
