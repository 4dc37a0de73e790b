package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestCallSecurity: how a call was protected — the SIP transport, the SRTP suite, whether both
// were encrypted, the SRTP authentication failures — is part of the call record, read back by
// GetCall and ListCalls and in the JSON the console serves.
func TestCallSecurity(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	must(t, s.CreateCall(ctx, Call{ID: "tls-srtp", StartedAt: t0, SIPTransport: "TLS", SRTP: "AES_CM_128_HMAC_SHA1_80"}))
	must(t, s.CreateCall(ctx, Call{ID: "udp-srtp", StartedAt: t0.Add(1), SIPTransport: "UDP", SRTP: "AEAD_AES_128_GCM"}))
	must(t, s.CreateCall(ctx, Call{ID: "tls-plain", StartedAt: t0.Add(2), SIPTransport: "TLS"}))
	must(t, s.CreateCall(ctx, Call{ID: "old", StartedAt: t0.Add(3)}))
	must(t, s.SetCallSRTPAuthFailed(ctx, "tls-srtp", 40))
	if err := s.SetCallSRTPAuthFailed(ctx, "nope", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown call: %v, want ErrNotFound", err)
	}
	want := map[string]struct {
		transport, srtp string
		encrypted       bool
		failed          int64
	}{
		"tls-srtp":  {"TLS", "AES_CM_128_HMAC_SHA1_80", true, 40},
		"udp-srtp":  {"UDP", "AEAD_AES_128_GCM", false, 0}, // the keys crossed in plaintext SIP
		"tls-plain": {"TLS", "", false, 0},
		"old":       {"", "", false, 0},
	}
	calls, err := s.ListCalls(ctx, CallFilter{})
	if err != nil || len(calls) != len(want) {
		t.Fatalf("ListCalls: %v, %v", calls, err)
	}
	for _, c := range calls {
		w := want[c.ID]
		if c.SIPTransport != w.transport || c.SRTP != w.srtp || c.Encrypted != w.encrypted || c.SRTPAuthFailed != w.failed {
			t.Errorf("%s: %+v, want %+v", c.ID, c, w)
		}
		g, _, err := s.GetCall(ctx, c.ID)
		if err != nil || g.SIPTransport != c.SIPTransport || g.SRTP != c.SRTP || g.Encrypted != c.Encrypted || g.SRTPAuthFailed != c.SRTPAuthFailed {
			t.Errorf("GetCall %s: %+v, %v", c.ID, g, err)
		}
	}
	var first Call
	for _, c := range calls {
		if c.ID == "tls-srtp" {
			first = c
		}
	}
	js, _ := json.Marshal(first)
	if !strings.Contains(string(js), `"sip_transport":"TLS","srtp":"AES_CM_128_HMAC_SHA1_80","encrypted":true,"srtp_auth_failed":40`) {
		t.Errorf("JSON %s", js)
	}
}
