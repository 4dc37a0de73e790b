package ivr

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// udpProbe is a bare UDP socket that sends hand-made datagrams and reads what comes back.
type udpProbe struct {
	t    *testing.T
	conn *net.UDPConn
	to   *net.UDPAddr
}

func newUDPProbe(t *testing.T, s *Server) *udpProbe {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &udpProbe{t: t, conn: c, to: net.UDPAddrFromAddrPort(s.Addr())}
}

// roundTrip sends msg and returns the first final response carrying callID ("" after wait).
func (p *udpProbe) roundTrip(msg []byte, callID string, wait time.Duration) string {
	p.t.Helper()
	if _, err := p.conn.WriteToUDP(msg, p.to); err != nil {
		p.t.Fatal(err)
	}
	buf := make([]byte, 65535)
	deadline := time.Now().Add(wait)
	for {
		p.conn.SetReadDeadline(deadline)
		n, _, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return ""
		}
		r := string(buf[:n])
		if strings.HasPrefix(r, "SIP/2.0 ") && !strings.HasPrefix(r, "SIP/2.0 1") && strings.Contains(r, callID) {
			return r
		}
	}
}

// request builds a request whose Content-Length header says cl and whose body is body.
func (p *udpProbe) request(method, callID string, cl int, body string) []byte {
	local := p.conn.LocalAddr().String()
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s sip:+441632960000@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-%s;rport\r\n", method, p.to, local, callID)
	fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <sip:probe@%s>;tag=p1\r\nTo: <sip:+441632960000@%s>\r\n", local, p.to)
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: 1 %s\r\nContact: <sip:probe@%s>\r\n", callID, method, local)
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", cl, body)
	return b.Bytes()
}

// TestUDPContentLengthBeyondBodyIs400: RFC 3261 18.3 and docs/sip.md — a UDP request whose
// Content-Length is larger than the body it carries is answered 400 (it was dropped without a
// word); bytes beyond Content-Length are discarded and the request is served.
func TestUDPContentLengthBeyondBodyIs400(t *testing.T) {
	s, _ := startServer(t, Config{Router: holdingRouter(nil)})
	p := newUDPProbe(t, s)
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"

	for _, method := range []string{"OPTIONS", "INVITE"} {
		id := "cut-" + strings.ToLower(method)
		res := p.roundTrip(p.request(method, id, len(sdp)+200, sdp), id, 3*time.Second)
		if !strings.HasPrefix(res, "SIP/2.0 400 ") {
			t.Fatalf("%s with Content-Length %d over a %d-byte body: got %q, want 400", method, len(sdp)+200, len(sdp), firstLine(res))
		}
		if !strings.Contains(res, "Content-Length") || !strings.Contains(res, ";tag=") {
			t.Errorf("%s: the 400 names no reason or has no To tag:\n%s", method, res)
		}
	}
	// Extra bytes after the declared body are discarded: the request is served.
	id := "extra-bytes"
	if res := p.roundTrip(p.request("OPTIONS", id, 0, "trailing junk"), id, 3*time.Second); !strings.HasPrefix(res, "SIP/2.0 200 ") {
		t.Fatalf("OPTIONS with bytes beyond Content-Length: %q, want 200", firstLine(res))
	}
	// A cut ACK gets nothing (no response to an ACK), and the server still answers.
	p.conn.WriteToUDP(p.request("ACK", "cut-ack", 500, "x"), p.to)
	id = "after"
	if res := p.roundTrip(p.request("OPTIONS", id, 0, ""), id, 3*time.Second); !strings.HasPrefix(res, "SIP/2.0 200 ") {
		t.Fatalf("OPTIONS afterwards: %q", firstLine(res))
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\r\n")
	return l
}

func TestBodyCut(t *testing.T) {
	cases := map[string]bool{
		"OPTIONS sip:a SIP/2.0\r\nContent-Length: 10\r\n\r\nshort":              true,
		"OPTIONS sip:a SIP/2.0\r\nl:   6\r\n\r\nshort":                          true, // compact form
		"OPTIONS sip:a SIP/2.0\r\ncontent-length: 5\r\n\r\nshort":               false,
		"OPTIONS sip:a SIP/2.0\r\nContent-Length: 2\r\n\r\nshort":               false, // extra bytes: discarded, not an error
		"OPTIONS sip:a SIP/2.0\r\nContent-Length: x\r\n\r\nshort":               false, // left to the parser
		"OPTIONS sip:a SIP/2.0\r\nContent-Length: 10\r\nno blank line":          false,
		"OPTIONS sip:a SIP/2.0\r\nX-Content-Length: 99\r\n\r\n":                 false,
		"OPTIONS sip:a SIP/2.0\r\nSubject: l: 99\r\nl: 0\r\n\r\n":               false,
		"SIP/2.0 200 OK\r\nContent-Length: 99\r\n\r\n":                          true, // a response: discarded by the caller
		"OPTIONS sip:a SIP/2.0\r\nContent-Length: 99999999999999999999\r\n\r\n": false,
	}
	for msg, want := range cases {
		if got := bodyCut([]byte(msg)); got != want {
			t.Errorf("bodyCut(%q) = %v, want %v", msg, got, want)
		}
	}
}

func FuzzBodyCut(f *testing.F) {
	f.Add([]byte("OPTIONS sip:a SIP/2.0\r\nContent-Length: 10\r\n\r\nshort"))
	f.Add([]byte("SIP/2.0 200 OK\r\nl: 3\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		bodyCut(b) // must not panic
	})
}
