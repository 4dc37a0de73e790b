package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/audiofile"
	"github.com/paybridge/paybridge/ivr"
	"github.com/paybridge/paybridge/loadtest/pcapgen"
	"github.com/paybridge/paybridge/siptest"
)

// startIVR runs a real ivr.Server on loopback whose calls play a tone, collect n keys and
// hang up; the keys arrive on the returned channel, the server's id of the last call in
// ivrCallID.
func startIVR(t *testing.T, n int) (*ivr.Server, <-chan string) {
	t.Helper()
	got := make(chan string, 1)
	ivrCallID.Store("")
	tone := make([]int16, 2400)
	for i := range tone {
		tone[i] = int16(3000 * ((i/9)%2*2 - 1))
	}
	router := ivr.RouterFunc(func(string) (ivr.CallHandler, bool) {
		return func(ctx context.Context, call *ivr.Call) {
			ivrCallID.Store(call.ID())
			call.PlayPCM(ctx, tone)
			var keys strings.Builder
			timeout := time.After(10 * time.Second)
			for keys.Len() < n {
				select {
				case e, ok := <-call.Digits():
					if !ok {
						got <- keys.String()
						return
					}
					keys.WriteByte(e.Digit.Char())
				case <-timeout:
					got <- keys.String()
					return
				}
			}
			call.Hangup(ctx, "done")
			got <- keys.String()
		}, true
	})
	s, err := ivr.NewServer(ivr.Config{SIPAddr: "127.0.0.1:0", RTPPortMin: 31000, RTPPortMax: 31199, Router: router})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, got
}

func TestCallCommandKeysDigitsAndRecords(t *testing.T) {
	s, got := startIVR(t, 6)
	out := filepath.Join(t.TempDir(), "heard.wav")
	code, stdout, stderr := runCmd(t, "call", "sip:+441632960000@"+s.Addr().String(),
		"--from", "+447700900123", "--digits", "12w34#*", "--record", out, "--timeout", "20s")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	var res siptest.CallerResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, stdout)
	}
	if !res.Answered || res.DigitsSent != 6 || res.HangupBy != "remote" || res.Codec != "PCMU" {
		t.Fatalf("summary: %+v", res)
	}
	// The caller learns the server's id of the call (the console's), and says what it knows.
	if id := ivrCallID.Load().(string); id == "" || res.ServerCallID != id || res.CallID == id {
		t.Fatalf("call_id %q, sip_call_id %q; the server's id is %q", res.ServerCallID, res.CallID, id)
	}
	if want := "call " + res.ServerCallID + ": answered after "; !strings.Contains(stderr, want) ||
		!strings.Contains(stderr, "6 digit(s) sent (rfc4733); the far end hung up after") {
		t.Fatalf("stderr lacks the outcome (%q):\n%s", want, stderr)
	}
	if keys := <-got; keys != "1234#*" {
		t.Fatalf("server heard %q", keys)
	}
	pcm, err := audiofile.ReadAudioFile(out, "")
	if err != nil || len(pcm) < 2400 {
		t.Fatalf("recording: %d samples, %v", len(pcm), err)
	}
}

func TestCallCommandRefusesBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"call"},
		{"call", "sip:1@127.0.0.1:9", "--dtmf", "smoke"},
		{"call", "sip:1@127.0.0.1:9", "--digits", "12x"},
		{"call", "sip:1@127.0.0.1:9", "--digits", "1", "--play", "a.wav"},
		{"call", "sip:1@127.0.0.1:9", "--from", "a\r\nX-Injected: 1"},
	} {
		if code, _, stderr := runCmd(t, args...); code != 2 || stderr == "" {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// TestCallCommandPlaysPcap streams a recorded caller leg (RFC 4733 events inside a PCMU
// stream, as pcapgen writes it for SIPp) and checks the server heard the keys.
func TestCallCommandPlaysPcap(t *testing.T) {
	s, got := startIVR(t, 4)
	var b bytes.Buffer
	if err := pcapgen.WriteRFC4733(&b, "1234", pcapgen.Options{Lead: 500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "keys.pcap")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, "call", "sip:100@"+s.Addr().String(), "--play", p, "--timeout", "15s")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if keys := <-got; keys != "1234" {
		t.Fatalf("server heard %q", keys)
	}
}

// ivrCallID is the server's id of the last call startIVR's server answered.
var ivrCallID atomic.Value

// TestCallTimeoutWithNoOneThere: --timeout bounds a call to an address where nothing answers
// SIP (it used to take Timer B's 32 s and print "transaction terminated"), and says so.
func TestCallTimeoutWithNoOneThere(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // a socket that reads nothing: no ICMP, no answer
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	start := time.Now()
	code, stdout, stderr := runCmd(t, "call", "sip:+441632960000@"+pc.LocalAddr().String(), "--timeout", "2s", "--digits", "1")
	took := time.Since(start)
	if code != 1 || took > 10*time.Second {
		t.Fatalf("exit %d after %v (want 1, about 2 s)\n%s", code, took, stderr)
	}
	var res siptest.CallerResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	want := "no answer from " + pc.LocalAddr().String() + " within 2s"
	if res.Error != want || !res.TimedOut || !strings.Contains(stderr, want) || strings.Contains(stderr, "Timer_B") {
		t.Fatalf("error %q (want %q), stderr:\n%s", res.Error, want, stderr)
	}
}

// TestCallTLSFlags: the TLS and SRTP flags are refused where they cannot apply, with a reason.
func TestCallTLSFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"call", "sip:1@127.0.0.1:9", "--ca", "ca.pem"}, "are for TLS"},
		{[]string{"call", "sip:1@127.0.0.1:9", "--insecure-skip-verify"}, "are for TLS"},
		{[]string{"call", "sips:1@127.0.0.1:9", "--srtp-suite", "F8_128_HMAC_SHA1_80"}, "not a suite paybridge speaks"},
		{[]string{"call", "sips:1@127.0.0.1:9", "--ca", "/nonexistent/ca.pem"}, "no such file"},
	} {
		code, _, stderr := runCmd(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
