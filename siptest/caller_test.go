package siptest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/paybridge/paybridge/internal/sipsafe"
)

// TestDialRefusesBadConfig: what cannot be attempted is an error before any socket is
// opened, and the errors never quote the digits.
func TestDialRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  CallerConfig
		want string
	}{
		{"dtmf mode", CallerConfig{Target: "sip:1@127.0.0.1:9", DTMF: "tones"}, "rfc4733, inband or info"},
		{"digit script", CallerConfig{Target: "sip:1@127.0.0.1:9", Digits: "4242424242424242x"}, "character 17"},
		{"target", CallerConfig{Target: "not a uri"}, "target"},
		{"transport", CallerConfig{Target: "sip:1@127.0.0.1:9", Transport: "sctp"}, "udp, tcp or tls"},
		{"sips over udp", CallerConfig{Target: "sips:1@127.0.0.1:9", Transport: "udp"}, "sips: target is dialled over TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Dial(context.Background(), tc.cfg)
			if err == nil && res != nil {
				err = errors.New(res.Error)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "4242") {
				t.Fatalf("%v, want an error saying %q without the digits", err, tc.want)
			}
		})
	}
	_, err := Dial(context.Background(), CallerConfig{Target: "sip:1@127.0.0.1:9", From: "x\r\nX-Evil: 1"})
	if !errors.Is(err, sipsafe.ErrBadHeaderValue) {
		t.Fatalf("From with CRLF: %v, want sipsafe.ErrBadHeaderValue", err)
	}
}
