// Package baresip drives a real baresip user agent from tests: it starts baresip with a
// private configuration (PCMU only, a silent WAV as its microphone, no registration) and
// controls it over the ctrl_tcp module, whose messages are netstring-framed JSON.
//
// It is test tooling shared by the ivr tests and the end-to-end tests; nothing in the product
// imports it. A missing baresip is a test failure ("run make deps"), never a skip.
package baresip

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/audiofile"
	"github.com/paybridge/paybridge/internal/testlog"
)

// ModuleDir is where Debian's baresip package installs its modules.
const ModuleDir = "/usr/lib/baresip/modules"

// UA is one baresip process.
type UA struct {
	cmd  *exec.Cmd
	out  *testlog.Buffer
	ctrl net.Conn
	rd   *bufio.Reader

	// SIPAddr is where it listens for SIP (host:port on loopback).
	SIPAddr string
	// RecordDir is where an agent writes what it hears and says (sndfile), "" otherwise.
	RecordDir string
}

// Options shape a baresip.
type Options struct {
	// User is the account's user part (default "+447700900123").
	User string
	// AutoAnswer answers every incoming call at once (an agent's phone).
	AutoAnswer bool
	// Codecs restricts the audio codecs it offers and accepts ("pcma"); "" = PCMU and PCMA.
	Codecs string
	// Record writes what it hears (…-dec.wav) and what it sends (…-enc.wav) of each call into
	// UA.RecordDir (the sndfile module).
	Record bool
	// Source is the WAV it plays as its microphone (default 60 s of silence).
	Source string
	// Audio, when set, is what the microphone plays instead (8 kHz PCM from the start of the
	// call), e.g. in-band DTMF tones.
	Audio []int16
	// CAFile makes baresip trust these CA certificates for SIP over TLS (sip_cafile).
	CAFile string
	// MediaEnc is the account's media encryption: "" (plain RTP) or "srtp-mand" (RTP/SAVP
	// with SDES keys, nothing else accepted); loads the srtp module.
	MediaEnc string
	// Outbound is the account's outbound proxy ("sip:127.0.0.1:5061;transport=tls"): every
	// request of a new call goes there. libre 1.1 (Debian's) sends a request only to a sip:
	// next hop, so a sips: Request-URI needs a sip:…;transport=tls outbound proxy.
	Outbound string
}

// Start runs baresip as the caller +447700900123 on loopback and connects to its ctrl_tcp
// port. The process is killed when the test ends.
func Start(t testing.TB) *UA { return start(t, Options{}, 0) }

// StartWith runs baresip with opt (an auto-answering, recording agent, say).
func StartWith(t testing.TB, opt Options) *UA { return start(t, opt, 0) }

// RecordedFile returns the path of the first WAV the sndfile module wrote whose name ends in
// suffix ("dec.wav": what it heard), or "".
func (u *UA) RecordedFile(suffix string) string {
	if u.RecordDir == "" {
		return ""
	}
	ents, _ := os.ReadDir(u.RecordDir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), suffix) {
			return filepath.Join(u.RecordDir, e.Name())
		}
	}
	return ""
}

// DialSIPS is what the dial command takes to call a sips: URI: baresip 1.0 prefixes "sip:" to
// any dial string that does not contain "sip:" (so "sips:…" became "sip:sips:…"), and a
// name-addr whose display name holds it passes through unchanged.
func DialSIPS(uri string) string { return `"sip:" <` + uri + `>` }

func start(t testing.TB, opt Options, attempt int) *UA {
	t.Helper()
	bin, err := exec.LookPath("baresip")
	if err != nil {
		t.Fatalf("baresip is not installed (%v): run make deps", err)
	}
	if _, err := os.Stat(filepath.Join(ModuleDir, "ctrl_tcp.so")); err != nil {
		t.Fatalf("baresip ctrl_tcp module not installed (%v): run make deps", err)
	}
	dir := t.TempDir()
	silence := opt.Source
	if opt.Audio != nil {
		silence = filepath.Join(dir, "microphone.wav")
		if err := audiofile.WriteWAVFile(silence, opt.Audio, audiofile.PCM16); err != nil {
			t.Fatal(err)
		}
	}
	if silence == "" {
		silence = filepath.Join(dir, "silence.wav")
		if err := audiofile.WriteWAVFile(silence, make([]int16, 8000*60), audiofile.PCM16); err != nil {
			t.Fatal(err)
		}
	}
	user := opt.User
	if user == "" {
		user = "+447700900123"
	}
	account := "<sip:" + user + "@127.0.0.1>;regint=0"
	if opt.AutoAnswer {
		account += ";answermode=auto"
	}
	if opt.Codecs != "" {
		account += ";audio_codecs=" + opt.Codecs
	}
	tlsConf, srtpModule := "", ""
	if opt.CAFile != "" {
		tlsConf = "sip_cafile " + opt.CAFile + "\n"
	}
	if opt.MediaEnc != "" {
		if _, err := os.Stat(filepath.Join(ModuleDir, "srtp.so")); err != nil {
			t.Fatalf("baresip srtp module not installed (%v): run make deps", err)
		}
		srtpModule = "module srtp.so\n" // before account.so: accounts name their media encryption
		account += ";mediaenc=" + opt.MediaEnc
	}
	if opt.Outbound != "" {
		account += `;outbound="` + opt.Outbound + `"`
	}
	extra, recDir := "", ""
	if opt.Record {
		recDir = filepath.Join(dir, "heard")
		if err := os.MkdirAll(recDir, 0o755); err != nil {
			t.Fatal(err)
		}
		extra = "module sndfile.so\nsnd_path " + recDir + "\n"
	}
	sipPort, ctrlPort, rtp := freePort(t, "udp"), freePort(t, "tcp"), freePort(t, "udp")&^1
	config := fmt.Sprintf(`poll_method epoll
sip_listen 127.0.0.1:%d
%saudio_player aubridge,nil
audio_source aufile,%s
audio_alert aubridge,nil
rtp_ports %d-%d
module_path %s
%smodule account.so
module g711.so
module aufile.so
module aubridge.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:%d
%s`, sipPort, tlsConf, silence, rtp, rtp+20, ModuleDir, srtpModule, ctrlPort, extra)
	for name, body := range map[string]string{"config": config, "accounts": account + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	u := &UA{out: &testlog.Buffer{}, SIPAddr: "127.0.0.1:" + strconv.Itoa(sipPort), RecordDir: recDir}
	u.cmd = exec.Command(bin, "-f", dir)
	u.cmd.Stdout, u.cmd.Stderr = u.out, u.out
	if err := u.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.kill)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(ctrlPort))
		if err == nil {
			u.ctrl, u.rd = c, bufio.NewReader(c)
			return u
		}
		if strings.Contains(u.out.String(), "Address already in use") && attempt < 3 {
			// A port picked as free was taken meanwhile: start again on new ones.
			u.kill()
			return start(t, opt, attempt+1)
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip ctrl_tcp never listened: %v\n%s", err, u.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (u *UA) kill() {
	_ = u.cmd.Process.Kill()
	_ = u.cmd.Wait()
}

// Command sends one ctrl_tcp command ("dial", "sndcode", "hangup", …) as a netstring.
func (u *UA) Command(t testing.TB, cmd, params string) {
	t.Helper()
	js, _ := json.Marshal(map[string]string{"command": cmd, "params": params, "token": cmd})
	if _, err := fmt.Fprintf(u.ctrl, "%d:%s,", len(js), js); err != nil {
		t.Fatal(err)
	}
}

// WaitEvent reads ctrl_tcp messages until one contains want ("CALL_ESTABLISHED", …).
func (u *UA) WaitEvent(t testing.TB, want string, timeout time.Duration) {
	t.Helper()
	_ = u.ctrl.SetReadDeadline(time.Now().Add(timeout))
	defer u.ctrl.SetReadDeadline(time.Time{})
	for {
		lenStr, err := u.rd.ReadString(':')
		if err != nil {
			t.Fatalf("waiting for %q: %v\n%s", want, err, u.out.String())
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(lenStr, ":")))
		if err != nil || n < 0 || n > 1<<20 {
			t.Fatalf("bad netstring length %q", lenStr)
		}
		msg := make([]byte, n+1)
		if _, err := io.ReadFull(u.rd, msg); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(msg, []byte(want)) {
			return
		}
	}
}

// Output is everything baresip printed so far.
func (u *UA) Output() string { return u.out.String() }

// freePort returns a loopback port of the network that was free a moment ago.
func freePort(t testing.TB, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
