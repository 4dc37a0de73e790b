package engine

import (
	"context"
	"testing"
	"time"

	"github.com/paybridge/paybridge/dtmf"
)

// TestKeyTimeoutReused: on the wall clock nextKey re-arms one timer per run and allocates
// nothing per key; a timeout still ends a wait, and a timer that fired while nobody waited
// (a key came first) never ends a later wait early.
func TestKeyTimeoutReused(t *testing.T) {
	digits := make(chan dtmf.Event, 4)
	r := &run{clock: WallClock{}, digits: digits, done: make(chan struct{})}
	ctx := context.Background()

	if _, ok, err := r.nextKey(ctx, 20*time.Millisecond); ok || err != nil {
		t.Fatalf("no key within 20 ms: ok %v err %v, want a timeout", ok, err)
	}
	digits <- dtmf.Event{Digit: dtmf.Digit('5')}
	if d, ok, err := r.nextKey(ctx, 30*time.Millisecond); !ok || err != nil || d != dtmf.Digit('5') {
		t.Fatalf("waiting key: %v %v %v", d, ok, err)
	}
	time.Sleep(60 * time.Millisecond) // the 30 ms timer fires with nobody reading it
	go func() {
		time.Sleep(100 * time.Millisecond)
		digits <- dtmf.Event{Digit: dtmf.Digit('7')}
	}()
	start := time.Now()
	d, ok, err := r.nextKey(ctx, time.Minute)
	if !ok || err != nil || d != dtmf.Digit('7') {
		t.Fatalf("after a stale fire: key %v ok %v err %v (after %v), want '7'", d, ok, err, time.Since(start))
	}

	allocs := testing.AllocsPerRun(100, func() {
		digits <- dtmf.Event{Digit: dtmf.Digit('1')}
		if _, ok, _ := r.nextKey(ctx, time.Minute); !ok {
			t.Fatal("no key")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per key, want 0", allocs)
	}
}

// BenchmarkNextKey is one key taken by nextKey on the wall clock with the key already there
// (the timeout armed, the key read, as a Pay field's keys are).
func BenchmarkNextKey(b *testing.B) {
	digits := make(chan dtmf.Event, 1)
	r := &run{clock: WallClock{}, digits: digits, done: make(chan struct{})}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		digits <- dtmf.Event{Digit: dtmf.Digit('1')}
		if _, ok, _ := r.nextKey(ctx, 10*time.Second); !ok {
			b.Fatal("no key")
		}
	}
}
