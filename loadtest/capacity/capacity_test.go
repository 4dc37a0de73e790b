package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/loadtest/callgen"
)

// buildPaybridge builds the binary under test (or takes $PAYBRIDGE_BIN).
func buildPaybridge(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("PAYBRIDGE_BIN"); b != "" {
		return b
	}
	bin := filepath.Join(t.TempDir(), "paybridge")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/paybridge/paybridge/cmd/paybridge").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestOwnGeneratorPaysThroughServe keeps the generator from rotting: callgen places 5 calls
// keying the card over RFC 4733 (and 2 in-band, 2 over SRTP) into a built `paybridge serve` that charges
// through the sandbox provider in its own process; every call must be answered, hung up by
// paybridge and paid for card …4242 (which proves the 16+4+3 digits arrived: a lost,
// duplicated or changed digit fails the Luhn check, the expiry or the CVV length). The control:
// one more call keys a card with a wrong digit and must not be counted as paid.
func TestOwnGeneratorPaysThroughServe(t *testing.T) {
	bin := buildPaybridge(t)
	sb, provider, err := startSandbox(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.stop(5 * time.Second)
	plans, err := planDir("../..", t.TempDir(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := startServe(bin, plans, provider, false)
	if err != nil {
		t.Fatal(err)
	}
	to, err := callgen.ParseTarget(srv.sipAddr())
	if err != nil {
		t.Fatal(err)
	}
	run := func(keys, mode string, calls int) *callgen.Result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		dtmf, srtp := strings.CutSuffix(mode, srtpSuffix)
		r, err := callgen.Run(ctx, callgen.Config{Target: to, User: payUser, Keys: keys, DTMF: dtmf, SRTP: srtp, Calls: calls, Rate: 5, Lead: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if r.Answered != calls || r.FarBye != calls || r.Refused+r.Rejected+r.Failed+r.TimedOut != 0 {
			t.Errorf("%s: generator saw %+v, want %d calls answered and hung up by paybridge", mode, r, calls)
		}
		if r.RTPSent < int64(calls)*300 || r.RTPReceived == 0 {
			t.Errorf("%s: %d RTP packets sent, %d received: the media did not flow", mode, r.RTPSent, r.RTPReceived)
		}
		return r
	}
	run(payKeys, callgen.RFC4733, 5)
	run(payKeys, callgen.Inband, 2)
	run(payKeys, callgen.RFC4733+srtpSuffix, 2)           // the SRTP rows of the capacity table
	run("4242424242424241#1230#123#", callgen.RFC4733, 1) // control: a digit changed

	o, err := srv.finish()
	if err != nil {
		t.Fatal(err)
	}
	if o.answered != 10 || o.correct != 9 {
		t.Fatalf("serve recorded %d answered, %d paid (failures %v); want 10 and 9", o.answered, o.correct, o.failures)
	}
	if n := o.failures["too-many-failed-attempts/invalid-card-number"]; n != 1 {
		t.Fatalf("the control call (wrong digit) should fail as invalid-card-number: %v", o.failures)
	}
	if o.peak() < 1 || o.callSeconds() < 10*5 {
		t.Fatalf("peak %d, %.1f call-seconds: the spans are not read", o.peak(), o.callSeconds())
	}
}

// TestOverloadCorrectOrRefused is issue 17's "correct or refused, never wrong" at a size for a
// busy 2-core box: serve with --max-calls 4 is offered 12 calls at once by SIPp, each keying
// the card over RFC 4733 from a pcap (play_pcap_audio). Every call must end one of two ways:
// answered and paid for card …4242 with the exact digits, or refused with 503 (SIPp ACKs it);
// none fails, none is answered and then loses a digit, and never more than 4 are up at once.
// The 503s are counted on SIPp's side (-trace_counts), the answers and payments in serve's
// store. The load test (make loadtest) runs the same at twice the measured capacity.
func TestOverloadCorrectOrRefused(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp is not installed: run make deps")
	}
	bin := buildPaybridge(t)
	sb, provider, err := startSandbox(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.stop(5 * time.Second)
	work := t.TempDir()
	plans, err := planDir("../..", work, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	const limit, offered = 4, 12
	srv, err := startServe(bin, plans, provider, false, "--max-calls", strconv.Itoa(limit))
	if err != nil {
		t.Fatal(err)
	}
	g, err := runSIPp(sipp, "../../testdata/sip/sipp", load{addr: srv.sipAddr(), user: payUser, keys: payKeys,
		dtmf: callgen.RFC4733, calls: offered, rate: offered, lead: time.Second, work: work, overload: true})
	if err != nil {
		t.Fatal(err)
	}
	o, err := srv.finish()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SIPp: %s; serve: %d answered, %d paid, failures %v, peak %d", g.Note, o.answered, o.correct, o.failures, o.peak())
	if g.Placed != offered {
		t.Fatalf("SIPp placed %d calls, want %d (%s): a call failed on the caller's side", g.Placed, offered, g.Note)
	}
	if g.Refused < 1 || o.answered < limit {
		t.Fatalf("%d answered, %d refused with 503: with %d calls offered at once to --max-calls %d, want at least %d answered and some refused",
			o.answered, g.Refused, offered, limit, limit)
	}
	if o.answered+g.Refused != offered {
		t.Fatalf("%d answered + %d refused ≠ %d offered: some calls ended neither way (%s)", o.answered, g.Refused, offered, g.Note)
	}
	if o.correct != o.answered || len(o.failures) != 0 {
		t.Fatalf("%d of %d answered calls paid (failures %v): an accepted call was served wrong", o.correct, o.answered, o.failures)
	}
	if o.peak() > limit {
		t.Fatalf("%d calls were up at once: --max-calls %d was not held", o.peak(), limit)
	}
}

// TestOutcomeSpans: call-seconds and the peak of concurrent calls from answer/end times.
func TestOutcomeSpans(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := func(a, b int) span {
		return span{t0.Add(time.Duration(a) * time.Second), t0.Add(time.Duration(b) * time.Second)}
	}
	o := outcome{spans: []span{s(0, 10), s(5, 15), s(10, 20), s(12, 13), s(30, 29)}}
	if got := o.callSeconds(); got != 31 {
		t.Fatalf("call-seconds %v, want 31", got)
	}
	if got := o.peak(); got != 3 { // at 12–13: the second, third and fourth
		t.Fatalf("peak %d, want 3", got)
	}
}
