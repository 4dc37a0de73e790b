package ivr

import (
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/media"
)

// The RTP Bleed regression tests (issue 10, item 1): a caller who keys nothing, and an
// injector on the same host sending RFC 4733 keypresses to the call's media port from another
// source port. Before the fix the receiver adopted any source after three in-sequence packets:
// the injector keyed a whole card into the call and the server's prompts went to it.

// injectedCard is what the injector tries to key.
const injectedCard = "4242424242424242"

// rtpPeer is one UDP socket speaking RTP to the server's media port: the legitimate caller
// (a 20 ms PCMU stream of silence, with RFC 4733 events spliced in on request) or an
// injector. It counts what the server sends it.
type rtpPeer struct {
	conn *net.UDPConn
	dst  netip.AddrPort

	mu      sync.Mutex
	ssrc    uint32
	seq     uint16
	ts      uint32
	pending []dtmf.SenderPacket // events the stream sends in place of audio

	sent     atomic.Int64
	received atomic.Int64 // RTP packets that came from the server's media port
}

func newRTPPeer(t *testing.T, ip net.IP) *rtpPeer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	p := &rtpPeer{conn: c, ssrc: rand.Uint32(), seq: uint16(rand.Uint32()), ts: rand.Uint32()}
	t.Cleanup(func() { c.Close() })
	return p
}

// aim points the peer at the server's media port and starts counting what comes from it.
func (p *rtpPeer) aim(dst netip.AddrPort) {
	p.dst = dst
	go p.read()
}

func (p *rtpPeer) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

func (p *rtpPeer) read() {
	buf := make([]byte, 2048)
	for {
		n, src, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if n >= 12 && buf[0]>>6 == 2 && src.Port() == p.dst.Port() {
			p.received.Add(1)
		}
	}
}

// send writes one packet with the given header fields.
func (p *rtpPeer) send(pt uint8, marker bool, seq uint16, ts, ssrc uint32, payload []byte) {
	b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, Marker: marker, SequenceNumber: seq,
		Timestamp: ts, SSRC: ssrc}, Payload: payload}).Marshal()
	if _, err := p.conn.WriteToUDPAddrPort(b, p.dst); err == nil {
		p.sent.Add(1)
	}
}

// stream sends a frame every 20 ms until ctx ends: a queued event packet, else silence.
func (p *rtpPeer) stream(ctx context.Context) {
	silence := make([]byte, 160)
	for i := range silence {
		silence[i] = 0xff // μ-law zero
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.mu.Lock()
		if len(p.pending) > 0 {
			e := p.pending[0]
			p.pending = p.pending[1:]
			p.send(101, e.Marker, p.seq, e.Timestamp, p.ssrc, e.Payload)
		} else {
			p.send(0, false, p.seq, p.ts, p.ssrc, silence)
		}
		p.seq++
		p.ts += 160
		p.mu.Unlock()
	}
}

// position is the stream's next sequence number and timestamp, and its SSRC.
func (p *rtpPeer) position() (uint16, uint32, uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seq, p.ts, p.ssrc
}

// keyVia sends each key of keys as RFC 4733 events (100 ms down, 100 ms up) through send,
// which gets the event packet and puts it on the wire.
func keyVia(ctx context.Context, keys string, start func() uint32, send func(dtmf.SenderPacket)) {
	s := dtmf.NewSender(8000)
	for i := 0; i < len(keys); i++ {
		d, _ := dtmf.ParseDigit(keys[i])
		pkts, err := s.Packets(d, start(), 100*time.Millisecond, 20*time.Millisecond)
		if err != nil {
			panic(err)
		}
		down := time.Now()
		for _, pk := range pkts {
			if w := time.Until(down.Add(pk.Offset)); w > 0 {
				select {
				case <-time.After(w):
				case <-ctx.Done():
					return
				}
			}
			send(pk)
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return
		}
	}
}

// talkingCollector keeps prompts playing (so the server's audio is flowing the whole time)
// and collects keys until stop is closed (or a minute passes), then hangs up.
func talkingCollector(calls chan<- *Call, got chan<- string, stop <-chan struct{}) Router {
	return RouterFunc(func(string) (CallHandler, bool) {
		return func(ctx context.Context, call *Call) {
			calls <- call
			go func() {
				for ctx.Err() == nil {
					call.PlayPCM(ctx, tone(200*time.Millisecond))
					select {
					case <-time.After(200 * time.Millisecond):
					case <-ctx.Done():
					}
				}
			}()
			var keys strings.Builder
			limit := time.After(time.Minute)
		loop:
			for {
				select {
				case e, ok := <-call.Digits():
					if !ok {
						break loop
					}
					keys.WriteByte(e.Digit.Char())
				case <-stop:
					break loop
				case <-limit:
					break loop
				}
			}
			call.Hangup(ctx, "test-done")
			got <- keys.String()
		}, true
	})
}

// answerBYEs answers the server's BYE so that the call ends at once (nothing else reads the
// UAC's socket once the call is up).
func answerBYEs(u *rawUAC) {
	buf := make([]byte, 65535)
	for {
		u.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, from, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if msg := string(buf[:n]); strings.HasPrefix(msg, "BYE ") {
			u.answer(msg, from)
		}
	}
}

var mediaPortRe = regexp.MustCompile(`(?m)^m=audio (\d+) `)

// injectionOutcome is what one attack produced.
type injectionOutcome struct {
	digits          string
	callerReceived  int64 // RTP packets the legitimate caller got from the server
	injectorSent    int64
	injectorGot     int64 // RTP packets the server sent to the injector
	stats           media.Stats
	injectorAddress netip.AddrPort
}

// runInjection sets up a call from a raw UAC whose RTP socket streams silence, then runs
// attack with the caller's stream and an injector socket aimed at the call's media port.
// With natted the caller's SDP names a port it does not send from (a NAT that maps the port):
// the call must latch onto the caller's real port.
func runInjection(t *testing.T, cfg Config, natted bool, attack func(ctx context.Context, caller, injector *rtpPeer)) injectionOutcome {
	t.Helper()
	calls, got, stop := make(chan *Call, 1), make(chan string, 1), make(chan struct{})
	cfg.Router = talkingCollector(calls, got, stop)
	s, logs := startServer(t, cfg)
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	u := newRawUAC(t, s)
	caller := newRTPPeer(t, net.IPv4(127, 0, 0, 1))
	u.rtp = caller.port()
	if natted {
		u.rtp = freePort(t, true) // the address inside the NAT: nothing sends from it
	}
	u.cseq = 1
	u.request("INVITE", 1, u.sdp("sendrecv"))
	code, answer := u.response("INVITE", 200)
	if code != 200 {
		t.Fatalf("INVITE: %d\n%s", code, answer)
	}
	m := mediaPortRe.FindStringSubmatch(answer)
	if m == nil {
		t.Fatalf("no media port in the answer:\n%s", answer)
	}
	port, _ := strconv.Atoi(m[1])
	media := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	u.ack(1, "")
	call := <-calls
	go answerBYEs(u)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	caller.aim(media)
	go caller.stream(ctx)
	injector := newRTPPeer(t, net.IPv4(127, 0, 0, 1))
	injector.aim(media)
	// The caller's stream is established first: the injector comes later, as an attacker would.
	time.Sleep(500 * time.Millisecond)
	attack(ctx, caller, injector)
	time.Sleep(500 * time.Millisecond) // the last packets are read and detected
	close(stop)

	var digits string
	select {
	case digits = <-got:
	case <-time.After(time.Minute):
		t.Fatal("the call handler never finished")
	}
	<-call.Done()
	time.Sleep(100 * time.Millisecond) // the last packets the server sent reach the sockets
	return injectionOutcome{
		digits: digits, callerReceived: caller.received.Load(),
		injectorSent: injector.sent.Load(), injectorGot: injector.received.Load(),
		stats:           call.MediaStats(),
		injectorAddress: injector.conn.LocalAddr().(*net.UDPAddr).AddrPort(),
	}
}

// TestRTPInjectionFromAnotherPort: an injector on another source port of the caller's own
// host keys a card into a call whose caller pressed nothing. It must produce no digit, get
// none of the server's audio, and every packet it sent must be counted as foreign.
func TestRTPInjectionFromAnotherPort(t *testing.T) {
	cases := []struct {
		name string
		// mimic: the injector uses the caller's SSRC and sequence numbers (it sniffed them)
		mimic  bool
		natted bool
	}{
		{"own-ssrc", false, false},
		{"caller-ssrc-and-sequence", true, false},
		// The caller is behind a NAT: the call latched onto its real port; the injector comes
		// from yet another port of the same address.
		{"after-a-nat-latch", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := runInjection(t, Config{}, tc.natted, func(ctx context.Context, caller, inj *rtpPeer) {
				seq, ts := uint16(rand.Uint32()), rand.Uint32()
				ssrc := rand.Uint32()
				keyVia(ctx, injectedCard, func() uint32 {
					if tc.mimic {
						_, ts, _ = caller.position()
					}
					return ts
				}, func(pk dtmf.SenderPacket) {
					if tc.mimic {
						// The next sequence number the caller will use: in sequence for the
						// receiver, indistinguishable from the caller's own packet but for
						// its source port.
						seq, _, ssrc = caller.position()
					}
					inj.send(101, pk.Marker, seq, pk.Timestamp, ssrc, pk.Payload)
					seq++
				})
			})
			t.Logf("injector %s: sent %d packets; digits produced %d; RTP the injector received %d; "+
				"the caller received %d; foreign packets counted %d",
				out.injectorAddress, out.injectorSent, len(out.digits), out.injectorGot, out.callerReceived, out.stats.Foreign)
			if out.injectorSent < int64(len(injectedCard))*5 {
				t.Fatalf("the injector sent only %d packets", out.injectorSent)
			}
			if out.digits != "" {
				t.Errorf("the injector keyed %d digits into the call", len(out.digits))
			}
			if out.injectorGot != 0 {
				t.Errorf("the server sent %d RTP packets to the injector", out.injectorGot)
			}
			if out.callerReceived < 20 {
				t.Errorf("the legitimate caller received only %d RTP packets", out.callerReceived)
			}
			if out.stats.Foreign != out.injectorSent {
				t.Errorf("foreign packets counted %d, the injector sent %d", out.stats.Foreign, out.injectorSent)
			}
			if tc.natted != out.stats.Latched.IsValid() {
				t.Errorf("latched onto %v (natted caller: %v)", out.stats.Latched, tc.natted)
			}
		})
	}
	// Control: the same keypresses from the caller's own socket (its SSRC, its sequence) are
	// keyed, so the vectors above are real keypresses that only the source check stops.
	t.Run("control-from-the-caller", func(t *testing.T) {
		out := runInjection(t, Config{}, false, func(ctx context.Context, caller, _ *rtpPeer) {
			keyVia(ctx, injectedCard, func() uint32 { _, ts, _ := caller.position(); return ts }, func(pk dtmf.SenderPacket) {
				caller.mu.Lock()
				caller.pending = append(caller.pending, pk)
				caller.mu.Unlock()
			})
		})
		if out.digits != injectedCard {
			t.Fatalf("control: the caller's own keypresses gave %d digits (match=%v)", len(out.digits), out.digits == injectedCard)
		}
		if out.stats.Foreign != 0 {
			t.Errorf("control: %d of the caller's own packets counted as foreign", out.stats.Foreign)
		}
	})
}

// TestStrictRTPRefusesANATMappedCaller: in strict mode a caller whose packets do not come from
// the address its SDP names gets nothing through (its keys are foreign), and no audio.
func TestStrictRTPRefusesANATMappedCaller(t *testing.T) {
	out := runInjection(t, Config{StrictRTP: true}, true, func(ctx context.Context, caller, _ *rtpPeer) {
		keyVia(ctx, "1234", func() uint32 { _, ts, _ := caller.position(); return ts }, func(pk dtmf.SenderPacket) {
			caller.mu.Lock()
			caller.pending = append(caller.pending, pk)
			caller.mu.Unlock()
		})
	})
	t.Logf("strict mode, NAT-mapped caller: digits %d, audio received %d, foreign %d", len(out.digits), out.callerReceived, out.stats.Foreign)
	if out.digits != "" || out.callerReceived != 0 || out.stats.Latched.IsValid() || out.stats.Received != 0 {
		t.Fatalf("strict mode let a NAT-mapped caller through: %d digits, %d packets of audio, %+v", len(out.digits), out.callerReceived, out.stats)
	}
	if out.stats.Foreign < 50 {
		t.Fatalf("foreign %d: the caller's stream was not counted", out.stats.Foreign)
	}
}
