package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/paybridge/paybridge/internal/freeport"
	"github.com/paybridge/paybridge/loadtest/callgen"
	"github.com/paybridge/paybridge/loadtest/pcapgen"
)

// genResult is what a generator run reports back to the harness.
type genResult struct {
	Placed, Refused int
	CPU             time.Duration // the generator's own CPU
	Note            string
}

// load is one generator run against one target.
type load struct {
	addr  string
	user  string
	keys  string
	dtmf  string
	calls int
	rate  float64
	lead  time.Duration
	work  string // scratch directory
	// overload: the rung offers twice the capacity (a 503 to the INVITE is an accepted outcome
	// on every RFC 4733 rung: SIPp runs uac_card_pcap_503.xml, the 503s counted from
	// -trace_counts; callgen counts 503s itself).
	overload bool
}

// srtpSuffix on a row's DTMF mode ("rfc4733+srtp") makes the caller encrypt its media with
// SRTP (only our generator speaks it); paybridge serve's default --srtp optional takes it.
const srtpSuffix = "+srtp"

// runOwn runs callgen in a child process (this program's `gen` mode, niced like SIPp), so its
// CPU is its own and measured apart from the target's.
func runOwn(self string, l load) (genResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(float64(l.calls)/l.rate)*time.Second+3*time.Minute)
	defer cancel()
	dtmfMode, srtp := strings.CutSuffix(l.dtmf, srtpSuffix)
	cmd := exec.CommandContext(ctx, "nice", "-n", "10", self, "gen", "-target", l.addr, "-user", l.user, "-keys", l.keys,
		"-dtmf", dtmfMode, "-srtp="+strconv.FormatBool(srtp), "-calls", strconv.Itoa(l.calls), "-rate", strconv.FormatFloat(l.rate, 'f', -1, 64), "-lead", l.lead.String())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var r callgen.Result
	if jerr := json.Unmarshal(out.Bytes(), &r); jerr != nil {
		return genResult{}, fmt.Errorf("own generator: %v %v\n%s", err, jerr, errb.String())
	}
	g := genResult{Placed: r.Placed, Refused: r.Refused, CPU: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	g.Note = fmt.Sprintf("answered %d, 503 %d, other refusals %d, failed %d, BYE from the endpoint %d, timed out %d; %d RTP sent in %d sendmmsg (%.0f a call), %d received; ticks >20 ms late %d (max %v)",
		r.Answered, r.Refused, r.Rejected, r.Failed, r.FarBye, r.TimedOut, r.RTPSent, r.SendCalls,
		float64(r.RTPSent)/float64(max(r.SendCalls, 1)), r.RTPReceived, r.TicksLate, r.TickLateMax.Round(time.Millisecond))
	return g, nil
}

// genMain is `capacity gen`: one callgen run, the Result as JSON on stdout.
func genMain(args []string) {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	target := fs.String("target", "", "SIP host:port")
	user := fs.String("user", "+441632960777", "dialled number")
	keys := fs.String("keys", payKeys, "keys every caller presses")
	dtmf := fs.String("dtmf", callgen.RFC4733, "rfc4733 or inband")
	calls := fs.Int("calls", 10, "calls")
	rate := fs.Float64("rate", 5, "calls per second")
	lead := fs.Duration("lead", time.Second, "silence before the first key")
	srtp := fs.Bool("srtp", false, "offer RTP/SAVP (SDES, AES_CM_128_HMAC_SHA1_80) and encrypt the media")
	fs.Parse(args)
	to, err := callgen.ParseTarget(*target)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(2)
	}
	r, err := callgen.Run(context.Background(), callgen.Config{Target: to, User: *user, Keys: *keys, DTMF: *dtmf,
		Calls: *calls, Rate: *rate, Lead: *lead, SRTP: *srtp})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(r)
}

// runSIPp is the outside check: SIPp with the repository's scenarios (play_pcap_audio of a
// pcapgen pcap for RFC 4733, rtp_stream of raw μ-law for in-band), niced as ivrload does (its
// thread per call would otherwise take the CPU the endpoint is measured on).
func runSIPp(sipp, scenarios string, l load) (genResult, error) {
	dir, err := os.MkdirTemp(l.work, "sipp")
	if err != nil {
		return genResult{}, err
	}
	var sf string
	opt := pcapgen.Options{Lead: l.lead}
	switch l.dtmf {
	case callgen.Inband:
		audio := filepath.Join(dir, "card.ulaw")
		os.WriteFile(audio, pcapgen.InbandULaw(l.keys, opt), 0o644)
		sf, err = rewrite(filepath.Join(scenarios, "uac_card_inband_503.xml"), filepath.Join(dir, "card.xml"), "@AUDIO@", audio)
	default:
		var b bytes.Buffer
		if err := pcapgen.WriteRFC4733(&b, l.keys, opt); err != nil {
			return genResult{}, err
		}
		pcap := filepath.Join(dir, "card.pcap")
		os.WriteFile(pcap, b.Bytes(), 0o644)
		// A 503 is ACKed and counted as a refusal, not a failure, on every rung: paybridge's
		// admission control may refuse below twice the capacity too.
		sf, err = rewrite(filepath.Join(scenarios, "uac_card_pcap_503.xml"), filepath.Join(dir, "card.xml"), "@PCAP@", pcap)
	}
	if err != nil {
		return genResult{}, err
	}
	span := float64(l.calls) / l.rate
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(span+180)*time.Second)
	defer cancel()
	var cmd *exec.Cmd
	var runErr error
	var ok, failed int
	for attempt := 0; attempt < 3; attempt++ {
		cmd = exec.CommandContext(ctx, "nice", "-n", "10", sipp, l.addr, "-sf", sf, "-s", l.user,
			"-m", strconv.Itoa(l.calls), "-r", strconv.FormatFloat(l.rate, 'f', 3, 64), "-l", strconv.Itoa(l.calls),
			"-i", "127.0.0.1", "-p", strconv.Itoa(freePort()), "-mp", strconv.Itoa(sippMediaPort()),
			"-nostdin", "-trace_stat", "-stf", filepath.Join(dir, "stat.csv"), "-fd", "1", "-trace_counts",
			"-timeout", strconv.Itoa(int(span)+120)+"s", "-max_socket", "10000")
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		runErr = cmd.Run()
		ok, failed = readStat(filepath.Join(dir, "stat.csv"))
		// SIPp exits 254 when a port it was given is taken ("socket already in use"): a port
		// seen free a moment earlier went to a neighbour on a busy box. No call was placed.
		var ee *exec.ExitError
		if !errors.As(runErr, &ee) || ee.ExitCode() != 254 || ok+failed != 0 {
			break
		}
	}
	g := genResult{Placed: ok + failed}
	g.Refused = readCount(dir, "503")
	if cmd.ProcessState != nil {
		g.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	g.Note = fmt.Sprintf("SIPp successful %d, failed %d", ok, failed)
	g.Note += fmt.Sprintf(" (of the successful, %d ended with the 503 they were refused with)", g.Refused)
	if runErr != nil {
		g.Note += fmt.Sprintf(" (sipp: %v)", runErr)
	}
	if g.Placed == 0 {
		g.Placed = l.calls
	}
	return g, nil
}

func rewrite(src, dst string, repl ...string) (string, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	return dst, os.WriteFile(dst, []byte(strings.NewReplacer(repl...).Replace(string(b))), 0o644)
}

func freePort() int {
	p, err := freeport.UDP()
	if err != nil {
		return 15060
	}
	return p
}

// sippMediaPort is SIPp's -mp: an even port beginning 4 free ones (freeport.UDPRun).
func sippMediaPort() int {
	p, err := freeport.UDPRun(4)
	if err != nil {
		return freePort() &^ 1
	}
	return p
}

// readStat takes SIPp's last cumulative counts from its -trace_stat CSV.
func readStat(path string) (ok, failed int) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	r.FieldsPerRecord = -1
	rows, _ := r.ReadAll()
	if len(rows) < 2 {
		return 0, 0
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
		}
	}
	return ok, failed
}

// readCount takes from SIPp's -trace_counts CSV (in dir) how many responses with code were
// received: the last row's column for the scenario's recv of that code.
func readCount(dir, code string) int {
	files, _ := filepath.Glob(filepath.Join(dir, "*_counts.csv"))
	if len(files) == 0 {
		return 0
	}
	f, err := os.Open(files[0])
	if err != nil {
		return 0
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	r.FieldsPerRecord = -1
	rows, _ := r.ReadAll()
	if len(rows) < 2 {
		return 0
	}
	head, last := rows[0], rows[len(rows)-1]
	for i, h := range head {
		// Columns are named <index>_<message>_<counter>, e.g. 4_503_Recv.
		if i < len(last) && strings.HasSuffix(h, "_"+code+"_Recv") {
			n, _ := strconv.Atoi(last[i])
			return n
		}
	}
	return 0
}
