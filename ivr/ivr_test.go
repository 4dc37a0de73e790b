package ivr

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/sipsafe"
	"github.com/paybridge/paybridge/internal/testlog"
	"github.com/paybridge/paybridge/siptest"
)

// testCards are the card numbers every output of the tests is scanned for.
var testCards = []string{"4242424242424242", "5555555555554444", "378282246310005"}

// tone returns a 440 Hz prompt of d at −16 dBm0-ish.
func tone(d time.Duration) []int16 {
	n := int(d.Seconds() * 8000)
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(4000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	return out
}

// collected is what a collecting handler saw on one call.
type collected struct {
	digits string
	cause  string
}

// digitCollector answers every number: it plays a short prompt, then reads keys from the
// Channel until n have arrived (or 15 s pass), and hangs up.
func digitCollector(n int, out chan<- collected) Router {
	return RouterFunc(func(to string) (CallHandler, bool) {
		return func(ctx context.Context, call *Call) {
			var got strings.Builder
			call.PlayPCM(ctx, tone(300*time.Millisecond))
			timeout := time.After(15 * time.Second)
		loop:
			for got.Len() < n {
				select {
				case e, ok := <-call.Digits():
					if !ok {
						break loop
					}
					got.WriteByte(e.Digit.Char())
				case <-timeout:
					break loop
				}
			}
			call.Hangup(ctx, "test-done")
			out <- collected{digits: got.String(), cause: call.Cause()}
		}, true
	})
}

func startServer(t *testing.T, cfg Config) (*Server, *testlog.Buffer) {
	t.Helper()
	logs := &testlog.Buffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.SIPAddr == "" {
		cfg.SIPAddr = "127.0.0.1:0"
	}
	if cfg.RTPPortMin == 0 {
		cfg.RTPPortMin, cfg.RTPPortMax = 30000, 30999
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, logs
}

func assertNoCards(t *testing.T, what, s string) {
	t.Helper()
	for _, c := range testCards {
		if strings.Contains(s, c) {
			t.Errorf("%s contains test card %s", what, c[len(c)-4:])
		}
	}
}

// TestCallerKeysCardToChannel keys a full card (PAN, expiry, CVV) with each DTMF method from
// the test caller over real UDP sockets and checks the Channel's digit stream.
func TestCallerKeysCardToChannel(t *testing.T) {
	const card = "4242424242424242" + "1230" + "123"
	for _, mode := range []string{siptest.DTMFRFC4733, siptest.DTMFInband, siptest.DTMFInfo} {
		t.Run(mode, func(t *testing.T) {
			got := make(chan collected, 1)
			trace := &testlog.Buffer{}
			sipsafe.TraceSIP(trace)
			t.Cleanup(func() { sipsafe.TraceSIP(nil) }) // after the server below has stopped (cleanups run last-in first-out)
			s, logs := startServer(t, Config{Router: digitCollector(len(card), got)})
			res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
				Target: "sip:+441632960000@" + s.Addr().String(), From: "+447700900123",
				Digits: card, DTMF: mode, Timeout: 30 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Answered || res.Status != 200 || res.DigitsSent != len(card) || !res.PromptHeard {
				t.Fatalf("caller result: %+v", res)
			}
			c := <-got
			if c.digits != card {
				t.Fatalf("channel got %d digits, want %d (match=%v)", len(c.digits), len(card), c.digits == card)
			}
			if res.HangupBy != "remote" {
				t.Errorf("hangup by %q, want remote", res.HangupBy)
			}
			js, _ := json.Marshal(res)
			assertNoCards(t, "caller JSON", string(js))
			assertNoCards(t, "server logs", logs.String())
			assertNoCards(t, "SIP trace", trace.String())
			if mode == siptest.DTMFInfo && !strings.Contains(trace.String(), "[body redacted") {
				t.Error("INFO bodies were not redacted in the trace")
			}
		})
	}
}

func TestTCPTransport(t *testing.T) {
	got := make(chan collected, 1)
	s, _ := startServer(t, Config{Router: digitCollector(4, got)})
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
		Target: "sip:100@" + s.Addr().String(), Transport: "tcp", Digits: "1234", Timeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := <-got; c.digits != "1234" || !res.Answered {
		t.Fatalf("over TCP: result %+v, digits ok=%v", res, c.digits == "1234")
	}
}

func TestNoRouteIs404(t *testing.T) {
	s, _ := startServer(t, Config{Router: RouterFunc(func(string) (CallHandler, bool) { return nil, false })})
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{Target: "sip:999@" + s.Addr().String(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 404 || res.Answered {
		t.Fatalf("got %+v", res)
	}
}

func TestMediaTimeoutHangsUp(t *testing.T) {
	ended := make(chan string, 1)
	router := RouterFunc(func(string) (CallHandler, bool) {
		return func(ctx context.Context, call *Call) {
			<-call.Done()
			ended <- call.Cause()
		}, true
	})
	s, _ := startServer(t, Config{Router: router, MediaTimeout: 500 * time.Millisecond})
	// The caller plays nothing at all: PlayRTP with no packets keeps it silent.
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
		Target: "sip:1@" + s.Addr().String(), PlayRTP: []siptest.RecordedRTP{{At: 0, Packet: []byte{0}}}, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if cause := <-ended; cause != "media-timeout" {
		t.Fatalf("cause %q, want media-timeout", cause)
	}
	if res.HangupBy != "remote" {
		t.Fatalf("caller: %+v", res)
	}
}

var _ = io.Discard
var _ = netip.Addr{}
