package callgen

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// TestAnswerAddr: where the answer wants our RTP, the session-level or media-level c=, and the
// telephone-event payload type it chose; an answer without audio is an error.
func TestAnswerAddr(t *testing.T) {
	for _, c := range []struct {
		body string
		want string
		pt   uint8
		err  bool
	}{
		{"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20002 RTP/AVP 0 96\r\na=rtpmap:96 telephone-event/8000\r\n", "127.0.0.1:20002", 96, false},
		{"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 0 RTP/AVP 31\r\nm=audio 30000 RTP/AVP 8 101\r\nc=IN IP4 192.0.2.9\r\na=rtpmap:101 telephone-event/8000\r\n", "192.0.2.9:30000", 101, false},
		{"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n", "", 0, true},
		{"not sdp", "", 0, true},
	} {
		got, pt, err := answerAddr([]byte(c.body))
		if (err != nil) != c.err || (err == nil && (got.String() != c.want || pt != c.pt)) {
			t.Errorf("answerAddr(%q) = %v, %d, %v; want %s, %d, error %v", c.body, got, pt, err, c.want, c.pt, c.err)
		}
	}
}

func FuzzAnswerAddr(f *testing.F) {
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20002 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		answerAddr(b) // must not panic
	})
}

// TestStampPerCall: every call sends the template restamped — its SSRC, its sequence and
// timestamp bases (contiguous across the stream), the answer's telephone-event payload type —
// and the template itself is left alone.
func TestStampPerCall(t *testing.T) {
	st, err := buildStream(Config{Keys: "12#", DTMF: RFC4733, Lead: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	orig := append([]byte(nil), st.pkts[10]...)
	c := &callMedia{ssrc: 0xabcdef01, seq: 65530, ts: 4294967000, eventPT: 96}
	var events int
	for i := range st.pkts {
		b := st.stamp(nil, i, c)
		if got := binary.BigEndian.Uint16(b[2:]); got != uint16(65530+i) {
			t.Fatalf("packet %d: seq %d", i, got)
		}
		if binary.BigEndian.Uint32(b[8:]) != c.ssrc {
			t.Fatalf("packet %d: SSRC not the call's", i)
		}
		if pt := b[1] & 0x7f; pt == 96 {
			events++
		} else if pt != 0 {
			t.Fatalf("packet %d: payload type %d", i, pt)
		}
		if i == 0 && binary.BigEndian.Uint32(b[4:]) != c.ts {
			t.Fatalf("first timestamp %d, want the call's base", binary.BigEndian.Uint32(b[4:]))
		}
	}
	if events == 0 {
		t.Fatal("no telephone-event packet was restamped to PT 96")
	}
	if string(orig) != string(st.pkts[10]) {
		t.Fatal("stamp changed the template")
	}
}

// TestConfigRefusesWhatItCannotSend: SIP INFO keys, no target, no calls.
func TestConfigRefusesWhatItCannotSend(t *testing.T) {
	to := netip.MustParseAddrPort("127.0.0.1:5060")
	for _, c := range []Config{
		{Target: to, Calls: 1, Rate: 1, DTMF: "info"},
		{Calls: 1, Rate: 1},
		{Target: to, Calls: 0, Rate: 1},
	} {
		if err := c.defaults(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	ok := Config{Target: to, Calls: 1, Rate: 1}
	if err := ok.defaults(); err != nil || ok.DTMF != RFC4733 || ok.Sockets != 2 || ok.ByeWait != 30*time.Second {
		t.Fatalf("defaults: %+v, %v", ok, err)
	}
}
