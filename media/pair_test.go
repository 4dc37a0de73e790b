package media

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/internal/audiofile"
)

// The media layer on its own, without SIP: two sessions on loopback sockets agree through
// BuildOffer/BuildAnswer/Negotiate and carry audio both ways, exactly as a call's two ends (or
// later two legs of one call) do.

var lo = netip.MustParseAddr("127.0.0.1")

// keys collects what a dtmf.Stream reports.
type keys struct {
	mu  sync.Mutex
	got strings.Builder
	n   chan struct{}
}

func newKeys() *keys { return &keys{n: make(chan struct{}, 64)} }

func (k *keys) onDigit(e dtmf.Event) {
	k.mu.Lock()
	k.got.WriteByte(e.Digit.Char())
	k.mu.Unlock()
	k.n <- struct{}{}
}

func (k *keys) String() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.got.String()
}

func listenLoopback(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// pair is an offerer (a) and an answerer (b) of one audio stream; b's keypresses and
// recording are what the tests look at.
type pair struct {
	a, b  *Session
	keysB *keys
}

// newPair negotiates offer (built for a's port by mkOffer) at b, b's answer at a, and starts
// both sessions.
func newPair(t *testing.T, mkOffer func(port int) []byte) *pair {
	t.Helper()
	sched := NewScheduler()
	t.Cleanup(sched.Close)
	connA, connB := listenLoopback(t), listenLoopback(t)
	p := &pair{keysB: newKeys()}
	p.a = NewSession(connA, SessionConfig{Scheduler: sched, SignalIP: lo})
	p.b = NewSession(connB, SessionConfig{Scheduler: sched, SignalIP: lo,
		DTMF: dtmf.NewStream(dtmf.StreamConfig{OnDigit: p.keysB.onDigit})})
	t.Cleanup(p.a.Close)
	t.Cleanup(p.b.Close)

	offer, err := ParseSDP(mkOffer(p.a.Port()))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := Negotiate(offer)
	if err != nil {
		t.Fatal(err)
	}
	p.b.SetParams(pb)
	answer, err := ParseSDP(BuildAnswer(offer, pb, LocalMedia{IP: lo, Port: p.b.Port(), SessionID: 2, Version: 1}))
	if err != nil {
		t.Fatal(err)
	}
	pa, err := Negotiate(answer)
	if err != nil {
		t.Fatal(err)
	}
	if pa.Codec != pb.Codec || pa.EventPT != pb.EventPT {
		t.Fatalf("the two ends disagree: offerer %+v, answerer %+v", pa, pb)
	}
	p.a.SetParams(pa)
	p.a.Start()
	p.b.Start()
	return p
}

// waitReceived waits until s has accepted at least n packets.
func waitReceived(t *testing.T, s *Session, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for s.Stats().Received < n {
		if time.Now().After(deadline) {
			t.Fatalf("received %d packets, want %d", s.Stats().Received, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pcmaOnlyOffer(port int) []byte {
	return fmt.Appendf(nil, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 8 96\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n", port)
}

func TestTwoSessionsCarryKeysInBand(t *testing.T) {
	for _, tc := range []struct {
		name  string
		offer func(port int) []byte
		codec string
	}{
		{"PCMU", func(port int) []byte { return BuildOffer(LocalMedia{IP: lo, Port: port, SessionID: 1, Version: 1}) }, "PCMU"},
		{"PCMA", pcmaOnlyOffer, "PCMA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, tc.offer)
			if got := p.b.Params().Codec.Name(); got != tc.codec {
				t.Fatalf("negotiated %s, want %s", got, tc.codec)
			}
			opt := dtmf.DefaultToneOptions()
			opt.Duration, opt.Gap = 100*time.Millisecond, 100*time.Millisecond
			const sent = "159#"
			if err := p.a.Play(context.Background(), dtmf.GenerateDigits(sent, opt)); err != nil {
				t.Fatal(err)
			}
			deadline := time.After(20 * time.Second)
			for range sent {
				select {
				case <-p.keysB.n:
				case <-deadline:
					t.Fatalf("keys heard %q, want %q", p.keysB, sent)
				}
			}
			if got := p.keysB.String(); got != sent {
				t.Fatalf("keys heard %q, want %q", got, sent)
			}
			// And the other way: b's prompt reaches a.
			if err := p.b.Play(context.Background(), tone(100*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			waitReceived(t, p.a, 5)
			if st := p.b.Stats(); st.Foreign != 0 || st.Lost != 0 || st.Latched.IsValid() {
				t.Errorf("answerer's counters %+v", st)
			}
		})
	}
}

// readRecording returns the samples of a WAV the session wrote and checks its mode.
func readRecording(t *testing.T, path string) []int16 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("recording mode %v, want 0600", fi.Mode().Perm())
	}
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

func detect(pcm []int16) string {
	d := dtmf.NewDetector()
	var out strings.Builder
	for _, e := range append(d.Process(pcm), d.Flush()...) {
		if e.End == 0 {
			out.WriteByte(e.Digit.Char())
		}
	}
	return out.String()
}

func TestRecordingHoldsNoKeyAndOnlyFillWhileSecure(t *testing.T) {
	opt := dtmf.DefaultToneOptions()
	opt.Duration, opt.Gap = 120*time.Millisecond, 60*time.Millisecond
	played := append(append(tone(300*time.Millisecond), dtmf.GenerateDigits("5", opt)...), tone(300*time.Millisecond)...)
	if got := detect(played); got != "5" {
		t.Fatalf("control: the detector finds %q in what is played, want 5", got)
	}
	packets := int64(len(played) / 160)

	t.Run("masked", func(t *testing.T) {
		p := newPair(t, func(port int) []byte { return BuildOffer(LocalMedia{IP: lo, Port: port, SessionID: 1, Version: 1}) })
		path := filepath.Join(t.TempDir(), "call.wav")
		if err := p.b.Record(path, nil); err != nil {
			t.Fatal(err)
		}
		if err := p.b.Record(path, nil); err != nil {
			t.Fatalf("a second Record while recording: %v, want nothing done", err)
		}
		if err := p.a.Play(context.Background(), played); err != nil {
			t.Fatal(err)
		}
		waitReceived(t, p.b, packets)
		if err := p.b.StopRecording(); err != nil {
			t.Fatal(err)
		}
		rec := readRecording(t, path)
		if got := detect(rec); got != "" {
			t.Fatalf("the recording gives up keys %q", got)
		}
		var loud int
		for _, v := range rec {
			if v > 1000 || v < -1000 {
				loud++
			}
		}
		if loud < 1000 {
			t.Fatalf("the recording holds %d loud samples of %d: the caller's speech is missing", loud, len(rec))
		}
		if err := p.b.Record(path, nil); err == nil {
			t.Fatal("a new recording overwrote an existing file")
		}
	})

	t.Run("secure", func(t *testing.T) {
		p := newPair(t, func(port int) []byte { return BuildOffer(LocalMedia{IP: lo, Port: port, SessionID: 1, Version: 1}) })
		p.b.SetSecure(true) // before the recording starts: the masker it gets starts secure
		path := filepath.Join(t.TempDir(), "call.wav")
		if err := p.b.Record(path, nil); err != nil {
			t.Fatal(err)
		}
		if err := p.a.Play(context.Background(), played); err != nil {
			t.Fatal(err)
		}
		waitReceived(t, p.b, packets)
		p.b.Close() // Close ends the recording too
		rec := readRecording(t, path)
		if len(rec) < len(played)/2 {
			t.Fatalf("recording of %d samples for %d played", len(rec), len(played))
		}
		for i, v := range rec {
			if v != 0 {
				t.Fatalf("sample %d is %d: the secure window must leave only the fill", i, v)
			}
		}
	})
}

func TestTimeoutOnlyWhileTheFarEndShouldSend(t *testing.T) {
	sched := NewScheduler()
	defer sched.Close()
	for _, tc := range []struct {
		dir  string
		want bool
	}{{SendRecv, true}, {RecvOnly, true}, {SendOnly, false}, {Inactive, false}} {
		t.Run(tc.dir, func(t *testing.T) {
			fired := make(chan struct{}, 1)
			s := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched, Timeout: 200 * time.Millisecond,
				OnTimeout: func() { fired <- struct{}{} }})
			defer s.Close()
			s.SetParams(Params{Codec: PCMU, EventPT: -1, PTime: 20, Direction: tc.dir, Remote: netip.MustParseAddrPort("127.0.0.1:9")})
			s.Start()
			wait := 10 * time.Second
			if !tc.want {
				wait = 1 * time.Second // long enough for five deadlines to pass
			}
			select {
			case <-fired:
				if !tc.want {
					t.Fatal("timed out although the far end is not supposed to send")
				}
			case <-time.After(wait):
				if tc.want {
					t.Fatal("no timeout without RTP")
				}
			}
		})
	}
}

func TestPlayInfoAndClose(t *testing.T) {
	sched := NewScheduler()
	defer sched.Close()
	k := newKeys()
	s := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched,
		DTMF: dtmf.NewStream(dtmf.StreamConfig{OnDigit: k.onDigit})})
	s.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv, Remote: netip.MustParseAddrPort("127.0.0.1:9")})
	s.Start()

	if err := s.Info("application/dtmf-relay", []byte("Signal=7\r\nDuration=100\r\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-k.n:
	case <-time.After(10 * time.Second):
		t.Fatal("the INFO key never came out of the stream")
	}
	if got := k.String(); got != "7" {
		t.Fatalf("INFO gave %q", got)
	}
	if err := s.Info("application/dtmf-relay", []byte("Signal=x\r\n")); err == nil {
		t.Error("a body that is not a key was accepted")
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Play(ctx, tone(10*time.Second)) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("barge-in: %v, want context.Canceled", err)
	}
	go func() { done <- s.Play(context.Background(), tone(10*time.Second)) }()
	time.Sleep(50 * time.Millisecond)
	s.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Play across Close: %v, want ErrClosed", err)
	}
	if err := s.Play(context.Background(), tone(time.Second)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Play after Close: %v, want ErrClosed", err)
	}
}
