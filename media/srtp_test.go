package media

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
)

// Two sessions on loopback agree on SRTP through OfferCryptos/BuildOffer, NegotiateWith,
// LocalCrypto/BuildAnswer and SetParams, as a call's two ends do, and everything that works
// on RTP works on the encrypted stream.

// newSRTPPair: a offers suites, b answers under policy.
func newSRTPPair(t *testing.T, suites []SRTPSuite, policy SRTPPolicy) *pair {
	t.Helper()
	sched := NewScheduler()
	t.Cleanup(sched.Close)
	p := &pair{keysB: newKeys()}
	p.a = NewSession(listenLoopback(t), SessionConfig{Scheduler: sched, SignalIP: lo})
	p.b = NewSession(listenLoopback(t), SessionConfig{Scheduler: sched, SignalIP: lo,
		DTMF: dtmf.NewStream(dtmf.StreamConfig{OnDigit: p.keysB.onDigit})})
	t.Cleanup(p.a.Close)
	t.Cleanup(p.b.Close)
	cs, err := p.a.OfferCryptos(suites)
	if err != nil {
		t.Fatal(err)
	}
	offer, err := ParseSDP(BuildOffer(LocalMedia{IP: lo, Port: p.a.Port(), SessionID: 1, Version: 1, Cryptos: cs}))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := NegotiateWith(offer, policy)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.b.SetParams(pb); err != nil {
		t.Fatal(err)
	}
	offer.Zero()
	answer, err := ParseSDP(BuildAnswer(offer, pb, LocalMedia{IP: lo, Port: p.b.Port(), SessionID: 2, Version: 1, Crypto: p.b.LocalCrypto()}))
	if err != nil {
		t.Fatal(err)
	}
	pa, err := NegotiateWith(answer, SRTPRequired)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.a.SetParams(pa); err != nil {
		t.Fatal(err)
	}
	answer.Zero()
	p.a.Start()
	p.b.Start()
	return p
}

func TestSRTPSessionsCarryKeysInBandEverySuite(t *testing.T) {
	for _, suite := range []SRTPSuite{AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, AES_256_CM_HMAC_SHA1_80,
		AES_256_CM_HMAC_SHA1_32, AEAD_AES_128_GCM, AEAD_AES_256_GCM} {
		t.Run(suite.String(), func(t *testing.T) {
			p := newSRTPPair(t, []SRTPSuite{suite}, SRTPRequired)
			if p.a.Suite() != suite || p.b.Suite() != suite {
				t.Fatalf("suites %v / %v, want %v", p.a.Suite(), p.b.Suite(), suite)
			}
			opt := dtmf.DefaultToneOptions()
			opt.Duration, opt.Gap = 100*time.Millisecond, 100*time.Millisecond
			const sent = "42#"
			if err := p.a.Play(context.Background(), dtmf.GenerateDigits(sent, opt)); err != nil {
				t.Fatal(err)
			}
			waitKeysEqual(t, p.keysB, sent)
			if err := p.b.Play(context.Background(), tone(100*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			waitReceived(t, p.a, 5)
			for _, s := range []*Session{p.a, p.b} {
				if st := s.Stats(); st.SRTPAuthFailed != 0 || st.SRTPReplayed != 0 || st.Foreign != 0 {
					t.Errorf("counters %+v", st)
				}
			}
		})
	}
}

// waitKeysEqual waits until k holds want.
func waitKeysEqual(t *testing.T, k *keys, want string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for k.String() != want {
		select {
		case <-k.n:
		case <-deadline:
			t.Fatalf("keys heard %q, want %q", k, want)
		}
	}
}

func TestSRTPRecordingIsMasked(t *testing.T) {
	opt := dtmf.DefaultToneOptions()
	opt.Duration, opt.Gap = 120*time.Millisecond, 60*time.Millisecond
	played := append(append(tone(300*time.Millisecond), dtmf.GenerateDigits("5", opt)...), tone(300*time.Millisecond)...)
	if got := detect(played); got != "5" {
		t.Fatalf("control: the detector finds %q in what is played, want 5", got)
	}
	p := newSRTPPair(t, DefaultSuites, SRTPOptional)
	path := filepath.Join(t.TempDir(), "call.wav")
	if err := p.b.Record(path, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.a.Play(context.Background(), played); err != nil {
		t.Fatal(err)
	}
	waitReceived(t, p.b, int64(len(played)/160))
	if err := p.b.StopRecording(); err != nil {
		t.Fatal(err)
	}
	rec := readRecording(t, path)
	if got := detect(rec); got != "" {
		t.Fatalf("the recording gives up keys %q", got)
	}
	loud := 0
	for _, v := range rec {
		if v > 1000 || v < -1000 {
			loud++
		}
	}
	if loud < 1000 {
		t.Fatalf("the recording holds %d loud samples: the decrypted speech is missing", loud)
	}
}

// srtpPeer is a far end on a raw socket that speaks SRTP with a session: it sends RFC 4733
// keys the way a phone does and can break the rules on purpose.
type srtpPeer struct {
	t    *testing.T
	conn *net.UDPConn
	to   netip.AddrPort
	sec  *SRTP
	ssrc uint32
	seq  uint16
	ts   uint32
	sent [][]byte // the last key's packets as sent (for replays)
}

// newSRTPPeer sets up s (an answerer) for an offer from a peer on its own socket and returns
// the peer. The peer's key is key (a fresh one when nil).
func newSRTPPeer(t *testing.T, s *Session, suite SRTPSuite) *srtpPeer {
	t.Helper()
	conn := listenLoopback(t)
	t.Cleanup(func() { conn.Close() })
	key, err := NewCrypto(1, suite)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv,
		Remote: conn.LocalAddr().(*net.UDPAddr).AddrPort(), Proto: "RTP/SAVP", Crypto: key}); err != nil {
		t.Fatal(err)
	}
	sec, err := NewSRTP(key, s.LocalCrypto())
	if err != nil {
		t.Fatal(err)
	}
	return &srtpPeer{t: t, conn: conn, to: netip.AddrPortFrom(lo, uint16(s.Port())), sec: sec, ssrc: 0x5eed, seq: 1000, ts: 16000}
}

// key sends digit d as RFC 4733 events; mutate, when set, may change each packet after it is
// protected (or replace the protection: plain sends it unprotected).
func (p *srtpPeer) key(d byte, mutate func([]byte) []byte, plain bool, from *net.UDPConn) {
	p.t.Helper()
	digit, _ := dtmf.ParseDigit(d)
	pkts, err := dtmf.NewSender(8000).Packets(digit, p.ts, 100*time.Millisecond, 20*time.Millisecond)
	if err != nil {
		p.t.Fatal(err)
	}
	p.sent = p.sent[:0]
	for _, sp := range pkts {
		h := rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: p.seq, Timestamp: sp.Timestamp, SSRC: p.ssrc, Marker: sp.Marker}
		p.seq++
		raw, err := (&rtp.Packet{Header: h, Payload: sp.Payload}).Marshal()
		if err != nil {
			p.t.Fatal(err)
		}
		out := raw
		if !plain {
			if out, err = p.sec.Protect(nil, raw); err != nil {
				p.t.Fatal(err)
			}
		}
		if mutate != nil {
			out = mutate(out)
		}
		p.sent = append(p.sent, out)
		if from == nil {
			from = p.conn
		}
		if _, err := from.WriteToUDPAddrPort(out, p.to); err != nil {
			p.t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.ts += 1600
}

// replay sends the last key's packets again, as captured.
func (p *srtpPeer) replay() {
	for _, b := range p.sent {
		p.conn.WriteToUDPAddrPort(b, p.to)
	}
}

// waitStat waits until f(stats) holds.
func waitStat(t *testing.T, s *Session, what string, f func(Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f(s.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: stats %+v", what, s.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSRTPDropsAndCountsWhatIsNotAuthentic(t *testing.T) {
	sched := NewScheduler()
	defer sched.Close()
	k := newKeys()
	drops := map[bool]int{}
	var dropMu = make(chan struct{}, 1)
	dropMu <- struct{}{}
	s := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched, SignalIP: lo,
		DTMF:       dtmf.NewStream(dtmf.StreamConfig{OnDigit: k.onDigit}),
		OnSRTPDrop: func(replay bool) { <-dropMu; drops[replay]++; dropMu <- struct{}{} }})
	defer s.Close()
	peer := newSRTPPeer(t, s, AES_CM_128_HMAC_SHA1_80)
	s.Start()

	// Control: the genuine peer keys a digit.
	peer.key('1', nil, false, nil)
	waitKeysEqual(t, k, "1")

	// A wrong key (what an attacker who guessed the addresses, or a misconfigured peer, sends).
	wrong, err := NewCrypto(1, AES_CM_128_HMAC_SHA1_80)
	if err != nil {
		t.Fatal(err)
	}
	good := peer.sec
	peer.sec, err = NewSRTP(wrong, s.LocalCrypto())
	if err != nil {
		t.Fatal(err)
	}
	peer.key('7', nil, false, nil)
	waitStat(t, s, "wrong key", func(st Stats) bool { return st.SRTPAuthFailed >= int64(len(peer.sent)) })
	peer.sec = good

	// Tampered: one bit of the encrypted payload flipped; then one of the header.
	peer.key('8', func(b []byte) []byte { b[13] ^= 1; return b }, false, nil)
	peer.key('8', func(b []byte) []byte { b[7] ^= 1; return b }, false, nil) // the timestamp
	// Plain RTP on an encrypted stream (a downgrade or an injection).
	peer.key('9', nil, true, nil)
	n := int64(0)
	waitStat(t, s, "tampered and plain", func(st Stats) bool { n = st.SRTPAuthFailed; return n >= int64(4*len(peer.sent)) })

	// The genuine peer again, then the same packets replayed.
	peer.key('2', nil, false, nil)
	waitKeysEqual(t, k, "12")
	peer.replay()
	waitStat(t, s, "replay", func(st Stats) bool { return st.SRTPReplayed >= int64(len(peer.sent)) })

	// Genuine packets from another address are foreign: not even decrypted.
	other := listenLoopback(t)
	defer other.Close()
	before := s.Stats()
	peer.key('3', nil, false, other)
	waitStat(t, s, "foreign", func(st Stats) bool { return st.Foreign >= before.Foreign+int64(len(peer.sent)) })
	if st := s.Stats(); st.SRTPAuthFailed != before.SRTPAuthFailed || st.SRTPReplayed != before.SRTPReplayed {
		t.Errorf("foreign packets were decrypted: %+v before %+v", st, before)
	}

	time.Sleep(300 * time.Millisecond)
	if got := k.String(); got != "12" {
		t.Fatalf("keys %q, want 12: only the genuine peer's keys may count", got)
	}
	st := s.Stats()
	<-dropMu
	if drops[false] != int(st.SRTPAuthFailed) || drops[true] != int(st.SRTPReplayed) {
		t.Errorf("OnSRTPDrop saw %d auth failures and %d replays, stats %+v", drops[false], drops[true], st)
	}
	dropMu <- struct{}{}
	if st.SRTPAuthFailed == 0 || st.SRTPReplayed == 0 || st.Dropped < st.SRTPAuthFailed+st.SRTPReplayed+st.Foreign {
		t.Errorf("stats %+v", st)
	}
}

func TestSRTPTimeoutCountsOnlyAuthenticPackets(t *testing.T) {
	sched := NewScheduler()
	defer sched.Close()
	fired := make(chan struct{}, 1)
	s := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched, SignalIP: lo, Timeout: 400 * time.Millisecond,
		OnTimeout: func() { fired <- struct{}{} }})
	defer s.Close()
	peer := newSRTPPeer(t, s, AEAD_AES_128_GCM)
	wrong, _ := NewCrypto(1, AEAD_AES_128_GCM)
	peer.sec, _ = NewSRTP(wrong, s.LocalCrypto())
	s.Start()
	stop, done := make(chan struct{}), make(chan struct{})
	defer func() { close(stop); <-done }()
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			peer.key('5', nil, false, nil)
		}
	}()
	select {
	case <-fired:
	case <-time.After(15 * time.Second):
		t.Fatalf("no media timeout while only unauthentic packets arrive: %+v", s.Stats())
	}
}

func TestSRTPRekey(t *testing.T) {
	// A grace long enough that a loaded machine cannot make the in-flight packets late.
	defer func(g time.Duration) { rekeyGrace = g }(rekeyGrace)
	rekeyGrace = 4 * time.Second
	sched := NewScheduler()
	defer sched.Close()
	k := newKeys()
	s := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched, SignalIP: lo,
		DTMF: dtmf.NewStream(dtmf.StreamConfig{OnDigit: k.onDigit})})
	defer s.Close()
	peer := newSRTPPeer(t, s, AES_CM_128_HMAC_SHA1_80)
	s.Start()
	peer.key('1', nil, false, nil)
	waitKeysEqual(t, k, "1")
	oldLocal := s.LocalCrypto()
	oldLocalKey := append([]byte(nil), oldLocal.Key...)
	params := s.Params()

	// A re-offer with the same key (a hold, a refresh) keeps both keys.
	same := params.Crypto.clone()
	params.Direction = RecvOnly
	params.Crypto = same
	if err := s.SetParams(params); err != nil {
		t.Fatal(err)
	}
	if s.LocalCrypto() != oldLocal || string(oldLocal.Key) != string(oldLocalKey) {
		t.Fatal("a re-offer that kept its key changed ours")
	}

	// A re-offer with a new key (and another tag) re-keys both directions.
	newKey, _ := NewCrypto(4, AES_CM_128_HMAC_SHA1_80)
	params.Direction = SendRecv
	params.Crypto = newKey
	if err := s.SetParams(params); err != nil {
		t.Fatal(err)
	}
	local := s.LocalCrypto()
	if local == oldLocal || string(local.Key) == string(oldLocalKey) || local.Tag != 4 {
		t.Fatalf("no new local key after the far end re-keyed (tag %d)", local.Tag)
	}
	for _, b := range oldLocal.Key {
		if b != 0 {
			t.Fatal("the replaced local key was not zeroed")
		}
	}
	// In flight under the old key, within the grace period: still taken.
	peer.key('2', nil, false, nil)
	waitKeysEqual(t, k, "12")
	// The peer switches to the new keys.
	oldSec := peer.sec
	var err error
	if peer.sec, err = NewSRTP(newKey, local); err != nil {
		t.Fatal(err)
	}
	peer.key('3', nil, false, nil)
	waitKeysEqual(t, k, "123")
	// After the grace period the old key is refused.
	time.Sleep(rekeyGrace + 200*time.Millisecond)
	peer.sec = oldSec
	failed := s.Stats().SRTPAuthFailed
	peer.key('4', nil, false, nil)
	waitStat(t, s, "old key after the grace", func(st Stats) bool { return st.SRTPAuthFailed > failed })
	time.Sleep(200 * time.Millisecond)
	if got := k.String(); got != "123" {
		t.Fatalf("keys %q, want 123", got)
	}
}

func TestSRTPEncryptionIsFixedForTheSession(t *testing.T) {
	sched := NewScheduler()
	defer sched.Close()
	plain := Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv, Remote: farEnd}
	key, _ := NewCrypto(1, AES_CM_128_HMAC_SHA1_80)
	enc := plain
	enc.Proto, enc.Crypto = "RTP/SAVP", key

	s := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched})
	defer s.Close()
	if err := s.SetParams(enc); err != nil {
		t.Fatal(err)
	}
	if err := s.SetParams(plain); !errors.Is(err, ErrEncryptionChange) {
		t.Fatalf("plain after SRTP: %v, want ErrEncryptionChange", err)
	}
	if s.Suite() != AES_CM_128_HMAC_SHA1_80 || !s.Params().Encrypted() {
		t.Fatal("a refused downgrade changed the session")
	}

	s2 := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched})
	defer s2.Close()
	if err := s2.SetParams(plain); err != nil {
		t.Fatal(err)
	}
	if err := s2.SetParams(enc); !errors.Is(err, ErrEncryptionChange) {
		t.Fatalf("SRTP after plain: %v, want ErrEncryptionChange", err)
	}
	if s2.Suite() != SuiteNone || s2.LocalCrypto() != nil {
		t.Fatal("a refused upgrade changed the session")
	}
}

func TestSRTPAnswerMustPickAnOfferedLine(t *testing.T) {
	sched := NewScheduler()
	defer sched.Close()
	s := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched})
	defer s.Close()
	offered, err := s.OfferCryptos([]SRTPSuite{AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ tag int }{{3}, {0}} {
		c, _ := NewCrypto(bad.tag, AES_CM_128_HMAC_SHA1_80)
		if err := s.SetParams(Params{Codec: PCMU, PTime: 20, Direction: SendRecv, Remote: farEnd, Crypto: c}); !errors.Is(err, ErrCryptoMismatch) {
			t.Fatalf("answer with tag %d: %v, want ErrCryptoMismatch", bad.tag, err)
		}
	}
	// Tag 2 with the suite of tag 1: no.
	c, _ := NewCrypto(2, AES_CM_128_HMAC_SHA1_80)
	if err := s.SetParams(Params{Codec: PCMU, PTime: 20, Direction: SendRecv, Remote: farEnd, Crypto: c}); !errors.Is(err, ErrCryptoMismatch) {
		t.Fatalf("tag 2 with another suite: %v", err)
	}
	c, _ = NewCrypto(2, AEAD_AES_128_GCM)
	if err := s.SetParams(Params{Codec: PCMU, PTime: 20, Direction: SendRecv, Remote: farEnd, Crypto: c}); err != nil {
		t.Fatal(err)
	}
	if s.LocalCrypto() != offered[1] || s.Suite() != AEAD_AES_128_GCM {
		t.Fatal("the session does not send with the line the answer chose")
	}
	for _, b := range offered[0].Key {
		if b != 0 {
			t.Fatal("the line the answer did not choose was not zeroed")
		}
	}
}

func TestSRTPKeysZeroedAtClose(t *testing.T) {
	p := newSRTPPair(t, DefaultSuites, SRTPRequired)
	opt := dtmf.DefaultToneOptions()
	if err := p.a.Play(context.Background(), dtmf.GenerateDigits("1", opt)); err != nil {
		t.Fatal(err)
	}
	waitKeysEqual(t, p.keysB, "1")
	var held [][]byte
	for _, s := range []*Session{p.a, p.b} {
		s.keyMu.Lock()
		held = append(held, s.localKey.Key, s.remoteKey.Key)
		s.keyMu.Unlock()
	}
	for i, k := range held {
		if strings.Count(string(k), "\x00") == len(k) {
			t.Fatalf("key %d is already zero before Close", i)
		}
	}
	p.a.Close()
	p.b.Close()
	for i, k := range held {
		for _, b := range k {
			if b != 0 {
				t.Fatalf("key %d not zeroed at Close", i)
			}
		}
	}
}

func TestSRTPKeysNeverPrinted(t *testing.T) {
	offer, err := ParseSDP(readSDP(t, "srtp-savp-four-suites.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NegotiateWith(offer, SRTPRequired)
	if err != nil {
		t.Fatal(err)
	}
	raw := string(readSDP(t, "srtp-savp-four-suites.sdp"))
	for _, out := range []string{fmt.Sprintf("%v %+v %#v", p, p, p), fmt.Sprintf("%v %+v %#v", offer, offer, *offer)} {
		for _, line := range strings.Split(raw, "\n") {
			if strings.HasPrefix(line, "a=crypto:") {
				assertNoKeyIn(t, "printing negotiated parameters", out, strings.TrimSpace(line))
			}
		}
	}
	offer.Zero()
	for _, m := range offer.Media {
		for _, c := range m.Crypto {
			if strings.Count(string(c.Key), "\x00") != len(c.Key) {
				t.Fatal("SessionSDP.Zero left a key")
			}
		}
	}
}

// Barge-in on an encrypted call: a key the caller sends during a prompt — in-band tones or
// RFC 4733 events, both in SRTP — is decrypted and detected while the prompt plays, and
// cancelling the prompt (what the engine does on a key) stops the encrypted prompt at once.
func TestSRTPBargeInCutsThePrompt(t *testing.T) {
	for _, mode := range []string{"inband", "rfc4733"} {
		t.Run(mode, func(t *testing.T) {
			var (
				s      *Session
				caller func() // sends '5' in SRTP while s plays
				heard  func() int64
				k      = newKeys()
			)
			if mode == "inband" {
				p := newSRTPPair(t, []SRTPSuite{AES_CM_128_HMAC_SHA1_80}, SRTPRequired)
				s, k = p.b, p.keysB
				caller = func() {
					opt := dtmf.DefaultToneOptions()
					opt.Duration = 100 * time.Millisecond
					if err := p.a.Play(context.Background(), dtmf.GenerateDigits("5", opt)); err != nil {
						t.Error(err)
					}
				}
				heard = func() int64 { return p.a.Stats().Received }
			} else {
				sched := NewScheduler()
				t.Cleanup(sched.Close)
				s = NewSession(listenLoopback(t), SessionConfig{Scheduler: sched, SignalIP: lo,
					DTMF: dtmf.NewStream(dtmf.StreamConfig{OnDigit: k.onDigit})})
				t.Cleanup(s.Close)
				peer := newSRTPPeer(t, s, AES_CM_128_HMAC_SHA1_80)
				s.Start()
				var n atomic.Int64
				go func() {
					buf := make([]byte, 1500)
					for {
						if _, _, err := peer.conn.ReadFromUDPAddrPort(buf); err != nil {
							return
						}
						n.Add(1)
					}
				}()
				caller = func() { peer.key('5', nil, false, nil) }
				heard = n.Load
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			played := make(chan error, 1)
			start := time.Now()
			go func() { played <- s.Play(ctx, tone(20*time.Second)) }()
			// the prompt is reaching the caller, encrypted and authentic
			deadline := time.Now().Add(10 * time.Second)
			for heard() < 10 {
				if time.Now().After(deadline) {
					t.Fatalf("the caller heard %d packets of the prompt", heard())
				}
				time.Sleep(10 * time.Millisecond)
			}
			go caller()
			select {
			case <-k.n:
			case <-time.After(15 * time.Second):
				t.Fatal("the key sent during the prompt never came out of the stream")
			}
			cancel() // the engine's barge-in
			select {
			case err := <-played:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Play: %v, want context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the prompt did not stop")
			}
			if k.String() != "5" {
				t.Fatalf("keys %q, want 5", k)
			}
			if el := time.Since(start); el > 15*time.Second {
				t.Fatalf("the 20 s prompt ran %v: not cut", el)
			}
			// Once cut, the prompt is silence-suppressed: at most a keep-alive a second.
			time.Sleep(200 * time.Millisecond)
			before := heard()
			time.Sleep(time.Second)
			if d := heard() - before; d > 3 {
				t.Fatalf("%d packets of prompt a second after the barge-in", d)
			}
			if st := s.Stats(); st.SRTPAuthFailed != 0 || st.SRTPReplayed != 0 {
				t.Errorf("counters %+v", st)
			}
		})
	}
}
