package pan

import (
	"strings"
	"testing"
)

// The redactor runs on every log attribute, every stored text and every live-feed event.
func BenchmarkRedact(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"no digits", "console: unauthorized request method=GET path=/api/calls remote=loopback"},
		{"clean log line", "call 3f2a9c0e41d84b7a9e0c1d2f answered from +441632960000 in 1500ms at 2026-11-22T10:00:00Z"},
		{"with a card", "provider said card 4242 4242 4242 4242 declined (HTTP 402), cvv 123"},
		{"4 KB clean", strings.Repeat("amount 1050 GBP attempt 2 of 3; ", 128)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.s)))
			b.ReportAllocs()
			for b.Loop() {
				_ = Redact(bc.s)
			}
		})
	}
}

func BenchmarkRedactJSON(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"clean event", `{"sessionId":"ps_3f2a9c0e","channel":"voice","connector":"sandbox","amountMinor":1050,"currency":"GBP","result":"success","maskedCard":"************4242","cardType":"visa","attempts":3}`},
		{"event with a card", `{"connectorError":"card 4242424242424242 declined","amountMinor":1050,"cvc":"123"}`},
		{"clean event with escapes", `{"message":"line one\nline two \u003c3","amountMinor":1050}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			raw := []byte(bc.s)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				_ = RedactJSON(raw)
			}
		})
	}
}
