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
	f.Add([]byte("INVITE sip:a@b SIP/2.0\r\nContent-Type: application/sdp\r\n\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		out := RedactSIP(msg)
		// No key survives: whatever followed an inline: up to its end is gone.
		lo := bytes.ToLower(out)
		for j := bytes.Index(lo, []byte("inline:")); j >= 0; {
			rest := out[j+len("inline:"):]
			if len(rest) > 0 && !bytes.HasPrefix(rest, []byte(keyRedacted)) && !bytes.ContainsAny(rest[:1], "|; \t\r\n") {
				t.Fatalf("a key after inline: survived: %q", out)
			}
			k := bytes.Index(lo[j+1:], []byte("inline:"))
			if k < 0 {
				break
			}
			j += 1 + k
		}
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

// A trace masks a card number wherever a caller put it — a header as well as a body — and
// keeps what a trace is for: methods, addresses, phone numbers, SDP.
func TestRedactSIPHeaders(t *testing.T) {
	const card = "4242424242424242"
	msg := "INVITE sip:+441632960000@198.51.100.7:5060 SIP/2.0\r\n" +
		"From: <sip:" + card + "@203.0.113.9>;tag=9fxced76sl\r\n" +
		"To: <sip:+441632960000@198.51.100.7>\r\n" +
		"Subject: card 4242 4242 4242 4242 cvv 123\r\n" +
		"Call-ID: 3848276298220188511@203.0.113.9\r\n" +
		"CSeq: 314159 INVITE\r\n" +
		"Content-Type: application/sdp\r\n\r\n" +
		"v=0\r\nc=IN IP4 203.0.113.9\r\nm=audio 49170 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
	if !strings.Contains(msg, card) {
		t.Fatal("control: the message does not hold the card")
	}
	got := string(RedactSIP([]byte(msg)))
	if strings.Contains(got, card) || strings.Contains(got, "4242 4242") || strings.Contains(got, "cvv 123") {
		t.Fatalf("the trace holds card data:\n%s", got)
	}
	for _, keep := range []string{"INVITE sip:+441632960000@198.51.100.7:5060 SIP/2.0", "From: <sip:************4242@", "CSeq: 314159 INVITE",
		"m=audio 49170 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000", "c=IN IP4 203.0.113.9"} {
		if !strings.Contains(got, keep) {
			t.Errorf("the trace lost %q:\n%s", keep, got)
		}
	}
}

// SDES keys decrypt the call's media, tones and all: a trace shows the a=crypto line without
// its key, in an offer and an answer, whatever the case and the parameters after the key.
func TestRedactSIPCryptoKeys(t *testing.T) {
	const key1 = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
	const key2 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNk"
	const mikey = "AQAFgM0XflABAAAAAAAAAAAAAAsAyONQ6gAAAAAJAAAQbWl4ZXJAc2lwLnRlc3Q="
	msg := "SIP/2.0 200 OK\r\nContent-Type: application/sdp\r\n\r\n" +
		"v=0\r\nm=audio 4000 RTP/SAVP 0\r\n" +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key1 + "|2^20|1:4\r\n" +
		"a=crypto:2 AEAD_AES_256_GCM INLINE:" + key2 + " KDR=0\r\n" +
		"a=key-mgmt:mikey " + mikey + "\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n"
	for _, k := range []string{key1, key2, mikey} {
		if !strings.Contains(msg, k) {
			t.Fatal("control: the message does not hold the key")
		}
	}
	got := string(RedactSIP([]byte(msg)))
	for _, k := range []string{key1, key2, mikey, key1[:12], key2[:12], mikey[:12]} {
		if strings.Contains(got, k) {
			t.Fatalf("the trace holds a key:\n%s", got)
		}
	}
	for _, keep := range []string{"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[key redacted]|2^20|1:4", "a=crypto:2 AEAD_AES_256_GCM INLINE:[key redacted] KDR=0",
		"a=key-mgmt:[key redacted]", "a=rtpmap:0 PCMU/8000", "m=audio 4000 RTP/SAVP 0"} {
		if !strings.Contains(got, keep) {
			t.Errorf("the trace lost %q:\n%s", keep, got)
		}
	}
	var buf bytes.Buffer
	(&tracer{w: &buf}).SIPTraceRead("TLS", "127.0.0.1:5061", "127.0.0.1:40000", []byte(msg))
	if strings.Contains(buf.String(), key1) || strings.Contains(buf.String(), key2) {
		t.Fatalf("the tracer writes a key:\n%s", buf.String())
	}
}
