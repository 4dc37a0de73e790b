package console

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkDigitMetric is the dtmf_digits_total update serve makes per keypress.
//
//	go test ./console -run '^$' -bench DigitMetric -benchmem
func BenchmarkDigitMetric(b *testing.B) {
	m := NewMetrics(prometheus.NewRegistry())
	b.ReportAllocs()
	for b.Loop() {
		m.Digit("rfc4733")
	}
}
