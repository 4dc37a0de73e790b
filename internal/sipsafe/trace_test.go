package sipsafe

import (
	"bytes"
	"strings"
	"testing"
)

func TestRedactSIP(t *testing.T) {
	info := "INFO sip:a@b SIP/2.0\r\nContent-Type: application/dtmf-relay\r\nContent-Length: 24\r\n\r\nSignal=4\r\nDuration=100\r\n"
	got := string(RedactSIP([]byte(info)))
	if strings.Contains(got, "Signal=4") || !strings.Contains(got, "[body redacted: 24 bytes]") {
		t.Fatalf("INFO not redacted:\n%s", got)
	}
	invite := "INVITE sip:a@b SIP/2.0\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n"
	if string(RedactSIP([]byte(invite))) != invite {
		t.Fatal("SDP must stay readable in traces")
	}
}

func TestTraceSIPRedacts(t *testing.T) {
	var buf bytes.Buffer
	tr := &tracer{w: &buf} // what TraceSIP installs in sipgo
	tr.SIPTraceWrite("UDP", "127.0.0.1:5060", "127.0.0.1:5062",
		[]byte("INFO sip:a@b SIP/2.0\r\nc: application/dtmf\r\n\r\n4242424242424242"))
	out := buf.String()
	if !strings.Contains(out, "=== UDP -> 127.0.0.1:5060 127.0.0.1:5062 ===") || !strings.Contains(out, "INFO sip:a@b") {
		t.Fatalf("trace line missing:\n%s", out)
	}
	if strings.Contains(out, "4242424242424242") {
		t.Fatalf("the INFO body reached the trace:\n%s", out)
	}
}

func FuzzRedactSIP(f *testing.F) {
	f.Add([]byte("INFO sip:a@b SIP/2.0\r\nc: application/dtmf\r\n\r\n4242424242424242"))
	f.Add([]byte("INVITE sip:a@b SIP/2.0\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		out := RedactSIP(msg)
		i := bytes.Index(msg, []byte("\r\n\r\n"))
		if i < 0 || isSDPHead(msg[:i]) {
			return
		}
		body := bytes.TrimSpace(msg[i+4:])
		if len(body) >= 8 && len(out) > i+4 && bytes.Contains(out[i+4:], body) {
			t.Fatalf("body survived redaction: %q", out)
		}
	})
}
