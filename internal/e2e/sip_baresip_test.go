package e2e

import (
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/baresip"
)

// TestSIPE2EBaresipPays dials the built binary from baresip (ctrl_tcp: dial, then one
// sndcode per key, sent as RFC 4733 events) and expects Pay.Result=success in the store.
func TestSIPE2EBaresipPays(t *testing.T) {
	n := startSIPNode(t, 43200)
	b := baresip.Start(t)
	b.Command(t, "dial", "sip:+441632960777@"+n.sip)
	b.WaitEvent(t, "CALL_ESTABLISHED", 15*time.Second)
	time.Sleep(1500 * time.Millisecond)
	for i := 0; i < len(sipPayKeys); i++ {
		b.Command(t, "sndcode", sipPayKeys[i:i+1])
		time.Sleep(250 * time.Millisecond)
	}
	b.WaitEvent(t, "CALL_CLOSED", 30*time.Second)
	res := n.waitPaid(t, 1)
	if len(res) != 1 || res[0] != "success" {
		t.Fatalf("Pay results: %v\npaybridge:\n%s\nbaresip:\n%s", res, n.out, b.Output())
	}
	sipAssertNoPAN(t, "paybridge serve output", n.out.String())
}
