package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/event"
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
