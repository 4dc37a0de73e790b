package ivr

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/internal/audiofile"
	"github.com/paybridge/paybridge/loadtest/pcapgen"
	"github.com/paybridge/paybridge/siptest"
)

// SIPp plays the PBX paybridge dials: busy, ringing until cancelled, and one that challenges
// the INVITE (digest), sends early media, answers and hangs up.

// pbx is one SIPp UAS taking one call.
type pbx struct {
	addr string
	done chan struct{}
	out  bytes.Buffer
	err  error
}

func startPBX(t *testing.T, sf string) *pbx {
	t.Helper()
	sipp := needTool(t, "sipp")
	p := &pbx{done: make(chan struct{})}
	port := freePort(t, false)
	p.addr = "127.0.0.1:" + strconv.Itoa(port)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	cmd := exec.CommandContext(ctx, sipp, "-sf", sf, "-i", "127.0.0.1", "-p", strconv.Itoa(port),
		"-mp", strconv.Itoa(freePort(t, true)), "-m", "1", "-timeout", "60s", "-timeout_error", "-nostdin",
		"-trace_err", "-error_file", filepath.Join(dir, "err.log"))
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		errs, _ := os.ReadFile(filepath.Join(dir, "err.log"))
		p.out.Write(errs)
		cancel()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
	})
	time.Sleep(300 * time.Millisecond) // SIPp binds its port
	return p
}

// wait returns SIPp's verdict: nil when its scenario ran to the end.
func (p *pbx) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatal("SIPp never finished")
	}
	return p.err
}

// dialOnce answers, dials req, reports the result and keeps the call bridged until either
// side hangs up.
func dialOnce(req engine.DialRequest, out chan<- engine.DialResult, ended chan<- string) Router {
	return RouterFunc(func(string) (CallHandler, bool) {
		return func(ctx context.Context, call *Call) {
			go func() {
				for range call.Digits() {
				}
			}()
			br, res := call.Dial(ctx, req)
			out <- res
			if br == nil {
				return
			}
			select {
			case <-br.Done():
				// The leg ended and released its bridge; the figures it ran with must still be
				// there (the engine reads them now for its call.unbridged event).
				if br.Stats().Frames == 0 {
					ended <- "leg, leaving no bridge figures"
				} else {
					ended <- "leg"
				}
			case <-call.Done():
				ended <- "caller"
			}
		}, true
	})
}

type heardAudio struct {
	mu  sync.Mutex
	pcm []int16
}

func (h *heardAudio) set(pcm []int16) { h.mu.Lock(); h.pcm = pcm; h.mu.Unlock() }
func (h *heardAudio) get() []int16    { h.mu.Lock(); defer h.mu.Unlock(); return h.pcm }

func TestDialBusyPBX(t *testing.T) {
	p := startPBX(t, scenario(t, "pbx_busy.xml"))
	out, ended := make(chan engine.DialResult, 1), make(chan string, 1)
	s, _ := startServer(t, Config{Router: dialOnce(engine.DialRequest{Targets: []engine.DialTarget{{URI: "sip:agent@" + p.addr}},
		Timeout: 10 * time.Second}, out, ended)})
	go siptest.Dial(context.Background(), siptest.CallerConfig{Target: "sip:+441632960000@" + s.Addr().String(), Timeout: 20 * time.Second})
	res := <-out
	if res.Status != engine.DialBusy || res.SIPStatus != 486 || len(res.Attempts) != 1 {
		t.Fatalf("dial %+v", res)
	}
	if err := p.wait(t); err != nil {
		t.Fatalf("SIPp: %v\n%s", err, tail(p.out.String(), 3000))
	}
}

// TestDialCancelledWhenTheCallerHangsUp: the PBX rings without early media; the caller hears
// ring-back, hangs up, and the INVITE is CANCELled (the SIPp scenario fails without it).
func TestDialCancelledWhenTheCallerHangsUp(t *testing.T) {
	p := startPBX(t, scenario(t, "pbx_ring_cancel.xml"))
	out, ended := make(chan engine.DialResult, 1), make(chan string, 1)
	s, _ := startServer(t, Config{Router: dialOnce(engine.DialRequest{Targets: []engine.DialTarget{{URI: "sip:agent@" + p.addr}},
		Timeout: 40 * time.Second, RingTone: "uk"}, out, ended)})
	var heard heardAudio
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{Target: "sip:+441632960000@" + s.Addr().String(),
		Digits: "WWWW", Hangup: true, Heard: heard.set, PromptWait: 100 * time.Millisecond, Timeout: 30 * time.Second})
	if err != nil || !res.Answered {
		t.Fatalf("caller %+v %v", res, err)
	}
	dial := <-out
	if dial.Status != engine.DialCallerHungUp {
		t.Fatalf("dial %+v", dial)
	}
	if err := p.wait(t); err != nil {
		t.Fatalf("SIPp saw no CANCEL: %v\n%s", err, tail(p.out.String(), 3000))
	}
	if loud := countLoud(heard.get()); loud < 8000/4 {
		t.Fatalf("the caller heard %d loud samples while it rang: no ring-back", loud)
	}
}

func TestDialNoAnswerCancels(t *testing.T) {
	p := startPBX(t, scenario(t, "pbx_ring_cancel.xml"))
	out, ended := make(chan engine.DialResult, 1), make(chan string, 1)
	s, _ := startServer(t, Config{Router: dialOnce(engine.DialRequest{Targets: []engine.DialTarget{{URI: "sip:agent@" + p.addr}},
		Timeout: 5 * time.Second}, out, ended)})
	go siptest.Dial(context.Background(), siptest.CallerConfig{Target: "sip:+441632960000@" + s.Addr().String(), Timeout: 20 * time.Second})
	dial := <-out
	if dial.Status != engine.DialNoAnswer {
		t.Fatalf("dial %+v", dial)
	}
	if err := p.wait(t); err != nil {
		t.Fatalf("SIPp saw no CANCEL: %v\n%s", err, tail(p.out.String(), 3000))
	}
}

// TestDialDigestEarlyMediaAndAgentBye: the PBX challenges (401), checks the digest, plays early
// media the caller hears (keys 987 as tones, before any answer), answers and hangs up: the
// bridge ends and the caller stays with the handler.
func TestDialDigestEarlyMediaAndAgentBye(t *testing.T) {
	pcap := filepath.Join(t.TempDir(), "early.pcap")
	f, err := os.Create(pcap)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := audiofile.NewPcapWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	opt := pcapgen.Options{On: 120 * time.Millisecond, Off: 120 * time.Millisecond, Lead: 200 * time.Millisecond, Tail: 200 * time.Millisecond,
		Src: netip.MustParseAddrPort("127.0.0.1:6000"), Dst: netip.MustParseAddrPort("127.0.0.1:10000")}
	pkts := pcapgen.Inband("987", opt)
	for i := range pkts {
		if err := pw.WriteRTP(t0.Add(pkts[i].At), opt.Src, opt.Dst, &pkts[i].Packet); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	p := startPBX(t, scenario(t, "pbx_auth_early_media.xml", "@PCAP@", pcap, "@HOLD@", "2000"))
	out, ended := make(chan engine.DialResult, 1), make(chan string, 1)
	s, logs := startServer(t, Config{Router: dialOnce(engine.DialRequest{
		Targets: []engine.DialTarget{{URI: "sip:agent@" + p.addr, Username: "pb-user", Password: "pb-secret", Agent: "alice"}},
		Timeout: 20 * time.Second}, out, ended)})
	var heard heardAudio
	go siptest.Dial(context.Background(), siptest.CallerConfig{Target: "sip:+441632960000@" + s.Addr().String(),
		Heard: heard.set, Timeout: 30 * time.Second})
	dial := <-out
	if dial.Status != engine.DialAnswered || dial.Agent != "alice" || dial.SIPStatus != 200 {
		t.Fatalf("dial %+v\n%s\n%s", dial, tail(p.out.String(), 2000), tail(logs.String(), 2000))
	}
	select {
	case who := <-ended:
		if who != "leg" {
			t.Fatalf("the bridge ended by the %s, want the leg's BYE", who)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the PBX's BYE did not end the bridge")
	}
	if err := p.wait(t); err != nil {
		t.Fatalf("SIPp: %v\n%s", err, tail(p.out.String(), 3000))
	}
	deadline := time.Now().Add(20 * time.Second)
	for heard.get() == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := keysIn(heard.get()); !strings.Contains(got, "987") {
		t.Fatalf("the caller heard keys %q of the early media, want 987", got)
	}
	if strings.Contains(logs.String(), "pb-secret") {
		t.Fatal("the PBX password is in the logs")
	}
}
