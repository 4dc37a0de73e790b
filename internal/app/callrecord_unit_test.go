package app

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/internal/testlog"
	"github.com/paybridge/paybridge/media"
	"github.com/paybridge/paybridge/store"
	"github.com/prometheus/client_golang/prometheus"
)

// TestCallRecordKeepsOrderPastAStall: writes queued behind a stalled one wait for it and run
// in the order they were queued; the caller's bounded wait gives up (logged, counted) while
// they are stalled; a failing write is logged and counted and does not stop the ones after.
func TestCallRecordKeepsOrderPastAStall(t *testing.T) {
	logs := &testlog.Buffer{}
	reg := prometheus.NewRegistry()
	m := console.NewMetrics(reg)
	var wg sync.WaitGroup
	var pending atomic.Int64
	r := newCallRecord(slog.New(slog.NewTextHandler(logs, nil)), m, &wg, &pending)

	gate := make(chan struct{})
	var mu sync.Mutex
	var order []string
	note := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	first := r.do("start", "recording call", func(context.Context) error { <-gate; note("start"); return nil })
	if r.wait(first, 50*time.Millisecond) {
		t.Fatal("wait returned true on a stalled write")
	}
	r.do("rtp-foreign", "recording foreign RTP", func(context.Context) error { note("rtp-foreign"); return errors.New("disk full") })
	last := r.do("end", "recording hang-up", func(context.Context) error { note("end"); return nil })
	select {
	case <-last.done:
		t.Fatal("a write ran ahead of the stalled one")
	case <-time.After(50 * time.Millisecond):
	}
	if n := pending.Load(); n != 3 {
		t.Errorf("pending = %d, want 3", n)
	}
	close(gate)
	if !r.wait(last, time.Minute) {
		t.Fatal("the last write did not return once the stall ended")
	}
	wg.Wait()
	if got := strings.Join(order, ","); got != "start,rtp-foreign,end" {
		t.Errorf("order = %s", got)
	}
	if n := pending.Load(); n != 0 {
		t.Errorf("pending = %d after all returned", n)
	}
	if got := counterValue(t, reg, "paybridge_call_record_writes_late_total", "start"); got != 1 {
		t.Errorf("late start writes = %v, want 1", got)
	}
	if got := counterValue(t, reg, "paybridge_call_record_write_errors_total", "rtp-foreign"); got != 1 {
		t.Errorf("failed rtp-foreign writes = %v, want 1", got)
	}
	for _, want := range []string{"the store has not recorded the call's start in time", "recording foreign RTP", "disk full"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	// The queue's goroutine ended with the queue: a call has none between its writes.
	r.mu.Lock()
	running := r.running
	r.mu.Unlock()
	if running {
		t.Error("the record's goroutine is still running with an empty queue")
	}
}

// TestDrainRecordsReportsWhatTheStoreHolds: at shutdown the node waits a bounded time for the
// calls' queued writes and says how many are still waiting on the store.
func TestDrainRecordsReportsWhatTheStoreHolds(t *testing.T) {
	logs := &testlog.Buffer{}
	a := &App{log: slog.New(slog.NewTextHandler(logs, nil))}
	r := newCallRecord(a.log, nil, &a.recordWrites, &a.recordsPending)
	gate := make(chan struct{})
	defer close(gate)
	r.do("end", "recording hang-up", func(context.Context) error { <-gate; return nil })
	r.do("end", "recording hang-up", func(context.Context) error { return nil })
	a.drainRecords(50 * time.Millisecond)
	if !strings.Contains(logs.String(), "still waiting on the store at shutdown") || !strings.Contains(logs.String(), "writes=2") {
		t.Errorf("drain logged:\n%s", logs)
	}
}

// counterValue reads one series of a counter with one label from reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name, labelValue string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if ls := m.GetLabel(); len(ls) == 1 && ls[0].GetValue() == labelValue {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no %s{%s}", name, labelValue)
	return 0
}

// BenchmarkCallRecord is what running a call's record writes off its path costs per call,
// the writes themselves aside: its row queued and waited for, then five writes after the
// hang-up (three media figures, the events, the end) with a wait for the last.
func BenchmarkCallRecord(b *testing.B) {
	log := slog.New(slog.DiscardHandler)
	var wg sync.WaitGroup
	var pending atomic.Int64
	nop := func(context.Context) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		r := newCallRecord(log, nil, &wg, &pending)
		r.wait(r.do("start", "", nop), time.Minute)
		r.do("rtp-foreign", "", nop)
		r.do("socket-drops", "", nop)
		r.do("srtp-auth", "", nop)
		r.do("", "", nop)
		r.wait(r.do("end", "", nop), time.Minute)
	}
	wg.Wait()
}

// failingRecords is a store whose call record writes all fail, once gate is closed.
type failingRecords struct{ gate chan struct{} }

var errDiskFull = errors.New("disk full")

func (f failingRecords) fail() error                                  { <-f.gate; return errDiskFull }
func (f failingRecords) CreateCall(context.Context, store.Call) error { return f.fail() }
func (f failingRecords) SetCallRTPForeign(context.Context, string, int64) error {
	return f.fail()
}
func (f failingRecords) SetCallSocketDrops(context.Context, string, int64) error {
	return f.fail()
}
func (f failingRecords) SetCallSRTPAuthFailed(context.Context, string, int64) error {
	return f.fail()
}
func (f failingRecords) EndCall(context.Context, string, string, time.Time) error { return f.fail() }

// TestCallRecordLabelsAreClosedSets: the call record metrics exist from the start at 0 for
// every value of console.CallRecordWrites and CallRecordWaits, and every write a call makes
// (all of them: a call with every media figure) counts, when it fails or is late, under a value
// of those sets — each value moves, no other series appears.
func TestCallRecordLabelsAreClosedSets(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := console.NewMetrics(reg)
	series := func(name string) map[string]float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, s := range mf.GetMetric() {
				out[s.GetLabel()[0].GetValue()] = s.GetCounter().GetValue()
			}
		}
		return out
	}
	check := func(name string, set []console.CallRecordWrite, want float64) {
		t.Helper()
		got := series(name)
		for _, w := range set {
			if v, ok := got[string(w)]; !ok || v != want {
				t.Errorf("%s{write=%q} = %v (present %v), want %v", name, w, v, ok, want)
			}
		}
		if len(got) != len(set) {
			t.Errorf("%s has series %v, the set is %v", name, got, set)
		}
	}
	check("paybridge_call_record_write_errors_total", console.CallRecordWrites, 0)
	check("paybridge_call_record_writes_late_total", console.CallRecordWaits, 0)

	gate := make(chan struct{})
	a := &App{log: slog.New(slog.DiscardHandler), metrics: m, records: failingRecords{gate: gate}, recorder: &eventRecorder{}}
	rec := newCallRecord(a.log, m, &a.recordWrites, &a.recordsPending)
	if rec.wait(a.recordStart(rec, store.Call{ID: "c1"}), time.Millisecond) {
		t.Fatal("the stalled start write returned")
	}
	end := a.recordEnd(rec, a.log, store.Call{ID: "c1"}, media.Stats{Foreign: 1, SocketDrops: 1, SRTPAuthFailed: 1}, "caller-hangup", time.Now())
	if rec.wait(end, time.Millisecond) {
		t.Fatal("the stalled end write returned")
	}
	close(gate)
	a.recordWrites.Wait()
	check("paybridge_call_record_write_errors_total", console.CallRecordWrites, 1)
	check("paybridge_call_record_writes_late_total", console.CallRecordWaits, 1)
}
