package ivr

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/internal/audiofile"
	"github.com/paybridge/paybridge/internal/baresip"
	"github.com/paybridge/paybridge/siptest"
)

// bridgeHandler answers, plays a short prompt, dials target and keeps the call bridged until
// the caller hangs up; capture is set on the leg once it answers. The dial's result and the
// keys paybridge itself heard go to out.
type bridged struct {
	res    engine.DialResult
	digits string
	stats  engine.BridgeStats
}

func bridgeHandler(target string, capture engine.Capture, out chan<- bridged) Router {
	return RouterFunc(func(to string) (CallHandler, bool) {
		return func(ctx context.Context, call *Call) {
			call.PlayPCM(ctx, tone(300*time.Millisecond))
			br, res := call.Dial(ctx, engine.DialRequest{Targets: []engine.DialTarget{{URI: target}}, Timeout: 15 * time.Second, RingTone: "uk"})
			var b bridged
			b.res = res
			if br == nil {
				out <- b
				return
			}
			br.SetCapture(capture, false)
			var got strings.Builder
		loop:
			for {
				select {
				case e, ok := <-call.Digits():
					if !ok {
						break loop
					}
					got.WriteByte(e.Digit.Char())
				case <-br.Done():
					break loop
				case <-call.Done():
					break loop
				}
			}
			b.digits, b.stats = got.String(), br.Stats()
			out <- b
		}, true
	})
}

func decodeWAV(t *testing.T, path string) []int16 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pcm, _, err := audiofile.ReadWAV(f)
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}

func keysIn(pcm []int16) string {
	var out strings.Builder
	for _, e := range audiofile.AudioDigits(pcm) { // one event per key, at its release
		out.WriteByte(e.Digit.Char())
	}
	return out.String()
}

// TestDialBridgesCallerToBaresipAgent: a caller (paybridge call's engine) keys in-band tones
// on a call paybridge bridged to a baresip agent that answers by itself and speaks PCMA only;
// paybridge hears every key, and the agent — whose own recording of what it heard is decoded —
// hears them all while nothing is being captured, and none of them (a beep each) during a
// secure capture.
func TestDialBridgesCallerToBaresipAgent(t *testing.T) {
	const keys = "4242424242424242"
	for _, tc := range []struct {
		name    string
		capture engine.Capture
		dtmf    string
	}{
		{"control-inband", engine.CaptureOff, siptest.DTMFInband},
		{"secure-inband", engine.CaptureSecure, siptest.DTMFInband},
		{"secure-rfc4733", engine.CaptureSecure, siptest.DTMFRFC4733},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agent := baresip.StartWith(t, baresip.Options{User: "agent", AutoAnswer: true, Codecs: "pcma", Record: true})
			out := make(chan bridged, 1)
			s, logs := startServer(t, Config{Router: bridgeHandler("sip:agent@"+agent.SIPAddr, tc.capture, out)})
			res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
				Target: "sip:+441632960000@" + s.Addr().String(), From: "+447700900123",
				Digits: "WW" + keys + "W", DTMF: tc.dtmf, Hangup: true, HangupAfter: time.Second, Timeout: 60 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Answered || res.DigitsSent != len(keys) {
				t.Fatalf("caller %+v", res)
			}
			var b bridged
			select {
			case b = <-out:
			case <-time.After(30 * time.Second):
				t.Fatalf("the handler never ended\n%s", tail(agent.Output(), 2000))
			}
			if b.res.Status != engine.DialAnswered || b.res.Agent != "agent" || b.res.SIPStatus != 200 {
				t.Fatalf("dial %+v\n%s", b.res, tail(logs.String(), 3000))
			}
			if b.digits != keys {
				t.Fatalf("paybridge heard %d keys, want %d", len(b.digits), len(keys))
			}
			agent.WaitEvent(t, "CALL_CLOSED", 15*time.Second)
			heardPath := agent.RecordedFile("dec.wav")
			if heardPath == "" {
				t.Fatalf("the agent recorded nothing\n%s", tail(agent.Output(), 2000))
			}
			heard := decodeWAV(t, heardPath)
			t.Logf("heard %d samples, %d loud; stats %+v", len(heard), countLoud(heard), b.stats)
			got := keysIn(heard)
			switch tc.capture {
			case engine.CaptureOff:
				if got != keys {
					t.Fatalf("control: the agent's recording gives %d keys, want all %d: the scan cannot find keys", len(got), len(keys))
				}
			default:
				if got != "" {
					t.Fatalf("the agent heard %d keys of the card during a secure capture", len(got))
				}
				if loud := countLoud(heard); loud < 8000/10 {
					t.Fatalf("the agent heard %d loud samples: no beep per key", loud)
				}
				if strings.Contains(agent.Output(), "DTMF") && strings.Contains(agent.Output(), "received") {
					t.Fatalf("telephone-events reached the agent:\n%s", tail(agent.Output(), 2000))
				}
			}
			if b.stats.Frames == 0 {
				t.Fatalf("bridge stats %+v", b.stats)
			}
			assertNoCards(t, "server logs", logs.String())
		})
	}
}

func countLoud(pcm []int16) int {
	n := 0
	for _, v := range pcm {
		if v > 1500 || v < -1500 {
			n++
		}
	}
	return n
}
