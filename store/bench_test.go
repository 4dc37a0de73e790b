package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkCallWrite is one call's typical write set: create, answer, four timeline events,
// end. Each write is its own fsynced transaction (synchronous=FULL), so this is disk-bound.
func BenchmarkCallWrite(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var n atomic.Int64
	b.SetParallelism(16) // 16×GOMAXPROCS concurrent calls, as on a busy node
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("b-%d", n.Add(1))
			if err := s.CreateCall(ctx, Call{ID: id, From: "+447700900001", To: "+441632960208", Plan: "pay"}); err != nil {
				b.Fatal(err)
			}
			_ = s.MarkAnswered(ctx, id, time.Time{})
			for _, ty := range []string{"step", "pay.progress", "pay.completed", "step"} {
				if err := s.AppendEvent(ctx, id, EventRecord{Type: ty, Step: "Pay", Fields: jsonFields(map[string]any{"digits": 16})}); err != nil {
					b.Fatal(err)
				}
			}
			_ = s.EndCall(ctx, id, "plan-hangup", time.Time{})
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkListCalls is the console's first page over 5000 calls.
func BenchmarkListCalls(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	t0 := time.Now().Add(-time.Hour)
	for i := 0; i < 5000; i++ {
		if err := s.CreateCall(ctx, Call{ID: fmt.Sprintf("c%05d", i), Plan: []string{"a", "b"}[i%2], StartedAt: t0.Add(time.Duration(i) * time.Millisecond)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if cs, err := s.ListCalls(ctx, CallFilter{Plan: "a", Limit: 50}); err != nil || len(cs) != 50 {
				b.Fatal(len(cs), err)
			}
		}
	})
}

// BenchmarkPaymentWrite is one voice payment's writes: the pending attempt (written
// before the provider is called), its completion and the masked session summary.
func BenchmarkPaymentWrite(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var n atomic.Int64
	b.SetParallelism(16) // 16×GOMAXPROCS concurrent calls, as on a busy node
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("p-%d", n.Add(1))
			if err := s.CreateAttempt(ctx, Attempt{IdempotencyKey: id, SessionID: id, Connector: "sandbox", AmountMinor: 1234, Currency: "GBP"}); err != nil {
				b.Fatal(err)
			}
			if err := s.CompleteAttempt(ctx, id, AttemptResult{Result: "approved", ProviderStatus: 201, Confirmation: "ch_" + id}); err != nil {
				b.Fatal(err)
			}
			if err := s.UpsertPaymentSession(ctx, PaymentSession{ID: id, Connector: "sandbox", AmountMinor: 1234, Currency: "GBP",
				State: "completed", Result: "success", MaskedCard: "************4242", CardType: "visa", Confirmation: "ch_" + id}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payments/s")
}
