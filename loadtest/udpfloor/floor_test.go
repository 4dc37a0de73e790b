package udpfloor

import (
	"testing"
	"time"
)

// BenchmarkLoopbackUDP reports the CPU of one send+receive pair and the floor of a media call
// in CPU-ms per call-second (make bench, make loadtest).
func BenchmarkLoopbackUDP(b *testing.B) {
	for _, m := range []struct {
		name string
		f    func(int) (Result, error)
	}{{"tight", Tight}, {"wakeup", Wakeup}} {
		b.Run(m.name, func(b *testing.B) {
			r, err := m.f(max(b.N, 2))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(r.PairCPU())/1e3, "cpu-µs/pair")
			b.ReportMetric(r.PerCallSecond(), "cpu-ms/call-s")
		})
	}
}

// TestFloorMeasuresSomething: a run moves every packet and costs CPU; the conversion to
// call-seconds is 50 pairs.
func TestFloorMeasuresSomething(t *testing.T) {
	for _, f := range []func(int) (Result, error){Tight, Wakeup} {
		r, err := f(2000)
		if err != nil {
			t.Fatal(err)
		}
		if r.Packets != 2000 || r.CPU <= 0 {
			t.Fatalf("%s: %+v", r.Mode, r)
		}
	}
	r := Result{Packets: 1000, CPU: 5 * time.Millisecond}
	if got := r.PerCallSecond(); got != 0.25 {
		t.Fatalf("5 µs a pair should be 0.25 CPU-ms per call-second, got %v", got)
	}
}
