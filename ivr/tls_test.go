package ivr

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/internal/sipsafe"
	"github.com/paybridge/paybridge/internal/testcert"
	"github.com/paybridge/paybridge/internal/testlog"
	"github.com/paybridge/paybridge/internal/tlsconf"
	"github.com/paybridge/paybridge/media"
	"github.com/paybridge/paybridge/siptest"
)

// tlsSetup is a throwaway CA, a server certificate for 127.0.0.1 from it (with its chain)
// and a client configuration that trusts the CA.
type tlsSetup struct {
	ca        *testcert.CA
	cert, key string
	server    *tlsconf.Server
	client    *tls.Config
}

func newTLSSetup(t *testing.T, clientCA bool) *tlsSetup {
	t.Helper()
	ts := &tlsSetup{ca: testcert.NewCA(t)}
	ts.cert, ts.key = ts.ca.Issue(testcert.Options{})
	f := tlsconf.Files{Cert: ts.cert, Key: ts.key}
	if clientCA {
		f.ClientCA = ts.ca.CAFile()
	}
	var err error
	if ts.server, err = tlsconf.NewServer(f); err != nil {
		t.Fatal(err)
	}
	if ts.client, err = tlsconf.Client(tlsconf.ClientOptions{CAFile: ts.ca.CAFile()}); err != nil {
		t.Fatal(err)
	}
	return ts
}

// startTLSServer starts a server with a TLS listener.
func startTLSServer(t *testing.T, ts *tlsSetup, cfg Config) (*Server, *testlog.Buffer) {
	t.Helper()
	cfg.TLSAddr, cfg.TLS = "127.0.0.1:0", ts.server.Config()
	return startServer(t, cfg)
}

var contactRe = regexp.MustCompile(`(?mi)^Contact:\s*<([^>]+)>`)

// A caller on TLS with SRTP keys a card three ways; the call is encrypted end to end, its
// answer brings in-dialog requests back on TLS, and nothing it writes holds a key or a card.
func TestTLSAndSRTPCallerKeysCard(t *testing.T) {
	const card = "4242424242424242" + "1230" + "123"
	ts := newTLSSetup(t, false)
	for _, tc := range []struct {
		mode, uri, transport, contact string
		suite                         media.SRTPSuite
	}{
		{siptest.DTMFRFC4733, "sips:+441632960000@%s", "", `^sips:paybridge@127\.0\.0\.1:\d+$`, media.AES_CM_128_HMAC_SHA1_80},
		{siptest.DTMFInband, "sip:+441632960000@%s", "tls", `^sip:paybridge@127\.0\.0\.1:\d+;transport=tls$`, media.AEAD_AES_128_GCM},
		{siptest.DTMFInfo, "sips:+441632960000@%s", "", `^sips:paybridge@`, media.AES_CM_128_HMAC_SHA1_32},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			got := make(chan collected, 1)
			var sec Security
			router := RouterFunc(func(to string) (CallHandler, bool) {
				h, _ := digitCollector(len(card), got).Route(to)
				return func(ctx context.Context, call *Call) {
					sec = call.Security()
					strayDatagrams(t, call.media.Params().Remote, 20)
					h(ctx, call)
				}, true
			})
			trace := &testlog.Buffer{}
			sipsafe.TraceSIP(trace)
			t.Cleanup(func() { sipsafe.TraceSIP(nil) })
			s, logs := startTLSServer(t, ts, Config{Router: router, SRTP: SRTPPolicies{UDP: media.SRTPOptional, TLS: media.SRTPRequired}})
			res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
				Target: fmt.Sprintf(tc.uri, s.TLSAddr()), Transport: tc.transport, TLS: ts.client, SRTP: []media.SRTPSuite{tc.suite},
				From: "+447700900123", Digits: card, DTMF: tc.mode, Timeout: 40 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			// The stray datagrams sent to the caller's media port from another address are
			// foreign to it, not SRTP failures of the far end (a busy host's leftovers once
			// counted 119 "auth failures" here).
			if !res.Answered || res.Transport != "tls" || res.SRTP != tc.suite.String() || res.DigitsSent != len(card) || !res.PromptHeard || res.SRTPAuthFailed != 0 || res.RTPForeign < 20 {
				t.Fatalf("caller result: %+v", res)
			}
			c := <-got
			if c.digits != card {
				t.Fatalf("channel got %d digits, want %d (match=%v)", len(c.digits), len(card), c.digits == card)
			}
			if sec.Transport != "TLS" || sec.SRTP != tc.suite || !sec.Encrypted() {
				t.Fatalf("call security %+v", sec)
			}
			// The caller has no listener on TLS: the server's BYE reached it on its own
			// connection — the server did not fall back to UDP or TCP.
			if res.HangupBy != "remote" {
				t.Fatalf("hang-up by %q: the server's BYE did not arrive over TLS", res.HangupBy)
			}
			m := contactRe.FindAllStringSubmatch(trace.String(), -1)
			found := false
			for _, mm := range m {
				if strings.Contains(mm[1], "paybridge@") {
					found = true
					if !regexp.MustCompile(tc.contact).MatchString(mm[1]) {
						t.Errorf("our Contact %q, want %s", mm[1], tc.contact)
					}
				}
			}
			if !found {
				t.Errorf("no Contact of ours in the trace:\n%s", trace)
			}
			if !strings.Contains(trace.String(), "inline:[key redacted]") || strings.Count(trace.String(), "a=crypto:") < 2 {
				t.Errorf("the trace shows no redacted a=crypto lines:\n%s", trace)
			}
			js, _ := json.Marshal(res)
			assertNoCards(t, "caller JSON", string(js))
			assertNoCards(t, "server logs", logs.String())
			assertNoCards(t, "SIP trace", trace.String())
			if !strings.Contains(logs.String(), "transport=TLS srtp="+tc.suite.String()) {
				t.Errorf("the call-ended log does not say how the call was protected:\n%s", logs)
			}
		})
	}
}

// strayDatagrams sends n RTP-looking datagrams that no key authenticates to the address to,
// from a socket of its own: traffic a media port gets on a busy host.
func strayDatagrams(t *testing.T, to netip.AddrPort, n int) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Error(err)
		return
	}
	defer c.Close()
	b := make([]byte, 172)
	for i := 0; i < n; i++ {
		for j := range b {
			b[j] = byte(rand.Uint32())
		}
		b[0], b[1] = 0x80, 0 // RTP version 2, PCMU
		c.WriteToUDPAddrPort(b, to)
	}
}

// A plain offer where SRTP is required is refused with 488 and a reason; the stricter of the
// listener's and the plan's policy applies.
func TestSRTPPolicyRefusesPlainOffers(t *testing.T) {
	plans := map[string]media.SRTPPolicy{"+441632960001": media.SRTPRequired, "+441632960002": media.SRTPOff}
	for _, tc := range []struct {
		name     string
		listener media.SRTPPolicy
		number   string
		srtp     bool
		want     int
		suite    string
	}{
		{"optional takes plain", media.SRTPOptional, "+441632960000", false, 200, ""},
		{"optional takes SRTP", media.SRTPOptional, "+441632960000", true, 200, "AES_CM_128_HMAC_SHA1_80"},
		{"required refuses plain", media.SRTPRequired, "+441632960000", false, 488, ""},
		{"required takes SRTP", media.SRTPRequired, "+441632960000", true, 200, "AES_CM_128_HMAC_SHA1_80"},
		{"a plan requires", media.SRTPOptional, "+441632960001", false, 488, ""},
		{"a plan cannot lift the listener's requirement", media.SRTPRequired, "+441632960002", false, 488, ""},
		{"off refuses SRTP-only offers", media.SRTPOff, "+441632960000", true, 488, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trace := &testlog.Buffer{}
			sipsafe.TraceSIP(trace)
			t.Cleanup(func() { sipsafe.TraceSIP(nil) })
			s, _ := startServer(t, Config{Router: holdingRouter(nil), SRTP: AllSRTP(tc.listener),
				PlanSRTP: func(to string) media.SRTPPolicy { return plans[to] }})
			cfg := siptest.CallerConfig{Target: "sip:" + tc.number + "@" + s.Addr().String(), Hangup: true, Timeout: 10 * time.Second}
			if tc.srtp {
				cfg.SRTP = media.DefaultSuites
			}
			res, err := siptest.Dial(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.want || res.SRTP != tc.suite {
				t.Fatalf("status %d srtp %q, want %d %q (%+v)", res.Status, res.SRTP, tc.want, tc.suite, res)
			}
			if tc.want == 488 {
				want := "SRTP required"
				if tc.listener == media.SRTPOff {
					want = "SRTP is off"
				}
				if !regexp.MustCompile(`Warning: 304 127\.0\.0\.1 "media: [^"]*` + want).MatchString(trace.String()) {
					t.Fatalf("the 488 does not say %q:\n%s", want, trace)
				}
			}
		})
	}
}

// A sips: Request-URI is taken over TLS only.
func TestSIPSOverPlaintextIs416(t *testing.T) {
	s, _ := startServer(t, Config{Router: holdingRouter(nil)})
	u := newRawUAC(t, s)
	u.ruri = "sips:+441632960000@" + u.to.String()
	u.request("INVITE", 1, u.sdp("sendrecv"))
	if code, msg := u.response("INVITE", 200); code != 416 || !strings.Contains(msg, "TLS") {
		t.Fatalf("sips over UDP: %d\n%s", code, msg)
	}
}

// An in-dialog request of a TLS call that arrives over UDP — an INFO with a key, a BYE — is
// refused (403) and not acted on, while the same over TLS works.
func TestTLSDialogRefusesPlaintextRequests(t *testing.T) {
	ts := newTLSSetup(t, false)
	calls := make(chan *Call, 1)
	s, logs := startTLSServer(t, ts, Config{Router: holdingRouter(calls), SRTP: AllSRTP(media.SRTPOptional)})
	done := make(chan *siptest.CallerResult, 1)
	go func() {
		res, _ := siptest.Dial(context.Background(), siptest.CallerConfig{Target: "sips:+441632960000@" + s.TLSAddr().String(), TLS: ts.client,
			SRTP: media.DefaultSuites, Digits: "W W W 5", DTMF: siptest.DTMFInfo, PromptWait: 10 * time.Millisecond, Hangup: true, HangupAfter: time.Second, Timeout: 30 * time.Second})
		done <- res
	}()
	var call *Call
	select {
	case call = <-calls:
	case <-time.After(15 * time.Second):
		t.Fatal("no call")
	}
	inv := call.dialog.InviteRequest
	u := newRawUAC(t, s)
	u.callID = inv.CallID().Value()
	u.tag, _ = inv.From().Params.Get("tag")
	u.toTag, _ = call.dialog.InviteResponse.To().Params.Get("tag")
	u.requestBody("INFO", 50, "application/dtmf-relay", "Signal=9\r\nDuration=100\r\n")
	if code, msg := u.response("INFO", 200); code != 403 || !strings.Contains(msg, "must come over TLS") {
		t.Fatalf("INFO over UDP in a TLS dialog: %d\n%s", code, msg)
	}
	u.request("BYE", 51, "")
	if code, _ := u.response("BYE", 200); code != 403 {
		t.Fatalf("BYE over UDP in a TLS dialog: %d", code)
	}
	select {
	case d := <-call.Digits():
		if d.Digit.Char() == '9' {
			t.Fatal("the key of the plaintext INFO reached the call")
		}
		if d.Digit.Char() != '5' {
			t.Fatalf("unexpected key %c", d.Digit.Char())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the TLS caller's INFO key never arrived")
	}
	res := <-done
	select {
	case <-call.Done():
	case <-time.After(10 * time.Second):
	}
	if !res.Answered || res.HangupBy != "local" || call.Cause() != "caller-hangup" {
		t.Fatalf("caller %+v, cause %q: the TLS BYE must end the call, the UDP one not", res, call.Cause())
	}
	if !strings.Contains(logs.String(), "in-dialog request of a TLS call over a plaintext transport refused") {
		t.Error("the refusal was not logged")
	}
}

// A certificate reload (SIGHUP) swaps the certificate for new handshakes and leaves calls in
// progress alone.
func TestTLSCertificateReloadKeepsCalls(t *testing.T) {
	ts := newTLSSetup(t, false)
	got := make(chan collected, 1)
	up := make(chan struct{}, 1)
	router := RouterFunc(func(to string) (CallHandler, bool) {
		h, _ := digitCollector(4, got).Route(to)
		return func(ctx context.Context, call *Call) { up <- struct{}{}; h(ctx, call) }, true
	})
	s, _ := startTLSServer(t, ts, Config{Router: router, SRTP: AllSRTP(media.SRTPRequired)})
	serial := func() string {
		c, err := tls.Dial("tcp", s.TLSAddr().String(), ts.client)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	done := make(chan *siptest.CallerResult, 1)
	go func() {
		res, _ := siptest.Dial(context.Background(), siptest.CallerConfig{Target: "sips:+441632960000@" + s.TLSAddr().String(), TLS: ts.client,
			SRTP: media.DefaultSuites, Digits: "12 W W W 34", Timeout: 40 * time.Second})
		done <- res
	}()
	select {
	case <-up: // the call is up: the reload below happens during it
	case <-time.After(30 * time.Second):
		t.Fatal("the call never came up")
	}
	c2, k2 := ts.ca.Issue(testcert.Options{Name: "renewed"})
	for from, to := range map[string]string{c2: ts.cert, k2: ts.key} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.server.Reload(); err != nil {
		t.Fatal(err)
	}
	if after := serial(); after == before {
		t.Fatal("new handshakes still get the old certificate")
	}
	res := <-done
	c := <-got
	if c.digits != "1234" || !res.Answered || res.HangupBy != "remote" {
		t.Fatalf("the call across the reload: digits ok=%v, %+v", c.digits == "1234", res)
	}
}

// A trunk that uses mutual TLS: a caller without a certificate from the configured CA is
// refused at the handshake.
func TestMutualTLS(t *testing.T) {
	ts := newTLSSetup(t, true)
	s, _ := startTLSServer(t, ts, Config{Router: holdingRouter(nil)})
	target := "sips:+441632960000@" + s.TLSAddr().String()
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{Target: target, TLS: ts.client, Hangup: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Answered || res.Error == "" {
		t.Fatalf("a caller without a client certificate got through: %+v", res)
	}
	cc, ck := ts.ca.Issue(testcert.Options{Client: true})
	withCert, err := tlsconf.Client(tlsconf.ClientOptions{CAFile: ts.ca.CAFile(), Cert: cc, Key: ck})
	if err != nil {
		t.Fatal(err)
	}
	res, err = siptest.Dial(context.Background(), siptest.CallerConfig{Target: target, TLS: withCert, Hangup: true, Timeout: 10 * time.Second})
	if err != nil || !res.Answered {
		t.Fatalf("a caller with a certificate from the CA: %v %+v", err, res)
	}
}

// The test caller refuses a server whose certificate is expired or for another host, and
// says so.
func TestCallerRefusesBadServerCertificates(t *testing.T) {
	ca := testcert.NewCA(t)
	client, _ := tlsconf.Client(tlsconf.ClientOptions{CAFile: ca.CAFile()})
	for _, tc := range []struct {
		name string
		opt  testcert.Options
		want string
	}{
		{"expired", testcert.Options{Name: "expired", NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}, "expired or not yet valid"},
		{"wrong host", testcert.Options{Name: "other", Hosts: []string{"sip.example.net"}}, `not for "127.0.0.1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert, key := ca.Issue(tc.opt)
			pair, err := tls.LoadX509KeyPair(cert, key)
			if err != nil {
				t.Fatal(err)
			}
			// tlsconf.NewServer refuses an expired certificate, so this server is configured
			// by hand: what a badly run far end would serve.
			calls := 0
			s, _ := startServer(t, Config{TLSAddr: "127.0.0.1:0", TLS: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}},
				Router: RouterFunc(func(string) (CallHandler, bool) { calls++; return nil, false })})
			res, err := siptest.Dial(context.Background(), siptest.CallerConfig{Target: "sips:+441632960000@" + s.TLSAddr().String(), TLS: client, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if res.Answered || res.Status != 0 || !strings.Contains(res.Error, tc.want) || calls != 0 {
				t.Fatalf("result %+v (router called %d times), want an error saying %q", res, calls, tc.want)
			}
		})
	}
}

// A re-INVITE may re-key an SRTP call (new keys both ways, o= version bumped) or hold it
// (keys kept), never turn its encryption off; the media keeps flowing under the new keys.
func TestReinviteRekeysSRTP(t *testing.T) {
	calls := make(chan *Call, 1)
	s, _ := startServer(t, Config{Router: holdingRouter(calls), SRTP: AllSRTP(media.SRTPOptional)})
	u := newRawUAC(t, s)
	rtpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: u.rtp})
	if err != nil {
		t.Fatal(err)
	}
	defer rtpConn.Close()
	k1, _ := media.NewCrypto(1, media.AES_CM_128_HMAC_SHA1_80)
	k2, _ := media.NewCrypto(1, media.AES_CM_128_HMAC_SHA1_80)
	savp := func(dir string, k *media.Crypto) string {
		return strings.Replace(u.sdp(dir), "RTP/AVP", "RTP/SAVP", 1) + "a=crypto:" + cryptoAttr(k) + "\r\n"
	}
	u.request("INVITE", 1, savp("sendrecv", k1))
	code, ok200 := u.response("INVITE", 200)
	if code != 200 || !strings.Contains(ok200, "m=audio") || !strings.Contains(ok200, "RTP/SAVP") {
		t.Fatalf("INVITE: %d\n%s", code, ok200)
	}
	u.ack(1, "")
	call := <-calls
	s1 := answerCrypto(t, ok200)
	keyed := func(k, server *media.Crypto, d byte) {
		t.Helper()
		sec, err := media.NewSRTP(k, server)
		if err != nil {
			t.Fatal(err)
		}
		sendSRTPKey(t, rtpConn, call.media.Port(), sec, d, uint16(d)*100)
		select {
		case e := <-call.Digits():
			if e.Digit.Char() != d {
				t.Fatalf("key %c, want %c", e.Digit.Char(), d)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("key %c never arrived: %+v", d, call.MediaStats())
		}
	}
	keyed(k1, s1, '1')
	origin := regexp.MustCompile(`o=paybridge \d+ (\d+)`)
	v1 := origin.FindStringSubmatch(ok200)[1]

	// Re-key: a new key from the caller, a new one from us, the version bumped.
	u.request("INVITE", 2, savp("sendrecv", k2))
	code, rekeyed := u.response("INVITE", 200)
	if code != 200 {
		t.Fatalf("re-key: %d\n%s", code, rekeyed)
	}
	u.ack(2, "")
	s2 := answerCrypto(t, rekeyed)
	if string(s2.Key) == string(s1.Key) || origin.FindStringSubmatch(rekeyed)[1] == v1 {
		t.Fatalf("a re-key kept our key or the o= version:\n%s", rekeyed)
	}
	keyed(k2, s2, '2')

	// Hold with the same key: our key stays.
	u.request("INVITE", 3, savp("sendonly", k2))
	code, held := u.response("INVITE", 200)
	if code != 200 || !strings.Contains(held, "a=recvonly") || string(answerCrypto(t, held).Key) != string(s2.Key) {
		t.Fatalf("hold: %d (our key kept: %v)\n%s", code, string(answerCrypto(t, held).Key) == string(s2.Key), held)
	}
	u.ack(3, "")

	// Turning encryption off mid-call: 488, and the call stays encrypted.
	u.request("INVITE", 4, u.sdp("sendrecv"))
	if code, msg := u.response("INVITE", 200); code != 488 || !strings.Contains(msg, "must keep the call's media encryption") {
		t.Fatalf("plain re-offer: %d\n%s", code, msg)
	}
	if call.Security().SRTP != media.AES_CM_128_HMAC_SHA1_80 {
		t.Fatal("the refused re-offer changed the call")
	}
	keyed(k2, s2, '3')
	u.request("BYE", 5, "")
	u.response("BYE", 200)
	<-call.Done()
	if st := call.MediaStats(); st.SRTPAuthFailed != 0 {
		t.Errorf("auth failures %d", st.SRTPAuthFailed)
	}
}

// cryptoAttr is the a=crypto value of k (the test plays the far end, so it writes its key).
func cryptoAttr(k *media.Crypto) string {
	return fmt.Sprintf("%d %s inline:%s", k.Tag, k.Suite, b64(k.Key))
}

// answerCrypto reads the a=crypto line of a response's SDP.
func answerCrypto(t *testing.T, msg string) *media.Crypto {
	t.Helper()
	_, body, _ := strings.Cut(msg, "\r\n\r\n")
	sd, err := media.ParseSDP([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range sd.Media {
		if len(m.Crypto) == 1 && m.Crypto[0].Err == nil {
			c := m.Crypto[0]
			return &c
		}
	}
	t.Fatalf("no usable a=crypto in\n%s", msg)
	return nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// sendSRTPKey sends digit d as RFC 4733 events (PT 101) through sec from conn to the call's
// media port.
func sendSRTPKey(t *testing.T, conn *net.UDPConn, port int, sec *media.SRTP, d byte, seq uint16) {
	t.Helper()
	digit, _ := dtmf.ParseDigit(d)
	pkts, err := dtmf.NewSender(8000).Packets(digit, uint32(seq)*160, 100*time.Millisecond, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	for i, p := range pkts {
		raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: seq + uint16(i), Timestamp: p.Timestamp,
			SSRC: 0xcafe, Marker: p.Marker}, Payload: p.Payload}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out, err := sec.Protect(nil, raw)
		if err != nil {
			t.Fatal(err)
		}
		conn.WriteToUDP(out, to)
		time.Sleep(5 * time.Millisecond)
	}
}
