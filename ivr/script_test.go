package ivr

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseDigitScript(t *testing.T) {
	steps, err := ParseDigitScript("12w#W a-D.*")
	if err != nil {
		t.Fatal(err)
	}
	var keys strings.Builder
	var pause time.Duration
	for _, s := range steps {
		if s.Digit != 0 {
			keys.WriteByte(s.Digit.Char())
		}
		pause += s.Pause
	}
	if keys.String() != "12#AD*" || pause != 1500*time.Millisecond {
		t.Fatalf("keys %q pause %v", keys.String(), pause)
	}
	if _, err := ParseDigitScript("4242x"); err == nil || strings.Contains(err.Error(), "4242") {
		t.Fatalf("bad script: %v (the error must name the position, not the keys)", err)
	}
}

func ExampleParseDigitScript() {
	steps, _ := ParseDigitScript("1W#")
	fmt.Println(len(steps), steps[1].Pause)
	// Output: 3 1s
}

func FuzzParseDigitScript(f *testing.F) {
	f.Add("4242424242424242w1230W123#")
	f.Add("x")
	f.Fuzz(func(t *testing.T, s string) {
		steps, err := ParseDigitScript(s)
		if err != nil {
			return
		}
		for _, st := range steps {
			if (st.Digit == 0) == (st.Pause == 0) || st.Digit != 0 && !st.Digit.Valid() {
				t.Fatalf("bad step %+v", st)
			}
		}
	})
}

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
