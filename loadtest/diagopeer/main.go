// Command diagopeer is the peer that paybridge's capacity is measured against (issue 17): a
// minimal IVR on github.com/emiago/diago — the Go IVR framework on the same sipgo — that
// answers, plays a prompt, collects a card keyed over RFC 4733 and reports, per call, whether
// the digits were exact.
//
// It is its own Go module, so diago never enters paybridge's dependency graph; `make
// diagopeer` builds it into bin/diagopeer. It does only what a payment IVR must do for the
// comparison to be fair: with -provider it charges the card through the sandbox provider's
// Generic Pay Connector API (one POST, in another process), as paybridge's plan does through
// its session API.
//
// One JSON line per call goes to stdout: {"call":…,"digits":N,"exact":bool,"paid":bool,"error":…}.
// The digits themselves are never printed.
//
// diago has no in-band DTMF detector: the peer takes RFC 4733 (and SIP INFO) keys only.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
)

// report is one call's outcome, never its digits.
type report struct {
	Call   string `json:"call"`
	Digits int    `json:"digits"`
	Exact  bool   `json:"exact"`
	Paid   bool   `json:"paid"`
	Error  string `json:"error,omitempty"`
	// Answered and Ended (Unix ms) give the harness call-seconds and concurrency, measured
	// at the endpoint.
	Answered int64 `json:"answered_ms,omitempty"`
	Ended    int64 `json:"ended_ms,omitempty"`
}

var errEnough = errors.New("all digits collected")

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "SIP listen address (UDP); port 0 picks a free one")
	prompt := flag.String("prompt", "", "WAV prompt played on answer (8 kHz 16-bit mono)")
	expect := flag.String("expect", "42424242424242421230123", "the digits every caller keys (card, expiry, CVV; '#' is ignored)")
	keyTimeout := flag.Duration("timeout", 20*time.Second, "give up when no RTP arrives for this long")
	provider := flag.String("provider", "", "sandbox provider base URL; when set, an exact card is charged through {provider}/generic")
	rtpPorts := flag.String("rtp-ports", "20000-40000", "RTP port range LOW-HIGH")
	flag.Parse()

	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	var wav []byte
	if *prompt != "" {
		b, err := os.ReadFile(*prompt)
		if err != nil {
			fail(err)
		}
		wav = b
	}
	if lo, hi, ok := portRange(*rtpPorts); ok {
		media.RTPPortStart, media.RTPPortEnd = lo, hi
	}
	host, port, err := resolve(*addr)
	if err != nil {
		fail(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("diagopeer"))
	if err != nil {
		fail(err)
	}
	defer ua.Close()
	dg := diago.NewDiago(ua, diago.WithLogger(slog.Default()),
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: host, BindPort: port}))

	out := &reporter{enc: json.NewEncoder(os.Stdout)}
	pay := newPayer(*provider)
	if err := dg.ServeBackground(ctx, func(d *diago.DialogServerSession) {
		out.write(handle(d, wav, *expect, *keyTimeout, pay))
	}); err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "diagopeer listening on udp %s:%d\n", host, port)
	<-ctx.Done()
}

// handle is one call: answer, play the prompt while listening, collect the digits, charge,
// hang up.
func handle(d *diago.DialogServerSession, wav []byte, expect string, keyTimeout time.Duration, pay *payer) (r report) {
	r.Call = d.ID
	d.Trying()
	med, err := d.Answer(diago.AnswerOptions{})
	if err != nil {
		r.Error = "answer: " + err.Error()
		return r
	}
	r.Answered = time.Now().UnixMilli()
	defer func() { r.Ended = time.Now().UnixMilli() }()
	played := make(chan struct{})
	go func() {
		defer close(played)
		if len(wav) == 0 {
			return
		}
		if pb, err := med.PlaybackCreate(); err == nil {
			pb.Play(bytes.NewReader(wav), "audio/wav")
		}
	}()

	dr, err := med.AudioReaderDTMF()
	if err != nil {
		r.Error = "dtmf: " + err.Error()
		d.Hangup(context.Background())
		return
	}
	got := make([]byte, 0, len(expect))
	err = dr.Listen(func(k rune) error {
		if k < '0' || k > '9' {
			return nil // '#' ends a field for paybridge's Pay; the peer only counts digits
		}
		got = append(got, byte(k))
		if len(got) >= len(expect) {
			return errEnough
		}
		return nil
	}, keyTimeout)
	if err != nil && !errors.Is(err, errEnough) && len(got) < len(expect) {
		r.Error = "listen: " + err.Error()
	}
	r.Digits = len(got)
	r.Exact = string(got) == expect
	if r.Exact && pay != nil {
		if err := pay.charge(d.ID, got); err != nil {
			r.Error = "pay: " + err.Error()
		} else {
			r.Paid = true
		}
	}
	clear(got)
	<-played
	d.Hangup(context.Background())
	return
}

type reporter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (o *reporter) write(r report) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.enc.Encode(r)
}

func resolve(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, err
	}
	if port == 0 {
		// diago binds the port itself; find a free one for it.
		c, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
		if err != nil {
			return "", 0, err
		}
		port = c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
	}
	return host, port, nil
}

func portRange(s string) (int, int, bool) {
	var lo, hi int
	if _, err := fmt.Sscanf(s, "%d-%d", &lo, &hi); err != nil || lo <= 0 || hi <= lo {
		return 0, 0, false
	}
	return lo, hi, true
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "diagopeer:", err)
	os.Exit(1)
}
