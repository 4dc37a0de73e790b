package ivr

import (
	"bufio"
	"bytes"
	"context"
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

	"github.com/paybridge/paybridge/internal/media"
)

// baresip is one baresip process driven over its ctrl_tcp module (netstring-framed JSON).
type baresip struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	ctrl net.Conn
	rd   *bufio.Reader
}

// startBaresip runs baresip with a private config: PCMU only, audio from a silent WAV, no
// registration, ctrl_tcp on a free port.
func startBaresip(t *testing.T) *baresip { return startBaresipTry(t, 0) }

// freeTCPPortFor returns a TCP port that was free a moment ago.
func freeTCPPortFor(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startBaresipTry(t *testing.T, attempt int) *baresip {
	t.Helper()
	bin := needTool(t, "baresip")
	dir := t.TempDir()
	silence := filepath.Join(dir, "silence.wav")
	if err := media.WriteWAVFile(silence, make([]int16, 8000*60), media.PCM16); err != nil {
		t.Fatal(err)
	}
	sipPort, ctrlPort := freePort(t, false), freeTCPPortFor(t)
	rtp := freePort(t, true)
	modules := "/usr/lib/baresip/modules"
	if _, err := os.Stat(filepath.Join(modules, "ctrl_tcp.so")); err != nil {
		t.Fatalf("baresip ctrl_tcp module not installed (%v): run make deps", err)
	}
	config := fmt.Sprintf(`poll_method epoll
sip_listen 127.0.0.1:%d
audio_player aubridge,nil
audio_source aufile,%s
audio_alert aubridge,nil
rtp_ports %d-%d
module_path %s
module account.so
module g711.so
module aufile.so
module aubridge.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:%d
`, sipPort, silence, rtp, rtp+20, modules, ctrlPort)
	os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o644)
	os.WriteFile(filepath.Join(dir, "accounts"), []byte("<sip:+447700900123@127.0.0.1>;regint=0\n"), 0o644)
	b := &baresip{out: &syncBuffer{}}
	b.cmd = exec.Command(bin, "-f", dir)
	b.cmd.Stdout, b.cmd.Stderr = b.out, b.out
	b.cmd.Stdin = nil
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.cmd.Process.Kill()
		b.cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(ctrlPort))
		if err == nil {
			b.ctrl, b.rd = c, bufio.NewReader(c)
			return b
		}
		if strings.Contains(b.out.String(), "Address already in use") && attempt < 3 {
			// A port picked as free was taken meanwhile: start again on new ones.
			b.cmd.Process.Kill()
			b.cmd.Wait()
			return startBaresipTry(t, attempt+1)
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip ctrl_tcp never listened: %v\n%s", err, b.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// command sends one ctrl_tcp command as a netstring.
func (b *baresip) command(t *testing.T, cmd, params string) {
	t.Helper()
	js, _ := json.Marshal(map[string]string{"command": cmd, "params": params, "token": cmd})
	if _, err := fmt.Fprintf(b.ctrl, "%d:%s,", len(js), js); err != nil {
		t.Fatal(err)
	}
}

// waitEvent reads ctrl_tcp messages until one contains want.
func (b *baresip) waitEvent(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	b.ctrl.SetReadDeadline(time.Now().Add(timeout))
	defer b.ctrl.SetReadDeadline(time.Time{})
	for {
		lenStr, err := b.rd.ReadString(':')
		if err != nil {
			t.Fatalf("waiting for %q: %v\n%s", want, err, b.out.String())
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(lenStr, ":")))
		if err != nil || n < 0 || n > 1<<20 {
			t.Fatalf("bad netstring length %q", lenStr)
		}
		msg := make([]byte, n+1)
		if _, err := io.ReadFull(b.rd, msg); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(msg, []byte(want)) {
			return
		}
	}
}

// TestBaresipKeysCard dials paybridge from baresip (ctrl_tcp: dial, then sndcode per key) and
// checks that the Channel receives the whole card.
func TestBaresipKeysCard(t *testing.T) {
	got := make(chan collected, 1)
	s, logs := startServer(t, Config{Router: digitCollector(len(sippCard), got)})
	b := startBaresip(t)
	b.command(t, "dial", "sip:+441632960000@"+s.Addr().String())
	b.waitEvent(t, "CALL_ESTABLISHED", 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	for i := 0; i < len(sippCard); i++ {
		b.command(t, "sndcode", sippCard[i:i+1])
		time.Sleep(250 * time.Millisecond)
	}
	var c collected
	select {
	case c = <-got:
	case <-time.After(20 * time.Second):
		t.Fatalf("handler never finished\n%s", b.out.String())
	}
	if c.digits != sippCard {
		t.Fatalf("channel got %d digits (want %d), equal=%v\nbaresip:\n%s", len(c.digits), len(sippCard), c.digits == sippCard, tail(b.out.String(), 3000))
	}
	b.waitEvent(t, "CALL_CLOSED", 10*time.Second)
	assertNoCards(t, "server logs", logs.String())
	_ = context.Background
}
