package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"
	"time"
)

// BenchmarkLastEvents is the first statement of every timeline batch: the last number of each
// call the batch has events for (lastEvents, timeline.go), on both dialects. 1,000 calls are in
// progress, with random ids as serve's (ivr: 12 random bytes in hex) and 12 events each; an
// operation asks for 60 of them (a 50 ms tick at 1,000 calls), all inside one write, so only
// the statement is measured (on PostgreSQL with its row locks). It reports the CPU per
// operation: this process's (the store's Go side and, on SQLite, the database engine) and on
// PostgreSQL also the server's.
//
//	go test -run '^$' -bench BenchmarkLastEvents -benchtime 2000x ./store/
func BenchmarkLastEvents(b *testing.B) {
	for _, d := range []string{"sqlite", "postgres"} {
		b.Run(d, benchLastEvents)
	}
}

func benchLastEvents(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	const calls, events, perTick = 1000, 12, 60
	ids := make([]string, calls)
	for i := range ids {
		var r [12]byte
		rand.Read(r[:])
		ids[i] = hex.EncodeToString(r[:])
		if err := s.CreateCall(ctx, Call{ID: ids[i], State: CallAnswered, From: "+447700900001", To: "+441632960208", Plan: "pay"}); err != nil {
			b.Fatal(err)
		}
	}
	fields := jsonFields(map[string]any{"phase": "key", "for": "payment-card-number", "attempt": 1, "digits": 7})
	for range events {
		evs := make([]CallEvent, 0, calls)
		for _, id := range ids {
			evs = append(evs, CallEvent{CallID: id, EventRecord: EventRecord{Type: "pay.progress", Step: "Pay", Fields: fields}})
		}
		if err := s.AppendEvents(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	ticks := make([][]string, 64)
	for i := range ticks {
		t := make([]string, 0, perTick)
		for j := range perTick {
			t = append(t, ids[(i*perTick+j*17)%calls])
		}
		slices.Sort(t)
		ticks[i] = slices.Compact(t)
	}
	var self, server time.Duration
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		server = pgServerCPU(onPostgres(b))
		self = processCPU()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			t := ticks[i%len(ticks)]
			next, err := lastEvents(ctx, tx, t)
			if err != nil {
				return err
			}
			if len(next) != len(t) || next[t[0]] != events {
				b.Fatalf("lastEvents = %d calls, %s at %d; want %d calls at %d", len(next), t[0], next[t[0]], len(t), events)
			}
		}
		b.StopTimer()
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	n := float64(b.N)
	b.ReportMetric(float64(processCPU()-self)/float64(time.Microsecond)/n, "cpu-µs/op")
	if onPostgres(b) {
		b.ReportMetric(float64(pgServerCPU(true)-server)/float64(time.Microsecond)/n, "server-cpu-µs/op")
	}
}
