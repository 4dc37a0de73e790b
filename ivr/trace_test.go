package ivr

import (
	"strings"
	"testing"
)

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
