package media

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readSDP(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "sdp", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNegotiateOffers(t *testing.T) {
	tests := []struct {
		file      string
		codec     string
		pt        uint8
		eventPT   int
		ptime     int
		dir       string
		remote    string
		index     int
		lenient   bool
		wantError error
	}{
		{file: "baresip-pcmu-101.sdp", codec: "PCMU", pt: 0, eventPT: 101, ptime: 20, dir: SendRecv, remote: "127.0.0.1:40000"},
		{file: "pcma-first-te96.sdp", codec: "PCMA", pt: 8, eventPT: 96, ptime: 30, dir: SendRecv, remote: "192.0.2.10:31000"},
		{file: "misordered-c-before-t.sdp", codec: "PCMU", pt: 0, eventPT: 126, ptime: 20, dir: SendRecv, remote: "198.51.100.7:5004", lenient: true},
		{file: "misordered-attr-first.sdp", codec: "PCMA", pt: 8, eventPT: 100, ptime: 20, dir: SendRecv, remote: "198.51.100.8:5006", lenient: true},
		{file: "video-then-audio.sdp", codec: "PCMU", pt: 0, eventPT: 101, ptime: 20, dir: SendRecv, remote: "203.0.113.5:6002", index: 1},
		{file: "hold-sendonly.sdp", codec: "PCMU", pt: 0, eventPT: 101, ptime: 20, dir: RecvOnly, remote: "127.0.0.1:40000"},
		{file: "hold-inactive.sdp", codec: "PCMU", pt: 0, eventPT: 101, ptime: 20, dir: Inactive, remote: "127.0.0.1:40000"},
		{file: "hold-rfc2543.sdp", codec: "PCMU", pt: 0, eventPT: -1, ptime: 20, dir: RecvOnly, remote: "0.0.0.0:40000"},
		{file: "huge-origin.sdp", codec: "PCMU", pt: 0, eventPT: -1, ptime: 20, dir: SendRecv, remote: "127.0.0.1:40000"},
		{file: "lf-only-sipp.sdp", codec: "PCMU", pt: 0, eventPT: -1, ptime: 20, dir: SendRecv, remote: "127.0.0.1:6000"},
		{file: "g729-only.sdp", wantError: ErrNoCommonCodec},
		{file: "srtp-only.sdp", wantError: ErrUnsupportedTransport},
		{file: "no-audio-disabled.sdp", wantError: ErrNoAudio},
		{file: "garbage.sdp", wantError: ErrSDPMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s, err := ParseSDP(readSDP(t, tt.file))
			var p Params
			if err == nil {
				p, err = Negotiate(s)
			}
			if tt.wantError != nil {
				if !errors.Is(err, tt.wantError) {
					t.Fatalf("err = %v, want %v", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Lenient != tt.lenient {
				t.Errorf("lenient = %v, want %v", s.Lenient, tt.lenient)
			}
			if p.Codec.Name() != tt.codec || p.Codec.PayloadType() != tt.pt || p.EventPT != tt.eventPT || p.PTime != tt.ptime ||
				p.Direction != tt.dir || p.Remote.String() != tt.remote || p.Index != tt.index {
				t.Errorf("got %+v", p)
			}
		})
	}
}

func TestAnswerShape(t *testing.T) {
	offer, err := ParseSDP(readSDP(t, "video-then-audio.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Negotiate(offer)
	if err != nil {
		t.Fatal(err)
	}
	local := LocalMedia{IP: netip.MustParseAddr("192.0.2.1"), Port: 12000, SessionID: 1<<63 - 1, Version: 1}
	ans := BuildAnswer(offer, p, local)
	s := string(ans)
	for _, want := range []string{
		"m=video 0 RTP/AVP 96\r\n",
		"m=audio 12000 RTP/AVP 0 101\r\n",
		"a=rtpmap:101 telephone-event/8000\r\n",
		"a=fmtp:101 0-16\r\n",
		"a=ptime:20\r\n",
		"a=sendrecv\r\n",
		"c=IN IP4 192.0.2.1\r\n",
		"o=paybridge 9223372036854775807 1 IN IP4 192.0.2.1\r\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("answer lacks %q:\n%s", want, s)
		}
	}
	if strings.Index(s, "m=video") > strings.Index(s, "m=audio") {
		t.Error("m-line order changed")
	}
	// Round trip: our answer parses strictly and negotiates to the same choice.
	back, err := ParseSDP(ans)
	if err != nil || back.Lenient {
		t.Fatalf("answer does not parse strictly: %v", err)
	}
	p2, err := Negotiate(back)
	if err != nil || p2.Codec != p.Codec || p2.EventPT != p.EventPT || p2.Index != 1 {
		t.Fatalf("round trip: %+v %v", p2, err)
	}
}

func TestOfferRoundTrip(t *testing.T) {
	local := LocalMedia{IP: netip.MustParseAddr("127.0.0.1"), Port: 10000, SessionID: 42, Version: 7}
	s, err := ParseSDP(BuildOffer(local))
	if err != nil || s.Lenient {
		t.Fatalf("offer does not parse strictly: %v", err)
	}
	p, err := Negotiate(s)
	if err != nil {
		t.Fatal(err)
	}
	if p.Codec != PCMU || p.EventPT != DefaultEventPT || p.Remote.String() != "127.0.0.1:10000" || s.OriginVersion != 7 {
		t.Fatalf("got %+v", p)
	}
}

func FuzzParseSDP(f *testing.F) {
	entries, _ := os.ReadDir(filepath.Join("..", "testdata", "sdp"))
	for _, e := range entries {
		f.Add(readSDP(f, e.Name()))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := ParseSDP(body)
		if err != nil {
			if !errors.Is(err, ErrSDPMalformed) {
				t.Fatalf("error not wrapped: %v", err)
			}
			return
		}
		p, err := Negotiate(s)
		if err != nil {
			return
		}
		ans := BuildAnswer(s, p, LocalMedia{IP: netip.MustParseAddr("127.0.0.1"), Port: 10000, SessionID: 1, Version: 1})
		back, err := ParseSDP(ans)
		if err != nil {
			t.Fatalf("our answer does not parse: %v\n%s", err, ans)
		}
		if len(back.Media) != len(s.Media) {
			t.Fatalf("answer has %d m-lines, offer %d", len(back.Media), len(s.Media))
		}
	})
}

func ExampleNegotiate() {
	offer := []byte("v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
		"m=audio 31000 RTP/AVP 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\n")
	s, _ := ParseSDP(offer)
	p, err := Negotiate(s)
	fmt.Println(p.Codec.Name(), p.EventPT, p.PTime, p.Remote, err)
	// Output: PCMA 96 20 192.0.2.10:31000 <nil>
}

func TestNegotiateSRTPPolicies(t *testing.T) {
	type want struct {
		err   error
		suite SRTPSuite
		tag   int
		index int
		proto string
	}
	plain := want{proto: "RTP/AVP"}
	for _, tc := range []struct {
		file                    string
		off, optional, required want
	}{
		{file: "baresip-pcmu-101.sdp", off: plain, optional: plain, required: want{err: ErrSRTPRequired}},
		// The answerer takes the first usable line in the offerer's order: tag 1, the _32 one.
		{file: "srtp-savp-four-suites.sdp", off: want{err: ErrUnsupportedTransport},
			optional: want{suite: AES_CM_128_HMAC_SHA1_32, tag: 1, proto: "RTP/SAVP"},
			required: want{suite: AES_CM_128_HMAC_SHA1_32, tag: 1, proto: "RTP/SAVP"}},
		{file: "srtp-only.sdp", off: want{err: ErrUnsupportedTransport},
			optional: want{suite: AES_CM_128_HMAC_SHA1_80, tag: 1, proto: "RTP/SAVP"},
			required: want{suite: AES_CM_128_HMAC_SHA1_80, tag: 1, proto: "RTP/SAVP"}},
		// "Best effort" SDES: RTP/AVP with a=crypto (here with a lifetime and an MKI).
		{file: "srtp-best-effort-avp.sdp", off: plain,
			optional: want{suite: AES_CM_128_HMAC_SHA1_80, tag: 7, proto: "RTP/AVP"},
			required: want{suite: AES_CM_128_HMAC_SHA1_80, tag: 7, proto: "RTP/AVP"}},
		// A plain stream and an encrypted one: off takes the plain one, the others prefer SRTP.
		{file: "srtp-savp-then-avp.sdp", off: plain,
			optional: want{suite: AES_CM_128_HMAC_SHA1_80, tag: 1, index: 1, proto: "RTP/SAVP"},
			required: want{suite: AES_CM_128_HMAC_SHA1_80, tag: 1, index: 1, proto: "RTP/SAVP"}},
		{file: "srtp-no-usable-crypto.sdp", off: want{err: ErrUnsupportedTransport},
			optional: want{err: ErrNoCommonCrypto}, required: want{err: ErrNoCommonCrypto}},
		{file: "dtls-srtp.sdp", off: want{err: ErrUnsupportedTransport},
			optional: want{err: ErrUnsupportedTransport}, required: want{err: ErrUnsupportedTransport}},
	} {
		for _, pol := range []SRTPPolicy{SRTPOff, SRTPOptional, SRTPRequired} {
			w := map[SRTPPolicy]want{SRTPOff: tc.off, SRTPOptional: tc.optional, SRTPRequired: tc.required}[pol]
			t.Run(tc.file+"/"+pol.String(), func(t *testing.T) {
				s, err := ParseSDP(readSDP(t, tc.file))
				if err != nil {
					t.Fatal(err)
				}
				p, err := NegotiateWith(s, pol)
				if w.err != nil {
					if !errors.Is(err, w.err) {
						t.Fatalf("err = %v, want %v", err, w.err)
					}
					assertNoKeyIn(t, "the refusal", err.Error(), cryptoLine(readSDP(t, tc.file)))
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if p.Index != w.index || p.Proto != w.proto {
					t.Fatalf("stream %d %s, want %d %s", p.Index, p.Proto, w.index, w.proto)
				}
				if w.suite == SuiteNone {
					if p.Crypto != nil {
						t.Fatalf("encrypted with %v under %v", p.Crypto, pol)
					}
					return
				}
				if p.Crypto == nil || p.Crypto.Suite != w.suite || p.Crypto.Tag != w.tag {
					t.Fatalf("crypto %v, want tag %d %v", p.Crypto, w.tag, w.suite)
				}
				// Our answer: the same tag and suite, another key, the offer's transport.
				sess := NewSession(nil, SessionConfig{})
				if err := sess.SetParams(p); err != nil {
					t.Fatal(err)
				}
				answer, err := ParseSDP(BuildAnswer(s, p, LocalMedia{IP: lo, Port: 9000, SessionID: 1, Version: 1, Crypto: sess.LocalCrypto()}))
				if err != nil {
					t.Fatal(err)
				}
				am := answer.Media[p.Index]
				if am.Proto != w.proto || len(am.Crypto) != 1 || am.Crypto[0].Tag != w.tag || am.Crypto[0].Suite != w.suite || am.Crypto[0].Err != nil {
					t.Fatalf("answer m-line %s with %v", am.Proto, am.Crypto)
				}
				if string(am.Crypto[0].Key) == string(p.Crypto.Key) {
					t.Fatal("the answer echoes the offerer's key")
				}
				for i, m := range answer.Media {
					if i != p.Index && m.Port != 0 {
						t.Fatalf("m-line %d not refused", i)
					}
				}
			})
		}
	}
}

// cryptoLine is the first a=crypto line of an SDP body ("" when none).
func cryptoLine(body []byte) string {
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "a=crypto:"); ok {
			return v
		}
	}
	return ""
}
