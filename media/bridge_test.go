package media

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
)

// A bridged call without SIP: the caller's phone (callerEnd) and paybridge's leg towards it
// (callerLeg); paybridge's leg towards the agent (agentLeg, offered with BuildOfferWith) and
// the agent's phone (agentEnd). The bridge joins callerLeg and agentLeg.
type bridged struct {
	callerEnd, callerLeg, agentLeg, agentEnd *Session
	keysCallerLeg, keysAgentEnd, keysCaller  *keys
	br                                       *Bridge
	heardByAgent                             *audioTap
}

// agentPCMAAnswer answers an offer with PCMA only and telephone-event on 96.
func negotiatePair(t *testing.T, offerer, answerer *Session, offer []byte, answerOnly func(*SessionSDP)) {
	t.Helper()
	sd, err := ParseSDP(offer)
	if err != nil {
		t.Fatal(err)
	}
	if answerOnly != nil {
		answerOnly(sd)
	}
	pb, err := Negotiate(sd)
	if err != nil {
		t.Fatal(err)
	}
	answerer.SetParams(pb)
	ans, err := ParseSDP(BuildAnswer(sd, pb, LocalMedia{IP: lo, Port: answerer.Port(), SessionID: 2, Version: 1}))
	if err != nil {
		t.Fatal(err)
	}
	pa, err := Negotiate(ans)
	if err != nil {
		t.Fatal(err)
	}
	offerer.SetParams(pa)
}

func newBridged(t *testing.T) *bridged {
	t.Helper()
	sched := NewScheduler()
	t.Cleanup(sched.Close)
	b := &bridged{keysCallerLeg: newKeys(), keysAgentEnd: newKeys(), keysCaller: newKeys()}
	b.heardByAgent = &audioTap{}
	mk := func(k *keys) *Session {
		cfg := SessionConfig{Scheduler: sched, SignalIP: lo}
		if k != nil {
			cfg.DTMF = dtmf.NewStream(dtmf.StreamConfig{OnDigit: k.onDigit})
		}
		if k == b.keysAgentEnd {
			cfg.DTMF = tappedStream{cfg.DTMF, b.heardByAgent}
		}
		s := NewSession(listenLoopback(t), cfg)
		t.Cleanup(s.Close)
		return s
	}
	b.callerEnd = mk(b.keysCaller)
	b.callerLeg = mk(b.keysCallerLeg)
	b.agentLeg = mk(nil)
	b.agentEnd = mk(b.keysAgentEnd)
	// The caller offers PCMU with telephone-event on 96.
	negotiatePair(t, b.callerEnd, b.callerLeg, pcmuTE96Offer(b.callerEnd.Port()), nil)
	// paybridge offers the agent PCMU first (the caller's codec); the agent takes only PCMA.
	offer := BuildOfferWith(LocalMedia{IP: lo, Port: b.agentLeg.Port(), SessionID: 3, Version: 1}, OfferOptions{Prefer: PCMU})
	negotiatePair(t, b.agentLeg, b.agentEnd, offer, func(sd *SessionSDP) {
		sd.Media[0].Formats = []string{"8", "101"}
	})
	if b.callerLeg.Params().Codec.Name() != "PCMU" || b.agentLeg.Params().Codec.Name() != "PCMA" {
		t.Fatalf("legs negotiated %s and %s, want PCMU and PCMA", b.callerLeg.Params().Codec, b.agentLeg.Params().Codec)
	}
	for _, s := range []*Session{b.callerEnd, b.callerLeg, b.agentLeg, b.agentEnd} {
		s.Start()
	}
	b.br = NewBridge(b.callerLeg, b.agentLeg, BridgeConfig{})
	t.Cleanup(b.br.Close)
	return b
}

func pcmuTE96Offer(port int) []byte {
	return []byte(strings.ReplaceAll(string(BuildOffer(LocalMedia{IP: lo, Port: port, SessionID: 1, Version: 1})), "101", "96"))
}

func waitKeys(t *testing.T, k *keys, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for i := 0; i < n; i++ {
		select {
		case <-k.n:
		case <-deadline:
			t.Fatalf("heard %q, want %d keys", k, n)
		}
	}
}

// quietFor reports whether no key arrives on k within d.
func quietFor(k *keys, d time.Duration) bool {
	select {
	case <-k.n:
		return false
	case <-time.After(d):
		return true
	}
}

func keyTones(s string) []int16 {
	opt := dtmf.DefaultToneOptions()
	opt.Duration, opt.Gap = 100*time.Millisecond, 100*time.Millisecond
	return append(dtmf.GenerateDigits(s, opt), make([]int16, 1600)...)
}

func TestBridgeRelaysAndTranscodesBothWays(t *testing.T) {
	b := newBridged(t)
	// Caller → agent: in-band keys pass as audio, PCMU in, PCMA out.
	const sent = "2580"
	if err := b.callerEnd.Play(context.Background(), keyTones(sent)); err != nil {
		t.Fatal(err)
	}
	waitKeys(t, b.keysAgentEnd, len(sent), 20*time.Second)
	if got := b.keysAgentEnd.String(); got != sent {
		t.Fatalf("the agent heard %q, want %q", got, sent)
	}
	// Agent → caller: PCMA in, PCMU out.
	if err := b.agentEnd.Play(context.Background(), keyTones("73")); err != nil {
		t.Fatal(err)
	}
	waitKeys(t, b.keysCaller, 2, 20*time.Second)
	if got := b.keysCaller.String(); got != "73" {
		t.Fatalf("the caller heard %q, want 73", got)
	}
	toAgent, toCaller := b.br.Stats()
	if toAgent.Played == 0 || toCaller.Played == 0 {
		t.Fatalf("stats: to agent %+v, to caller %+v", toAgent, toCaller)
	}
	if toAgent.MaxDelay > 300*time.Millisecond {
		t.Errorf("the agent's audio waited up to %v in the bridge", toAgent.MaxDelay)
	}
}

func TestBridgeSecureCaptureLetsNoKeyThroughButBeeps(t *testing.T) {
	for _, mode := range []CaptureMode{CaptureMasked, CaptureSecure} {
		t.Run(mode.String(), func(t *testing.T) {
			b := newBridged(t)
			b.br.SetCapture(mode)
			heard := b.heardByAgent
			if err := b.callerEnd.Play(context.Background(), keyTones("4111")); err != nil {
				t.Fatal(err)
			}
			// paybridge itself still hears every key of the caller...
			waitKeys(t, b.keysCallerLeg, 4, 20*time.Second)
			// ...and the agent none.
			if !quietFor(b.keysAgentEnd, time.Second) {
				t.Fatalf("the agent heard %q during a %s capture", b.keysAgentEnd, mode)
			}
			if got := detect(heard.pcm()); got != "" {
				t.Fatalf("the agent's audio gives up %q", got)
			}
			// A beep per key reaches the agent; it is no key either.
			before := heard.loud()
			b.br.Beep()
			deadline := time.Now().Add(10 * time.Second)
			for heard.loud() < before+200 {
				if time.Now().After(deadline) {
					t.Fatalf("the beep never reached the agent (%d loud samples)", heard.loud()-before)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if got := detect(heard.pcm()); got != "" {
				t.Fatalf("the beep decodes as %q", got)
			}
			// The caller still hears the agent.
			if err := b.agentEnd.Play(context.Background(), keyTones("9")); err != nil {
				t.Fatal(err)
			}
			waitKeys(t, b.keysCaller, 1, 20*time.Second)
		})
	}
}

func TestBridgeRegeneratesRFC4733NeverForwardsIt(t *testing.T) {
	b := newBridged(t)
	// Replace the agent's phone with a raw socket that sees every packet.
	raw := listenLoopback(t)
	p := b.agentLeg.Params()
	p.Remote = raw.LocalAddr().(*net.UDPAddr).AddrPort()
	b.agentLeg.SetParams(p)
	pkts := make(chan rtp.Packet, 4096)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := raw.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			var pk rtp.Packet
			if pk.Unmarshal(append([]byte(nil), buf[:n]...)) == nil {
				pkts <- pk
			}
		}
	}()
	t.Cleanup(func() { raw.Close() })

	// The caller keys 6 as RFC 4733 on payload type 96; paybridge hears it...
	if err := b.callerEnd.SendDigit('6', 120*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	waitKeys(t, b.keysCallerLeg, 1, 20*time.Second)
	// ...and nothing of it reaches the agent until paybridge regenerates it.
	deadline := time.After(time.Second)
wait:
	for {
		select {
		case pk := <-pkts:
			if pk.PayloadType != 8 {
				t.Fatalf("payload type %d reached the agent before any regeneration", pk.PayloadType)
			}
		case <-deadline:
			break wait
		}
	}
	if err := b.br.SendDigit(b.agentLeg, '6'); err != nil {
		t.Fatal(err)
	}
	var events []rtp.Packet
	timeout := time.After(20 * time.Second)
	for len(events) < 3 || events[len(events)-1].Payload[1]&0x80 == 0 {
		select {
		case pk := <-pkts:
			if pk.PayloadType == 101 {
				events = append(events, pk)
			} else if pk.PayloadType != 8 {
				t.Fatalf("payload type %d on the agent leg", pk.PayloadType)
			}
		case <-timeout:
			t.Fatalf("%d telephone-events reached the agent", len(events))
		}
	}
	var audioSSRC uint32
	select {
	case pk := <-pkts:
		audioSSRC = pk.SSRC
	case <-time.After(5 * time.Second):
	}
	for _, e := range events {
		if e.Payload[0] != 6 {
			t.Fatalf("event %d, want 6", e.Payload[0])
		}
		if audioSSRC != 0 && e.SSRC != audioSSRC {
			t.Fatalf("event SSRC %08x differs from the leg's audio SSRC %08x", e.SSRC, audioSSRC)
		}
		if e.Timestamp != events[0].Timestamp {
			t.Fatal("one key's events carry different timestamps")
		}
	}
	if !events[0].Marker {
		t.Error("the first event packet has no marker")
	}
}

func TestBridgeRecordsBothLegsMasked(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opt   RecordOptions
		chans int
	}{{"mono", RecordOptions{}, 1}, {"dual", RecordOptions{Dual: true}, 2}, {"paused", RecordOptions{Dual: true, PauseDuringCapture: true}, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBridged(t)
			path := filepath.Join(t.TempDir(), "bridge.wav")
			if err := b.br.Record(path, tc.opt); err != nil {
				t.Fatal(err)
			}
			// Outside a capture the agent hears the caller's keys; the recording does not keep them.
			if err := b.callerEnd.Play(context.Background(), keyTones("12")); err != nil {
				t.Fatal(err)
			}
			waitKeys(t, b.keysAgentEnd, 2, 20*time.Second)
			b.br.SetCapture(CaptureSecure)
			if err := b.callerEnd.Play(context.Background(), append(keyTones("3456"), tone(time.Second)...)); err != nil {
				t.Fatal(err)
			}
			b.br.SetCapture(CaptureOff)
			if err := b.agentEnd.Play(context.Background(), tone(500*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			if err := b.br.StopRecording(); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if ch := int(binary.LittleEndian.Uint16(raw[22:])); ch != tc.chans {
				t.Fatalf("%d channels, want %d", ch, tc.chans)
			}
			pcm := make([]int16, (len(raw)-44)/2)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(raw[44+2*i:]))
			}
			chans := splitChannels(pcm, tc.chans)
			for i, c := range chans {
				if got := detect(c); got != "" {
					t.Fatalf("channel %d of the recording gives up %q", i, got)
				}
			}
			seconds := float64(len(chans[0])) / 8000
			if tc.opt.PauseDuringCapture && seconds > 2.5 || !tc.opt.PauseDuringCapture && seconds < 2.5 {
				t.Fatalf("a %.1f s recording (pause during capture: %v)", seconds, tc.opt.PauseDuringCapture)
			}
			// the agent's tone is in the file
			last := chans[len(chans)-1]
			if !hasLoud(last[max(0, len(last)-8000*2):], 500) {
				t.Fatal("the agent's side is missing from the recording")
			}
		})
	}
}

func splitChannels(pcm []int16, n int) [][]int16 {
	out := make([][]int16, n)
	for i, v := range pcm {
		out[i%n] = append(out[i%n], v)
	}
	return out
}

func hasLoud(pcm []int16, n int) bool {
	c := 0
	for _, v := range pcm {
		if v > 1000 || v < -1000 {
			c++
		}
	}
	return c >= n
}

// audioTap records what a session receives, decoded.
type audioTap struct {
	mu  sync.Mutex
	buf []int16
}

func (a *audioTap) audio(pcm []int16) {
	a.mu.Lock()
	a.buf = append(a.buf, pcm...)
	a.mu.Unlock()
}

func (a *audioTap) pcm() []int16 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]int16(nil), a.buf...)
}

func (a *audioTap) loud() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := 0
	for _, v := range a.buf {
		if v > 1000 || v < -1000 {
			c++
		}
	}
	return c
}

// tappedStream is a DTMF stream that also keeps the decoded audio it is fed: what the
// session heard, unmasked.
type tappedStream struct {
	DTMFStream
	tap *audioTap
}

func (s tappedStream) Audio(pcm []int16) {
	s.tap.audio(pcm)
	s.DTMFStream.Audio(pcm)
}
