package callplan

import (
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/payment"
)

// TestLinkTTLLimit: one limit for a payment link's lifetime (7 days), enforced by validate.
// The docs once allowed 720h here while the gateway capped links at 7 days.
func TestLinkTTLLimit(t *testing.T) {
	link := func(ttl string) string {
		return wrapFlow(`<SendPaymentLink connector="provider" to="+447700900999" amount="1" currency="GBP" ttl="` + ttl + `"/>`)
	}
	for _, ok := range []string{"1m", "24h", "168h"} {
		p := langParse(t, link(ok))
		want, _ := time.ParseDuration(ok)
		if got := p.Flow[0].(*SendPaymentLinkStep).TTL; got != want {
			t.Errorf("ttl=%q parsed as %v", ok, got)
		}
	}
	for _, bad := range []string{"169h", "720h", "30s"} {
		ds := langDiags(link(bad))
		if len(ds) != 1 || !strings.Contains(ds[0], "ttl") || !strings.Contains(ds[0], "out of range") {
			t.Errorf("ttl=%q: diagnostics %q, want one out-of-range error", bad, ds)
		}
	}
	if payment.MaxLinkTTL != 7*24*time.Hour {
		t.Errorf("MaxLinkTTL = %v; docs/callplan.md and docs/gateway.md say 7 days", payment.MaxLinkTTL)
	}
}
