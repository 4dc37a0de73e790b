package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/store"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkEmitKeypress is the cost to the call of one keypress event (a Pay entry emits one per
// key: 23 of a card call's ~42 events): the recorder's Emit through the live feed (one node,
// SQLite) to the console hub, with no console watching and with one. The recorder's queue is
// drained by a goroutine that drops the events (the store's writes are not the call's cost).
func BenchmarkEmitKeypress(b *testing.B) {
	for _, watchers := range []int{0, 1} {
		b.Run(fmt.Sprintf("watchers=%d", watchers), func(b *testing.B) {
			st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "paybridge.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			hub := console.NewHubSize(1 << 16)
			for range watchers {
				s, _ := hub.Subscribe()
				go func() {
					for range s.C() {
					}
				}()
				defer s.Close()
			}
			live := newLiveFeed("n1", hub, st, slog.New(slog.DiscardHandler))
			r := newEventRecorder(st, live, console.NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
			done := make(chan struct{})
			defer close(done)
			go func() {
				for {
					select {
					case <-r.queue:
					case <-done:
						return
					}
				}
			}()
			r.Emit(event.Event{CallID: "call-1", Data: &event.CallStarted{Plan: "pay"}})
			e := event.Event{Time: time.Now(), CallID: "call-1", Step: "Pay",
				Data: &event.PayProgress{Phase: "key", For: "payment-card-number", Attempt: 1, Digits: 7}}
			b.ReportAllocs()
			for b.Loop() {
				r.Emit(e)
			}
		})
	}
}

// BenchmarkRecorderCall is the store's cost of one card call in serve, measured as CPU time
// (getrusage: the recorder, the store's Go side and SQLite together) per call. 64 calls run at
// once, as goroutines: each creates its call answered, makes the payment's two durable writes
// (the attempt before the provider is called, its answer) and emits the events of a card call
// (payCallEvents: 38 events, 17 of them stored) one every 50 ms through the running recorder —
// its real 50 ms tick, so ~30 calls a second give batches of the size serve's 1,000 calls do —,
// then waits for its events to be written (Written) and ends the call, as runCall does. Call ids
// are random, as serve's (benchCallID). The
// recorder has a webhook dispatcher with no endpoint, as serve without webhooks configured.
// It reports CPU-µs per call, the store's writes and commits per call, and the mean timeline
// rows a batch.
//
//	go test -run '^$' -bench BenchmarkRecorderCall -benchtime 300x ./internal/app/
func BenchmarkRecorderCall(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "paybridge.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	hub := console.NewHubSize(1 << 16)
	live := newLiveFeed("n1", hub, st, slog.New(slog.DiscardHandler))
	r := newEventRecorder(st, live, console.NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
	r.webhooks = gateway.NewWebhooks(gateway.WebhooksConfig{Store: gatewayStore{s: st, node: "n1", owner: "n1", allNodes: true}})
	rctx, stop := context.WithCancel(ctx)
	r.start(rctx)
	defer func() { stop(); r.flush() }()
	const concurrent, gap = 64, 50 * time.Millisecond
	var next atomic.Int64
	var wg sync.WaitGroup
	before := st.WriteStats()
	self := processCPU()
	b.ReportAllocs()
	b.ResetTimer()
	for range concurrent {
		wg.Go(func() {
			for i := int(next.Add(1)); i <= b.N; i = int(next.Add(1)) {
				id := benchCallID()
				if err := st.CreateCall(ctx, store.Call{ID: id, From: "+447700900123", To: "+441632960208", Plan: "pay",
					State: store.CallAnswered, AnsweredAt: time.Now()}); err != nil {
					b.Error(err)
					return
				}
				for _, e := range payCallEvents(id, time.Now()) {
					if _, ok := e.Data.(*event.PayCompleted); ok {
						key := "idem-" + id
						if err := st.CreateAttempt(ctx, store.Attempt{IdempotencyKey: key, SessionID: "sess-" + id, CallID: id,
							Connector: "provider", Channel: "voice", AmountMinor: 500, Currency: "GBP", Reference: "load"}); err != nil {
							b.Error(err)
							return
						}
						if err := st.CompleteAttempt(ctx, key, store.AttemptResult{Result: "approved", ProviderStatus: 201, Confirmation: "ch_1"}); err != nil {
							b.Error(err)
							return
						}
					}
					e.Time = time.Now()
					r.Emit(e)
					time.Sleep(gap)
				}
				if err := r.Written(ctx); err != nil {
					b.Error(err)
				}
				if err := st.EndCall(ctx, id, "hangup", time.Now()); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	n := float64(b.N)
	ws := st.WriteStats()
	b.ReportMetric(float64(processCPU()-self)/float64(time.Microsecond)/n, "cpu-µs/call")
	b.ReportMetric(float64(ws.Writes-before.Writes)/n, "writes/call")
	b.ReportMetric(float64(ws.Commits-before.Commits)/n, "commits/call")
}

// benchCallID is a call id as serve makes them (ivr: 12 random bytes in hex): the calls in
// progress are spread over the timeline's (call_id, seq) index as in serve, not neighbours.
func benchCallID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// processCPU is this process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
