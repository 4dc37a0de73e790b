package media

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
)

// In-band keys are decoded from the audio the far end sent, on the RTP clock: a stall of the
// network, of the far end or of this process (packets merely queued, then delivered in a
// burst with contiguous sequence numbers and timestamps) is not time the caller spent keying,
// so it never splits a tone into two keys; time the far end really skipped (silence
// suppression: the timestamp jumps, the sequence number does not) still ends a key, so the
// same key pressed twice is two keys. Both over plain RTP and over SRTP (the load rows of
// issue 12 lost digits of in-band SRTP calls on a stalled generator).

// tonePeer is a far end on a raw socket that sends PCMU audio frames, plain or SRTP.
type tonePeer struct {
	t    *testing.T
	conn *net.UDPConn
	to   netip.AddrPort
	sec  *SRTP // nil: plain RTP
	seq  uint16
	ts   uint32
	mark bool // the next packet starts a talkspurt
}

func newTonePeer(t *testing.T, s *Session, suite SRTPSuite) *tonePeer {
	t.Helper()
	conn := listenLoopback(t)
	t.Cleanup(func() { conn.Close() })
	p := Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv,
		Remote: conn.LocalAddr().(*net.UDPAddr).AddrPort(), Proto: "RTP/AVP"}
	var key *Crypto
	if suite != SuiteNone {
		var err error
		if key, err = NewCrypto(1, suite); err != nil {
			t.Fatal(err)
		}
		p.Proto, p.Crypto = "RTP/SAVP", key
	}
	if err := s.SetParams(p); err != nil {
		t.Fatal(err)
	}
	tp := &tonePeer{t: t, conn: conn, to: netip.AddrPortFrom(lo, uint16(s.Port())), seq: 7, ts: 3200}
	if suite != SuiteNone {
		sec, err := NewSRTP(key, s.LocalCrypto())
		if err != nil {
			t.Fatal(err)
		}
		tp.sec = sec
	}
	return tp
}

// send sends pcm as 20 ms frames, paced, each frame right after the last on the RTP clock.
func (p *tonePeer) send(pcm []int16) {
	p.t.Helper()
	for i := 0; i < len(pcm); i += 160 {
		payload := make([]byte, 160)
		PCMU.Encode(payload, pcm[i:min(i+160, len(pcm))])
		raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: PCMU.PayloadType(), Marker: p.mark,
			SequenceNumber: p.seq, Timestamp: p.ts, SSRC: 0x70e}, Payload: payload}).Marshal()
		p.mark = false
		if err != nil {
			p.t.Fatal(err)
		}
		if p.sec != nil {
			if raw, err = p.sec.Protect(nil, raw); err != nil {
				p.t.Fatal(err)
			}
		}
		if _, err := p.conn.WriteToUDPAddrPort(raw, p.to); err != nil {
			p.t.Fatal(err)
		}
		p.seq++
		p.ts += 160
		time.Sleep(10 * time.Millisecond)
	}
}

func TestInbandKeysSurviveStallsAndEndAtSilenceSuppression(t *testing.T) {
	const stall = 800 * time.Millisecond // longer than the 500 ms after which the idle clock runs
	key := func(d byte, ms int) []int16 {
		digit, _ := dtmf.ParseDigit(d)
		return dtmf.GenerateDigit(digit, dtmf.ToneOptions{Level: -10, Duration: time.Duration(ms) * time.Millisecond})
	}
	silence := func(ms int) []int16 { return make([]int16, ms*8) }
	for _, suite := range []SRTPSuite{SuiteNone, AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM} {
		t.Run(suite.String(), func(t *testing.T) {
			sched := NewScheduler()
			defer sched.Close()
			k := newKeys()
			s := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched, SignalIP: lo,
				DTMF: dtmf.NewStream(dtmf.StreamConfig{OnDigit: k.onDigit})})
			defer s.Close()
			p := newTonePeer(t, s, suite)
			s.Start()

			p.send(silence(200))
			// "4" keyed whole, then "2" whose tone stalls in the middle: the rest of it comes
			// late, in order, with the timestamps it was made with.
			p.send(key('4', 100))
			p.send(silence(100))
			two := key('2', 160)
			p.send(two[:60*8])
			time.Sleep(stall)
			p.send(two[60*8:])
			p.send(silence(100))
			// "5" twice by a silence-suppressing phone: the tone's packets, then nothing for
			// a second (the timestamp runs on, the sequence number does not), then the tone
			// again, its first packet marked as a new talkspurt (RFC 3551).
			p.send(key('5', 100))
			time.Sleep(stall)
			p.ts += 8000
			p.mark = true
			p.send(key('5', 100))
			// "7" from a sender that stalled mid-tone and resynchronised its clock: 120 ms of
			// timestamps skipped without a marker (paybridge's own scheduler does this). One key.
			seven := key('7', 200)
			p.send(silence(100))
			p.send(seven[:80*8])
			p.ts += 960
			p.send(seven[80*8:])
			p.send(silence(100))
			p.send(silence(200))
			waitStat(t, s, "all audio received", func(st Stats) bool { return st.Received >= int64(p.seq-7) })
			time.Sleep(100 * time.Millisecond)
			if got := k.String(); got != "42557" {
				t.Fatalf("keys %q, want 42557", got)
			}
			if st := s.Stats(); st.SRTPAuthFailed != 0 || st.Foreign != 0 || st.Lost != 0 {
				t.Errorf("counters %+v", st)
			}
		})
	}
}
