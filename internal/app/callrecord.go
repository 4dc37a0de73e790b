package app

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paybridge/paybridge/console"
)

// A call's own record writes — its row at the answer; after the hang-up its media figures
// (foreign datagrams, the kernel's drops, SRTP failures), the wait for its last events and its
// end — run in order off the call's path (a callRecord). The call waits for them only so long.
//
//   - At the answer, callStartWait for its row; past that serve logs a warning, counts
//     paybridge_call_record_writes_late_total{write="start"}, and the plan waits on — its
//     events need the row (call_events references calls; a refused event would take its
//     batch, other calls' events included, with it) — until the row is written (the plan
//     starts late), the caller hangs up, or callRowWait has passed: then the call ends
//     without its plan, the cause saying why.
//   - After the hang-up, callEndWait for its end; past that the warning, the count
//     ({write="end"}), and the handler returns.
//
// Nothing is dropped: the writes stay queued in order with no deadline of their own (a store
// write whose context ends while it is still queued is skipped, so they are given none) and
// land when the store answers again; one that fails is logged and counted in
// paybridge_call_record_write_errors_total{write}. At shutdown the node waits up to
// recordDrainWait for the writes still queued, before the store closes, and logs how many did
// not make it. Before, a stalled store (a disk stalled in fsync, a database holding its locks)
// held the call silent before its plan and its handler after the hang-up for as long as the
// stall lasted — "media from a foreign address dropped" the last line of a call whose end
// never came.
const (
	callStartWait   = 3 * time.Second
	callRowWait     = 30 * time.Second
	callEndWait     = 10 * time.Second
	recordDrainWait = 10 * time.Second
)

// callRecord runs one call's record writes in order, on a goroutine it starts when a write
// is queued and that ends when the queue is empty: between the answer and the hang-up a call
// has no goroutine for its record (goroutine stacks are most of a call's memory, docs/sip.md).
type callRecord struct {
	log     *slog.Logger
	metrics *console.Metrics
	wg      *sync.WaitGroup
	pending *atomic.Int64

	mu      sync.Mutex
	queue   []recordOp
	running bool // a goroutine is running the queue
}

type recordOp struct {
	recordWrite
	what string // the log message when it fails
	fn   func(context.Context) error
}

// recordWrite is a queued write of a call's record: done closes when it has returned.
type recordWrite struct {
	write console.CallRecordWrite // the metrics' label; "" for a step that is no write (it never fails)
	done  chan struct{}
}

// newCallRecord makes a call's record writer; wg and pending count its writes until they
// have returned.
func newCallRecord(log *slog.Logger, m *console.Metrics, wg *sync.WaitGroup, pending *atomic.Int64) *callRecord {
	return &callRecord{log: log, metrics: m, wg: wg, pending: pending}
}

// do queues a write behind the call's earlier ones.
func (r *callRecord) do(write console.CallRecordWrite, what string, fn func(context.Context) error) recordWrite {
	op := recordOp{recordWrite: recordWrite{write: write, done: make(chan struct{})}, what: what, fn: fn}
	r.pending.Add(1)
	r.mu.Lock()
	r.queue = append(r.queue, op)
	start := !r.running
	r.running = true
	r.mu.Unlock()
	if start {
		r.wg.Add(1)
		go r.run()
	}
	return op.recordWrite
}

// run runs the queued writes in order until the queue is empty.
func (r *callRecord) run() {
	defer r.wg.Done()
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		op := r.queue[0]
		r.queue[0] = recordOp{}
		r.queue = r.queue[1:]
		r.mu.Unlock()
		if err := op.fn(context.Background()); err != nil {
			r.log.Error(op.what, "err", err)
			if op.write != "" {
				r.metrics.CallRecordWriteFailed(op.write)
			}
		}
		r.pending.Add(-1)
		close(op.done)
	}
}

// wait waits up to d for a write (and so for every write queued before it); false, logged and
// counted, when the store has not answered by then.
func (r *callRecord) wait(w recordWrite, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.done:
		return true
	case <-t.C:
	}
	r.log.Warn("the store has not recorded the call's "+string(w.write)+" in time: the call goes on, the record follows in order when the store answers",
		"waited", d)
	r.metrics.CallRecordWriteLate(w.write)
	return false
}

// drainRecords waits up to d for the calls' queued record writes (shutdown, before the store
// closes); it logs what is left.
func (a *App) drainRecords(d time.Duration) {
	done := make(chan struct{})
	go func() { a.recordWrites.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		a.log.Error("calls' record writes are still waiting on the store at shutdown: they are lost when it closes",
			"writes", a.recordsPending.Load(), "waited", d)
	}
}
