package ivr

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/sipsafe"
	"github.com/paybridge/paybridge/media"
)

// rawUAC speaks SIP by hand over a real UDP socket so tests control every header.
type rawUAC struct {
	t      *testing.T
	conn   *net.UDPConn
	to     *net.UDPAddr
	callID string
	tag    string
	toTag  string
	cseq   int
	rtp    int
	sent   map[string]int // method → CSeq of the last request sent with it
	ruri   string         // the Request-URI ("" = sip:+441632960000@server)
	ctype  string         // Content-Type of a body ("" = application/sdp)
}

func newRawUAC(t *testing.T, s *Server) *rawUAC {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawUAC{t: t, conn: c, to: net.UDPAddrFromAddrPort(s.Addr()),
		callID: fmt.Sprintf("raw-%d@test", time.Now().UnixNano()), tag: "uac1", rtp: freePort(t, true)}
}

func (u *rawUAC) local() string { return u.conn.LocalAddr().String() }

func (u *rawUAC) sdp(dir string) string {
	return fmt.Sprintf("v=0\r\no=- 1 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=%s\r\n", u.cseq, u.rtp, dir)
}

// request sends a request in (or, without a to-tag, outside) the dialog.
func (u *rawUAC) request(method string, cseq int, body string, extra ...string) string {
	branch := fmt.Sprintf("z9hG4bK-%s-%d-%d", method, cseq, time.Now().UnixNano())
	if u.sent == nil {
		u.sent = map[string]int{}
	}
	u.sent[method] = cseq
	toTag := ""
	if u.toTag != "" {
		toTag = ";tag=" + u.toTag
	}
	ruri := u.ruri
	if ruri == "" {
		ruri = "sip:+441632960000@" + u.to.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\n", method, ruri, u.local(), branch)
	fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <sip:+447700900123@127.0.0.1>;tag=%s\r\nTo: <sip:+441632960000@%s>%s\r\n", u.tag, u.to, toTag)
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d %s\r\nContact: <sip:uac@%s>\r\n", u.callID, cseq, method, u.local())
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		ct := u.ctype
		if ct == "" {
			ct = "application/sdp"
		}
		b.WriteString("Content-Type: " + ct + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	if _, err := u.conn.WriteToUDP([]byte(b.String()), u.to); err != nil {
		u.t.Fatal(err)
	}
	return branch
}

var toTagRe = regexp.MustCompile(`(?mi)^To:.*;tag=([^;\s]+)`)

var cseqRe = regexp.MustCompile(`(?mi)^CSeq:\s*(\d+)\s+(\S+)`)

// response waits for a response with a status of at least min to the last request of method
// (by CSeq: a late retransmission of an earlier 2xx is not the answer); it answers a BYE from
// the server on the way.
func (u *rawUAC) response(method string, min int) (int, string) {
	u.t.Helper()
	buf := make([]byte, 65535)
	u.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		n, from, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			u.t.Fatalf("no %d+ response to %s: %v", min, method, err)
		}
		msg := string(buf[:n])
		if !strings.HasPrefix(msg, "SIP/2.0 ") {
			if strings.HasPrefix(msg, "BYE ") {
				u.answer(msg, from)
			}
			continue
		}
		m := cseqRe.FindStringSubmatch(msg)
		if m == nil || m[2] != method {
			continue
		}
		if want, ok := u.sent[method]; ok && m[1] != strconv.Itoa(want) {
			continue
		}
		code, _ := strconv.Atoi(msg[8:11])
		if code < min {
			continue
		}
		if m := toTagRe.FindStringSubmatch(msg); m != nil && u.toTag == "" && code >= 101 && method == "INVITE" {
			u.toTag = m[1]
		}
		return code, msg
	}
}

// answer sends 200 to a request from the server.
func (u *rawUAC) answer(req string, to *net.UDPAddr) {
	var b strings.Builder
	b.WriteString("SIP/2.0 200 OK\r\n")
	for _, line := range strings.Split(req, "\r\n")[1:] {
		l := strings.ToLower(line)
		if strings.HasPrefix(l, "via:") || strings.HasPrefix(l, "from:") || strings.HasPrefix(l, "to:") ||
			strings.HasPrefix(l, "call-id:") || strings.HasPrefix(l, "cseq:") {
			b.WriteString(line + "\r\n")
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	u.conn.WriteToUDP([]byte(b.String()), to)
}

// requestBody sends a request with a body of another type than SDP.
func (u *rawUAC) requestBody(method string, cseq int, contentType, body string) string {
	u.ctype = contentType
	defer func() { u.ctype = "" }()
	return u.request(method, cseq, body)
}

func (u *rawUAC) ack(cseq int, body string) {
	u.request("ACK", cseq, body)
}

// holdingRouter keeps every call up until the far end hangs up.
func holdingRouter(calls chan<- *Call) Router {
	return RouterFunc(func(string) (CallHandler, bool) {
		return func(ctx context.Context, call *Call) {
			if calls != nil {
				calls <- call
			}
			<-call.Done()
		}, true
	})
}

func TestReinviteHoldUnholdAndRules(t *testing.T) {
	calls := make(chan *Call, 1)
	s, logs := startServer(t, Config{Router: holdingRouter(calls)})
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	u := newRawUAC(t, s)
	u.cseq = 1
	u.request("INVITE", 1, u.sdp("sendrecv"))
	code, ok200 := u.response("INVITE", 200)
	if code != 200 || !strings.Contains(ok200, "a=sendrecv") {
		t.Fatalf("INVITE: %d\n%s", code, ok200)
	}
	u.ack(1, "")
	call := <-calls
	origin := regexp.MustCompile(`o=paybridge (\d+) (\d+)`).FindStringSubmatch(ok200)

	// Hold: the caller goes sendonly, we answer recvonly with a bumped o= version.
	u.cseq = 2
	u.request("INVITE", 2, u.sdp("sendonly"))
	code, held := u.response("INVITE", 200)
	if code != 200 || !strings.Contains(held, "a=recvonly") {
		t.Fatalf("hold: %d\n%s", code, held)
	}
	o2 := regexp.MustCompile(`o=paybridge (\d+) (\d+)`).FindStringSubmatch(held)
	if o2[1] != origin[1] || o2[2] == origin[2] {
		t.Errorf("o= after hold %v, before %v: same session id, new version expected", o2[1:], origin[1:])
	}
	u.ack(2, "")

	// A refresh with the same SDP keeps the version (UPDATE this time).
	u.request("UPDATE", 3, u.sdp("sendonly"))
	code, refreshed := u.response("UPDATE", 200)
	if o3 := regexp.MustCompile(`o=paybridge (\d+) (\d+)`).FindStringSubmatch(refreshed); code != 200 || o3[2] != o2[2] {
		t.Fatalf("refresh: %d, o= %v (want version %s)", code, o3, o2[2])
	}

	// Unhold.
	u.request("INVITE", 4, u.sdp("sendrecv"))
	if code, unheld := u.response("INVITE", 200); code != 200 || !strings.Contains(unheld, "a=sendrecv") {
		t.Fatalf("unhold: %d\n%s", code, unheld)
	}
	u.ack(4, "")

	// CSeq going backwards → 500 with Retry-After.
	u.request("INVITE", 3, u.sdp("sendrecv"))
	if code, msg := u.response("INVITE", 200); code != 500 || !strings.Contains(msg, "Retry-After") {
		t.Fatalf("old CSeq: %d\n%s", code, msg)
	}
	// An unknown dialog → 481.
	good := u.toTag
	u.toTag = "no-such-tag"
	u.request("INVITE", 9, u.sdp("sendrecv"))
	if code, _ := u.response("INVITE", 200); code != 481 {
		t.Fatalf("unknown dialog: %d", code)
	}
	u.toTag = good

	// INFO with an unsupported body → 415; a keep-alive INFO → 200.
	u.request("INFO", 10, "", "X-Keepalive: 1")
	if code, _ := u.response("INFO", 200); code != 200 {
		t.Fatalf("empty INFO: %d", code)
	}

	// BYE from the caller ends the call.
	u.request("BYE", 11, "")
	if code, _ := u.response("BYE", 200); code != 200 {
		t.Fatalf("BYE: %d", code)
	}
	select {
	case <-call.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("call did not end on BYE")
	}
	if call.Cause() != "caller-hangup" {
		t.Fatalf("cause %q", call.Cause())
	}
}

// TestModifyReleasedBeforeItsAnswer: a caller sends its next UPDATE or re-INVITE as soon as
// the previous answer arrives. The server must have released the exchange by then, however
// late its handler goroutine runs after sending the answer; the hook stands for a busy CPU
// (the unhold of TestReinviteHoldUnholdAndRules got 491 "Request Pending" under stress-ng).
func TestModifyReleasedBeforeItsAnswer(t *testing.T) {
	calls := make(chan *Call, 1)
	s, logs := startServer(t, Config{Router: holdingRouter(calls)})
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	u := newRawUAC(t, s)
	u.request("INVITE", 1, u.sdp("sendrecv"))
	if code, _ := u.response("INVITE", 200); code != 200 {
		t.Fatalf("INVITE: %d", code)
	}
	u.ack(1, "")
	<-calls
	slow := func() { time.Sleep(300 * time.Millisecond) }
	s.modifyAnswered.Store(&slow)
	seq := 2
	for _, step := range []struct{ method, dir string }{
		{"UPDATE", "sendonly"}, {"INVITE", "sendrecv"}, {"UPDATE", "sendonly"}, {"UPDATE", "sendrecv"}, {"INVITE", "sendonly"},
	} {
		u.request(step.method, seq, u.sdp(step.dir))
		if code, msg := u.response(step.method, 200); code != 200 {
			t.Fatalf("%s %d (%s) right after the previous answer: %d\n%s", step.method, seq, step.dir, code, msg)
		}
		if step.method == "INVITE" {
			u.ack(seq, "")
		}
		seq++
	}
	// An offer the server cannot take is refused the same way: released before the 488.
	u.request("UPDATE", seq, "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\n")
	if code, _ := u.response("UPDATE", 200); code != 488 {
		t.Fatalf("G.729-only UPDATE: %d, want 488", code)
	}
	u.request("UPDATE", seq+1, u.sdp("sendrecv"))
	if code, _ := u.response("UPDATE", 200); code != 200 {
		t.Fatalf("UPDATE right after a 488: %d", code)
	}
	u.request("BYE", seq+2, "")
	u.response("BYE", 200)
}

func TestCancelWhileRinging(t *testing.T) {
	s, _ := startServer(t, Config{Router: holdingRouter(nil), RingTime: 3 * time.Second})
	u := newRawUAC(t, s)
	branch := u.request("INVITE", 1, u.sdp("sendrecv"))
	if code, _ := u.response("INVITE", 180); code != 180 {
		t.Fatalf("want 180, got %d", code)
	}
	// CANCEL reuses the INVITE's branch and has no to-tag.
	tag := u.toTag
	u.toTag = ""
	msg := fmt.Sprintf("CANCEL sip:+441632960000@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:+447700900123@127.0.0.1>;tag=%s\r\nTo: <sip:+441632960000@%s>\r\nCall-ID: %s\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n",
		u.to, u.local(), branch, u.tag, u.to, u.callID)
	u.conn.WriteToUDP([]byte(msg), u.to)
	if code, _ := u.response("CANCEL", 200); code != 200 {
		t.Fatalf("CANCEL: %d", code)
	}
	if code, _ := u.response("INVITE", 200); code != 487 {
		t.Fatalf("INVITE after CANCEL: %d, want 487", code)
	}
	_ = tag
	deadline := time.Now().Add(3 * time.Second)
	for s.ActiveCalls() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := s.ActiveCalls(); n != 0 {
		t.Fatalf("%d calls still active after CANCEL", n)
	}
}

func TestOptionsAndMethodNotAllowed(t *testing.T) {
	s, _ := startServer(t, Config{Router: holdingRouter(nil)})
	u := newRawUAC(t, s)
	u.request("OPTIONS", 1, "")
	if code, msg := u.response("OPTIONS", 200); code != 200 || !strings.Contains(msg, "Allow: INVITE") {
		t.Fatalf("OPTIONS: %d\n%s", code, msg)
	}
	u.request("SUBSCRIBE", 2, "")
	if code, msg := u.response("SUBSCRIBE", 200); code != 405 || !strings.Contains(msg, "Allow: INVITE") {
		t.Fatalf("SUBSCRIBE: %d\n%s", code, msg)
	}
	u.request("INVITE", 3, "v=0\r\nthis is not sdp\r\n")
	if code, msg := u.response("INVITE", 200); code != 488 || !strings.Contains(msg, "Warning: 304") {
		t.Fatalf("bad SDP: %d\n%s", code, msg)
	}
}

func TestDrainRefusesNewCallsAndWaits(t *testing.T) {
	calls := make(chan *Call, 1)
	s, _ := startServer(t, Config{Router: holdingRouter(calls)})
	u := newRawUAC(t, s)
	u.request("INVITE", 1, u.sdp("sendrecv"))
	u.response("INVITE", 200)
	u.ack(1, "")
	call := <-calls
	drained := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		drained <- s.Drain(ctx)
	}()
	time.Sleep(100 * time.Millisecond)
	u2 := newRawUAC(t, s)
	u2.request("INVITE", 1, u2.sdp("sendrecv"))
	if code, msg := u2.response("INVITE", 200); code != 503 || !strings.Contains(msg, "Retry-After") || !strings.HasPrefix(msg, "SIP/2.0 503 "+ReasonDraining+"\r\n") {
		t.Fatalf("during drain: %d\n%s", code, msg)
	}
	// A dispatcher probing the node learns it is going away.
	u2.request("OPTIONS", 2, "")
	if code, msg := u2.response("OPTIONS", 200); code != 503 || !strings.Contains(msg, "Retry-After") || !strings.HasPrefix(msg, "SIP/2.0 503 "+ReasonDraining+"\r\n") {
		t.Fatalf("OPTIONS during drain: %d\n%s", code, msg)
	}
	// The call in progress was not cut; at the deadline it is hung up.
	if err := <-drained; err == nil {
		t.Fatal("drain returned before the call ended")
	}
	<-call.Done()
	if call.Cause() != "shutdown" {
		t.Fatalf("cause %q", call.Cause())
	}
}

func TestScannerAndRateLimit(t *testing.T) {
	// 0.1/s with a burst of 2: within the test's second or two exactly the burst is answered.
	s, _ := startServer(t, Config{Router: holdingRouter(nil), RateLimit: 0.1, RateBurst: 2})
	u := newRawUAC(t, s)
	u.request("OPTIONS", 1, "", "User-Agent: friendly-scanner")
	u.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 2048)
	if n, _, err := u.conn.ReadFromUDP(buf); err == nil {
		t.Fatalf("scanner got an answer: %q", buf[:n])
	}
	answered := 0
	for i := 0; i < 6; i++ {
		u.request("OPTIONS", 10+i, "")
		u.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, _, err := u.conn.ReadFromUDP(buf); err == nil && bytes.HasPrefix(buf[:n], []byte("SIP/2.0 200")) {
			answered++
		}
	}
	if answered != 2 {
		t.Fatalf("%d of 6 rapid OPTIONS answered with a burst of 2", answered)
	}
}

func TestHeaderValueInjectionRefused(t *testing.T) {
	for _, v := range []string{"a\r\nX-Evil: 1", "a\nb", "a\x00b"} {
		if err := sipsafe.CheckHeaderValue(v); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
	s, _ := startServer(t, Config{Router: holdingRouter(nil), UserAgent: "ok"})
	c := &Call{srv: s}
	if _, err := c.transferURI("1000\r\nX-Evil: 1"); err == nil {
		t.Error("transfer target with CRLF accepted")
	}
	if _, err := NewServer(Config{Router: holdingRouter(nil), SIPAddr: "127.0.0.1:0", UserAgent: "x\r\ny"}); err == nil {
		t.Error("UserAgent with CRLF accepted")
	}
}

// readRequest waits for a request from the server (answering nothing).
func (u *rawUAC) readRequest(method string) (string, *net.UDPAddr) {
	u.t.Helper()
	buf := make([]byte, 65535)
	u.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		n, from, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			u.t.Fatalf("no %s from the server: %v", method, err)
		}
		if msg := string(buf[:n]); strings.HasPrefix(msg, method+" ") {
			return msg, from
		}
	}
}

// reply answers a server request with code and optional extra headers.
func (u *rawUAC) reply(req string, to *net.UDPAddr, code int, reason string) {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, line := range strings.Split(req, "\r\n")[1:] {
		l := strings.ToLower(line)
		if strings.HasPrefix(l, "via:") || strings.HasPrefix(l, "from:") || strings.HasPrefix(l, "to:") ||
			strings.HasPrefix(l, "call-id:") || strings.HasPrefix(l, "cseq:") {
			b.WriteString(line + "\r\n")
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	u.conn.WriteToUDP([]byte(b.String()), to)
}

func TestTransferByREFER(t *testing.T) {
	result := make(chan error, 1)
	router := RouterFunc(func(string) (CallHandler, bool) {
		return func(ctx context.Context, call *Call) {
			result <- call.Transfer(ctx, "+441632960999")
		}, true
	})
	s, _ := startServer(t, Config{Router: router})
	u := newRawUAC(t, s)
	u.request("INVITE", 1, u.sdp("sendrecv"))
	u.response("INVITE", 200)
	u.ack(1, "")
	refer, from := u.readRequest("REFER")
	if !strings.Contains(refer, "Refer-To: <sip:+441632960999@") {
		t.Fatalf("REFER without the target:\n%s", refer)
	}
	u.reply(refer, from, 202, "Accepted")
	// The new leg answers: NOTIFY with a sipfrag 200, then the transferor hangs up.
	// The NOTIFY carries a message/sipfrag body, so it is written by hand.
	body := "SIP/2.0 200 OK\r\n"
	msg := fmt.Sprintf("NOTIFY sip:paybridge@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-notify-3;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:+447700900123@127.0.0.1>;tag=%s\r\nTo: <sip:+441632960000@%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: 3 NOTIFY\r\n"+
		"Event: refer\r\nSubscription-State: terminated;reason=noresource\r\nContent-Type: message/sipfrag;version=2.0\r\nContent-Length: %d\r\n\r\n%s",
		u.to, u.local(), u.tag, u.to, u.toTag, u.callID, len(body), body)
	u.conn.WriteToUDP([]byte(msg), u.to)
	bye, from := u.readRequest("BYE")
	u.reply(bye, from, 200, "OK")
	select {
	case err := <-result:
		if err != nil {
			t.Fatalf("Transfer: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Transfer did not return")
	}
}

func TestLateOffer(t *testing.T) {
	calls := make(chan *Call, 1)
	s, _ := startServer(t, Config{Router: holdingRouter(calls)})
	u := newRawUAC(t, s)
	u.request("INVITE", 1, "") // no SDP: we offer in the 200, the caller answers in the ACK
	code, ok := u.response("INVITE", 200)
	if code != 200 || !strings.Contains(ok, "m=audio") || !strings.Contains(ok, "telephone-event") {
		t.Fatalf("late offer 200: %d\n%s", code, ok)
	}
	u.ack(1, u.sdp("sendrecv"))
	call := <-calls
	// Media flows to the address of the ACK's answer.
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: u.rtp})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 2048)
	if _, _, err := c.ReadFromUDP(buf); err != nil {
		t.Fatalf("no RTP after the ACK's answer: %v", err)
	}
	if p := call.media.Params(); p.Codec != media.PCMU || p.EventPT != 101 {
		t.Fatalf("negotiated %+v", p)
	}
	u.request("BYE", 2, "")
	u.response("BYE", 200)
}
