package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/internal/audiofile"
	"github.com/paybridge/paybridge/internal/baresip"
	"github.com/paybridge/paybridge/internal/testcert"
	"github.com/paybridge/paybridge/internal/testlog"
	"github.com/paybridge/paybridge/store"
)

// Encryption on every wire, proved with the built binary (issue 12).

// tlsNode starts serve with a throwaway CA's certificate on a SIP TLS listener and SRTP
// required on it (optional elsewhere); it returns the node and the CA file callers trust.
func tlsNode(t *testing.T, rtpBase int, extra ...string) (*sipNode, string) {
	t.Helper()
	ca := testcert.NewCA(t)
	cert, key := ca.Issue(testcert.Options{})
	args := append([]string{"--tls-cert", cert, "--tls-key", key, "--sip-tls-addr", "127.0.0.1:0",
		"--srtp", "udp=optional tcp=optional tls=required"}, extra...)
	return startSIPNode(t, rtpBase, args...), ca.CAFile()
}

// freeRTPRange picks, at run time, a run of 100 RTP ports that nothing on this machine holds,
// above the kernel's ephemeral range (32768–60999): no socket another test opens on port 0
// lands in it, so a capture filtered on it holds only this node's calls. (With a fixed
// 44200–44299, inside the ephemeral range, a control capture under load once held 75 keys for
// the 52 sent, most likely another test's paying call on a port of that range.)
func freeRTPRange(t *testing.T) int {
	t.Helper()
	for try := 0; try < 100; try++ {
		base := 61000 + 2*rand.IntN(2000)
		var held []*net.UDPConn
		for p := base; p < base+100; p++ {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
			if err != nil {
				break
			}
			held = append(held, c)
		}
		free := len(held) == 100
		for _, c := range held {
			c.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free run of 100 UDP ports above the ephemeral range")
	return 0
}

// callRecords reads the node's call records from its store.
func (n *sipNode) callRecords(t *testing.T) []store.Call {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(n.data, "paybridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	calls, err := st.ListCalls(context.Background(), store.CallFilter{To: "+441632960777"})
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

// TestSIPE2EBaresipPaysOverTLSAndSRTP: baresip — Debian's build, libre linked against
// OpenSSL, its srtp module — dials a sips: URI over TLS with mandatory SRTP and pays, once by
// RFC 4733 (sndcode) and once by in-band tones its microphone plays; each call ends with
// Pay.Result=success in the store and a call record that says TLS + SRTP.
func TestSIPE2EBaresipPaysOverTLSAndSRTP(t *testing.T) {
	n, caFile := tlsNode(t, freeRTPRange(t))
	opt := dtmf.DefaultToneOptions()
	opt.Duration, opt.Gap = 120*time.Millisecond, 120*time.Millisecond
	tones := append(make([]int16, 8000*3), dtmf.GenerateDigits(sipPayKeys, opt)...)
	tones = append(tones, make([]int16, 8000*30)...)
	for i, tc := range []struct {
		name  string
		audio []int16
		keys  bool
	}{
		{"rfc4733", nil, true},
		{"inband", tones, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := baresip.StartWith(t, baresip.Options{CAFile: caFile, MediaEnc: "srtp-mand",
				Outbound: "sip:" + n.tls + ";transport=tls", Audio: tc.audio})
			b.Command(t, "dial", baresip.DialSIPS("sips:+441632960777@"+n.tls))
			b.WaitEvent(t, "CALL_ESTABLISHED", 15*time.Second)
			if tc.keys {
				time.Sleep(1500 * time.Millisecond)
				for i := 0; i < len(sipPayKeys); i++ {
					b.Command(t, "sndcode", sipPayKeys[i:i+1])
					time.Sleep(250 * time.Millisecond)
				}
			}
			b.WaitEvent(t, "CALL_CLOSED", 45*time.Second)
			res := n.waitPaid(t, i+1)
			if len(res) != i+1 || res[i] != "success" {
				t.Fatalf("Pay results: %v\npaybridge:\n%s\nbaresip:\n%s", res, n.out, b.Output())
			}
			if !strings.Contains(b.Output(), "SRTP is Enabled") {
				t.Errorf("baresip did not say its media was SRTP:\n%s", b.Output())
			}
		})
	}
	calls := n.callRecords(t)
	if len(calls) != 2 {
		t.Fatalf("call records %+v", calls)
	}
	for _, c := range calls {
		if c.SIPTransport != "TLS" || c.SRTP == "" || !c.Encrypted || c.SRTPAuthFailed != 0 {
			t.Errorf("call %s: transport %q srtp %q encrypted %v auth failures %d", c.ID, c.SIPTransport, c.SRTP, c.Encrypted, c.SRTPAuthFailed)
		}
	}
	// One call keyed by RFC 4733 alone, the other by in-band tones alone, both over SRTP.
	for _, by := range []string{"digits_rfc4733=26 digits_inband=0", "digits_rfc4733=0 digits_inband=26"} {
		if !regexp.MustCompile(`(?m)call ended.*transport=TLS srtp=AES_CM_128_HMAC_SHA1_80 .*srtp_auth_failed=0 .*` + by).MatchString(n.out.String()) {
			t.Errorf("no call-ended log line with TLS, SRTP and %s:\n%s", by, n.out)
		}
	}
	sipAssertNoPAN(t, "paybridge serve output", n.out.String())
}

// capture runs tcpdump on loopback for the node's SIP ports and media range while f runs, and
// returns the pcap file.
func capture(t *testing.T, n *sipNode, rtpBase int, f func()) string {
	t.Helper()
	tcpdump := sipTool(t, "tcpdump")
	file := filepath.Join(t.TempDir(), "call.pcap")
	_, sipPort, _ := strings.Cut(n.sip, ":")
	filter := fmt.Sprintf("udp port %s or tcp port %s or udp portrange %d-%d", sipPort, sipPort, rtpBase, rtpBase+99)
	if n.tls != "" {
		_, tlsPort, _ := strings.Cut(n.tls, ":")
		filter += " or tcp port " + tlsPort
	}
	cmd := exec.Command(tcpdump, "-i", "lo", "-U", "-s", "0", "-n", "-w", file, filter)
	errs := &testlog.Buffer{}
	cmd.Stderr = errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(errs.String(), "listening on"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("tcpdump did not start: %s", errs)
		}
	}
	f()
	time.Sleep(300 * time.Millisecond) // the last packets (BYE, its 200)
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	return file
}

// payCall runs `paybridge call` to target with args and fails the test unless it paid.
func payCall(t *testing.T, target string, args ...string) {
	t.Helper()
	out, err := exec.Command(sipPaybridge(t), append([]string{"call", target, "--from", "+447700900123",
		"--digits", "4242424242424242# W 1230# W 123#", "--timeout", "60s"}, args...)...).CombinedOutput()
	if err != nil {
		t.Errorf("paybridge call %s %v: %v\n%s", target, args, err, out)
	}
}

// replayCapture runs `paybridge replay --input` on a capture with the pay plan and returns its
// result: how many keys it found and what Pay made of them.
func replayCapture(t *testing.T, pcap string) (keys int, payResult string) {
	t.Helper()
	plan := filepath.Join(t.TempDir(), "pay.xml")
	if err := os.WriteFile(plan, []byte(sipPayPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sipPaybridge(t), "replay", "--plan", plan, "--input", pcap, "--json").Output()
	if err != nil && len(out) == 0 {
		t.Fatalf("paybridge replay: %v", err)
	}
	var r struct {
		Keys      int               `json:"keys"`
		Variables map[string]string `json:"variables"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil {
		t.Fatalf("replay output %q: %v", out, err)
	}
	return r.Keys, r.Variables["Pay.Result"]
}

var (
	sipRequestLine = regexp.MustCompile(`(INVITE|ACK|BYE|INFO|CANCEL|OPTIONS|UPDATE) sips?:[^ ]+ SIP/2\.0`)
	sipStatusLine  = regexp.MustCompile(`SIP/2\.0 [1-6][0-9][0-9] `)
	infoBody       = regexp.MustCompile(`Signal=[0-9*#A-D]`)
)

// TestSIPE2ECaptureHoldsNoCard is the proof that the wire holds no card: the loopback traffic
// of three paying calls over SIP over TLS with SRTP — RFC 4733, in-band tones and SIP INFO —
// is captured with tcpdump, and nothing in the capture yields a digit: `paybridge replay
// --input` on it finds no key, no SIP request or status line is readable, no INFO body, no
// SDES key. The control captures the same calls over plain SIP and RTP: replay finds the card
// and pays with it, and the request lines and INFO bodies are there to read.
func TestSIPE2ECaptureHoldsNoCard(t *testing.T) {
	rtpBase := freeRTPRange(t)
	n, caFile := tlsNode(t, rtpBase)
	secure := capture(t, n, rtpBase, func() {
		var wg sync.WaitGroup
		for _, mode := range []string{"rfc4733", "inband", "info"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				payCall(t, "sips:+441632960777@"+n.tls, "--ca", caFile, "--srtp", "--dtmf", mode)
			}()
		}
		wg.Wait()
	})
	if res := n.waitPaid(t, 3); len(res) != 3 || res[0] != "success" || res[1] != "success" || res[2] != "success" {
		t.Fatalf("the encrypted calls did not all pay: %v\n%s", res, n.out)
	}
	raw, err := os.ReadFile(secure)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(secure)
	c, err := audiofile.ReadPcap(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The capture is the real thing: thousands of media packets and the TLS records.
	if len(c.RTP) < 1000 || !bytes.Contains(raw, []byte{0x16, 0x03}) {
		t.Fatalf("the capture holds %d RTP packets and no TLS handshake: it did not see the calls", len(c.RTP))
	}
	keys, pay := replayCapture(t, secure)
	t.Logf("TLS + SRTP capture: %d bytes, %d media packets; replay found %d keys (Pay.Result %q)", len(raw), len(c.RTP), keys, pay)
	if keys != 0 || pay == "success" {
		t.Errorf("replay found %d keys in the encrypted capture (Pay.Result %q)", keys, pay)
	}
	for what, re := range map[string]*regexp.Regexp{"a SIP request line": sipRequestLine, "a SIP status line": sipStatusLine, "an INFO body": infoBody} {
		if m := re.Find(raw); m != nil {
			t.Errorf("the encrypted capture holds %s: %q", what, m)
		}
	}
	for _, s := range []string{"a=crypto", "inline:", "4242424242424242", "telephone-event", "application/dtmf"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the encrypted capture holds %q", s)
		}
	}

	// The control: the same calls over plain SIP and RTP, one after the other so that the
	// replay hears one card at a time.
	plain := capture(t, n, rtpBase, func() {
		payCall(t, "sip:+441632960777@"+n.sip, "--dtmf", "rfc4733")
		payCall(t, "sip:+441632960777@"+n.sip, "--dtmf", "info")
	})
	rawPlain, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	keys, pay = replayCapture(t, plain)
	t.Logf("control, plain SIP + RTP: %d bytes; replay found %d keys (Pay.Result %q)", len(rawPlain), keys, pay)
	if keys < len(strings.ReplaceAll(sipPayKeys, "#", ""))+3 || pay != "success" {
		t.Errorf("control: replay found %d keys in the plain capture and Pay.Result %q: the check could not have found the card", keys, pay)
	}
	for what, re := range map[string]*regexp.Regexp{"a SIP request line": sipRequestLine, "an INFO body": infoBody} {
		if re.Find(rawPlain) == nil {
			t.Errorf("control: the plain capture holds no %s", what)
		}
	}
}

// TestSIPE2ECallerRefusesBadCertificatesAndPlainOffers: `paybridge call` will not talk to a
// server whose certificate is expired or names another host, and says why; the same node
// reached with --insecure-skip-verify answers; and a plain offer where SRTP is required is
// refused with 488 and its reason.
func TestSIPE2ECallerRefusesBadCertificatesAndPlainOffers(t *testing.T) {
	ca := testcert.NewCA(t)
	cert, key := ca.Issue(testcert.Options{Hosts: []string{"sip.example.net"}})
	n := startSIPNode(t, freeRTPRange(t), "--tls-cert", cert, "--tls-key", key, "--sip-tls-addr", "127.0.0.1:0", "--srtp", "required")
	run := func(args ...string) (string, int) {
		cmd := exec.Command(sipPaybridge(t), append([]string{"call"}, args...)...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	out, code := run("sips:+441632960777@"+n.tls, "--ca", ca.CAFile(), "--srtp", "--timeout", "15s")
	if code != 1 || !strings.Contains(out, `TLS certificate is not for "127.0.0.1" (it names sip.example.net)`) {
		t.Errorf("wrong host: exit %d\n%s", code, out)
	}
	out, code = run("sips:+441632960777@"+n.tls, "--insecure-skip-verify", "--srtp", "--hangup", "--timeout", "15s")
	if code != 0 || !strings.Contains(out, "answered after") || !strings.Contains(out, "SRTP AES_CM_128_HMAC_SHA1_80") {
		t.Errorf("--insecure-skip-verify: exit %d\n%s", code, out)
	}
	out, code = run("sip:+441632960777@"+n.sip, "--timeout", "15s")
	if code != 1 || !strings.Contains(out, "refused, 488") {
		t.Errorf("a plain offer under --srtp required: exit %d\n%s", code, out)
	}

	// An expired certificate: serve refuses to start with one, so a bare TLS listener shows
	// what a badly run far end would serve.
	old, oldKey := ca.Issue(testcert.Options{Name: "expired", NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	pair, err := tls.LoadX509KeyPair(old, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	out, code = run("sips:+441632960777@"+ln.Addr().String(), "--ca", ca.CAFile(), "--timeout", "15s")
	if code != 1 || !strings.Contains(out, "TLS certificate is expired or not yet valid") {
		t.Errorf("expired: exit %d\n%s", code, out)
	}
	_, code = run("sips:+441632960777@"+ln.Addr().String(), "--ca", ca.CAFile(), "--transport", "udp")
	if code != 2 {
		t.Errorf("sips: over --transport udp: exit %d, want 2", code)
	}
	if err := exec.Command(sipPaybridge(t), "serve", "--sip-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--data", t.TempDir(),
		"--tls-cert", old, "--tls-key", oldKey).Run(); err == nil {
		t.Error("serve started with an expired certificate")
	}
}
