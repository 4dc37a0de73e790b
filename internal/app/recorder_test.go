package app

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/store"
	"github.com/prometheus/client_golang/prometheus"
)

// published collects what the recorder shows live.
type published struct{ evs []event.Event }

func (p *published) Publish(e event.Event) { p.evs = append(p.evs, e) }

func newTestRecorder(t *testing.T, st *store.Store, tick time.Duration) (*eventRecorder, *published) {
	t.Helper()
	hub := &published{}
	r := newEventRecorder(st, hub, console.NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
	r.tick = tick
	return r, hub
}

// openRecorderStore opens a fresh store: SQLite, or PostgreSQL under a "postgres" subtest.
func openRecorderStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	target := filepath.Join(t.TempDir(), "paybridge.db")
	if strings.HasSuffix(t.Name(), "/postgres") {
		target = testDatabase(t)
	}
	st, err := store.Open(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, target
}

// bothDialects runs f on SQLite and on PostgreSQL.
func bothDialects(t *testing.T, f func(t *testing.T)) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, f)
	}
}

// payCallEvents is one card call's events as the engine emits them: the card (16 keys), the
// expiry (4) and the security code (3), each asked, keyed and entered — the security code's
// first attempt cut short with '*' after 2 keys and asked again —, the payment, the end.
func payCallEvents(call string, t0 time.Time) []event.Event {
	at := t0
	var evs []event.Event
	add := func(step string, d event.Data) {
		evs = append(evs, event.Event{Time: at, CallID: call, Step: step, Data: d})
		at = at.Add(150 * time.Millisecond)
	}
	add("", &event.CallStarted{Plan: "pay", From: "+447700900123", To: "+441632960208"})
	add("Pay", &event.StepEntered{Pos: "pay.xml:3:5"})
	entry := func(field string, attempt, keys int, interrupted bool) {
		add("Pay", &event.PayProgress{Phase: "ask", For: field, Attempt: attempt})
		at = at.Add(2 * time.Second)
		for i := 1; i <= keys; i++ {
			add("Pay", &event.PayProgress{Phase: "key", For: field, Attempt: attempt, Digits: i})
		}
		add("Pay", &event.PayProgress{Phase: "entered", For: field, Attempt: attempt, Digits: keys, Interrupted: interrupted})
	}
	entry("payment-card-number", 1, 16, false)
	entry("expiration-date", 1, 4, false)
	entry("security-code", 1, 2, true)
	entry("security-code", 2, 3, false)
	add("Pay", &event.PayCompleted{Payment: event.Payment{Result: event.ResultSuccess, Connector: "provider",
		AmountMinor: 500, Currency: "GBP", MaskedCard: "************4242", SessionID: "sess-" + call, Confirmation: "ch_1"}})
	add("Pay", &event.StepEnded{Outcome: "success", DurationMS: 9000})
	add("", &event.CallEnded{Result: "hangup", Steps: 1})
	return evs
}

// typedTimeline reads stored events back into typed events and folds them, as the console does.
func typedTimeline(t *testing.T, evs []store.EventRecord) []event.TimelineLine {
	t.Helper()
	typed := make([]event.Event, 0, len(evs))
	for _, e := range evs {
		d := event.New(e.Type)
		if len(e.Fields) > 0 {
			if err := json.Unmarshal(e.Fields, d); err != nil {
				t.Fatalf("stored %s: %v", e.Type, err)
			}
		}
		typed = append(typed, event.Event{Time: e.Time, Step: e.Step, Data: d})
	}
	return event.Timeline(typed)
}

// TestRecorderCoalescesKeypresses: a card call's 25 keypress events are stored as the first
// of each entry (4 rows instead of 25: each entry's "entered" carries its latest count),
// everything else as it came, and the
// readable timeline of what was stored is the timeline of every event emitted. The live feed
// still got every keypress.
func TestRecorderCoalescesKeypresses(t *testing.T) { bothDialects(t, testRecorderCoalescesKeypresses) }

func testRecorderCoalescesKeypresses(t *testing.T) {
	st, _ := openRecorderStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const call = "coalesce-1"
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	if err := st.CreateCall(ctx, store.Call{ID: call, State: store.CallAnswered, StartedAt: t0}); err != nil {
		t.Fatal(err)
	}
	r, hub := newTestRecorder(t, st, recordTick)
	r.start(ctx)
	emitted := payCallEvents(call, t0)
	for _, e := range emitted {
		r.Emit(e)
	}
	cancel()
	r.flush()

	_, stored, err := st.GetCall(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	var keys, want []string
	for _, e := range stored {
		if e.Type == "pay.progress" {
			var p event.PayProgress
			if err := json.Unmarshal(e.Fields, &p); err != nil {
				t.Fatal(err)
			}
			if p.Phase == "key" {
				keys = append(keys, p.For[:3]+"#"+string(rune('0'+p.Attempt))+":"+string(rune('0'+p.Digits%10)))
			}
		}
	}
	// Each entry ends with its "entered" at the count of its latest key: only the first keys.
	want = []string{"pay#1:1", "exp#1:1", "sec#1:1", "sec#2:1"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("stored keypresses %v, want %v", keys, want)
	}
	if n := len(emitted) - 25 + 4; len(stored) != n {
		t.Errorf("%d events stored, want %d (of %d emitted)", len(stored), n, len(emitted))
	}
	if len(hub.evs) != len(emitted) {
		t.Errorf("live feed got %d events, want all %d", len(hub.evs), len(emitted))
	}
	var all []store.EventRecord
	for _, e := range emitted {
		f, _ := e.Fields()
		all = append(all, store.EventRecord{Time: e.Time, Type: e.Type(), Step: e.Step, Fields: f})
	}
	got, full := typedTimeline(t, stored), typedTimeline(t, all)
	if !reflect.DeepEqual(got, full) {
		t.Errorf("timeline of what was stored:\n%v\nwant the timeline of every event:\n%v", got, full)
	}
	// Control: the timeline does time the entries from their first keys.
	if len(full) < 2 || !reflect.DeepEqual(full[1].Details[0], "card number: 16 digits in 2.4 s") {
		t.Errorf("control: the full timeline's Pay line is %v", full)
	}
	if p, _, err := st.GetPayment(context.Background(), "sess-"+call); err != nil || p.State != store.PaymentCompleted {
		t.Errorf("payment record = %+v, %v", p, err)
	}
}

// TestRecorderKeepsLatestKeyOfCutShortEntry: a call that hangs up in the middle of keying, one
// whose keys are still held when serve shuts down, and one whose entry ends at another count
// than its latest key's — the latest count is on the timeline of each, in order.
func TestRecorderKeepsLatestKeyOfCutShortEntry(t *testing.T) {
	bothDialects(t, testRecorderKeepsLatestKeyOfCutShortEntry)
}

func testRecorderKeepsLatestKeyOfCutShortEntry(t *testing.T) {
	st, _ := openRecorderStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Now().Add(-time.Minute)
	for _, id := range []string{"hung-up", "shutdown", "corrected"} {
		if err := st.CreateCall(ctx, store.Call{ID: id, State: store.CallAnswered, StartedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := newTestRecorder(t, st, recordTick)
	r.start(ctx)
	for _, id := range []string{"hung-up", "shutdown", "corrected"} {
		r.Emit(event.Event{Time: t0, CallID: id, Step: "Pay", Data: &event.PayProgress{Phase: "ask", For: "payment-card-number", Attempt: 1}})
		for i := 1; i <= 7; i++ {
			r.Emit(event.Event{Time: t0.Add(time.Duration(i) * time.Second), CallID: id, Step: "Pay",
				Data: &event.PayProgress{Phase: "key", For: "payment-card-number", Attempt: 1, Digits: i}})
		}
	}
	r.Emit(event.Event{Time: t0.Add(10 * time.Second), CallID: "hung-up", Data: &event.CallEnded{Result: "caller-hung-up"}})
	// An entry that ends at another count than its latest key's keeps the latest key.
	r.Emit(event.Event{Time: t0.Add(10 * time.Second), CallID: "corrected", Step: "Pay",
		Data: &event.PayProgress{Phase: "entered", For: "payment-card-number", Attempt: 1, Digits: 6}})
	cancel()
	r.flush()
	for id, want := range map[string][]string{
		"hung-up":   {"ask/0", "key/1", "key/7", "call.ended"},
		"shutdown":  {"ask/0", "key/1", "key/7"},
		"corrected": {"ask/0", "key/1", "key/7", "entered/6"},
	} {
		_, stored, err := st.GetCall(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range stored {
			if e.Type != "pay.progress" {
				got = append(got, e.Type)
				continue
			}
			var p event.PayProgress
			_ = json.Unmarshal(e.Fields, &p)
			got = append(got, p.Phase+"/"+string(rune('0'+p.Digits)))
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("call %s stored %v, want %v", id, got, want)
		}
	}
}

// TestDurableWriteNotBehindRecorderBatch: the recorder's batch may wait a whole tick before it
// is written (here an hour), but a write the product acts on — the payment attempt written
// before the provider is called — never waits for it: it is committed, and readable by another
// process, when BeginAttempt returns, while the timeline events emitted before it are still
// in the recorder's batch.
func TestDurableWriteNotBehindRecorderBatch(t *testing.T) {
	bothDialects(t, testDurableWriteNotBehindRecorderBatch)
}

func testDurableWriteNotBehindRecorderBatch(t *testing.T) {
	st, path := openRecorderStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const call = "durable-1"
	if err := st.CreateCall(ctx, store.Call{ID: call, State: store.CallAnswered}); err != nil {
		t.Fatal(err)
	}
	r, _ := newTestRecorder(t, st, time.Hour)
	r.start(ctx)
	for i := range 50 {
		r.Emit(event.Event{CallID: call, Step: "Pay", Data: &event.PayProgress{Phase: "entered", For: "payment-card-number", Attempt: i + 1}})
	}
	// The batch is held: give the recorder time to take its first event (the others wait in
	// the queue for the tick).
	deadline := time.Now().Add(30 * time.Second)
	for len(r.queue) == 50 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	bctx, bcancel := context.WithTimeout(ctx, 30*time.Second)
	defer bcancel()
	_, err := gatewayStore{s: st}.BeginAttempt(bctx, &gateway.Attempt{Key: "idem-durable-1", CallID: call, SessionID: "sess-durable-1",
		Connector: "provider", Channel: "voice", AmountMinor: 500, Currency: "GBP"})
	if err != nil {
		t.Fatalf("BeginAttempt while a recorder batch is held: %v", err)
	}
	other, err := store.Open(context.Background(), path) // another process's view of the data
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if a, err := other.GetAttempt(context.Background(), "idem-durable-1"); err != nil || a.Status != store.AttemptPending {
		t.Fatalf("attempt not committed when BeginAttempt returned: %+v, %v", a, err)
	}
	// Control: the events emitted before the attempt are still in the held batch.
	if _, evs, err := other.GetCall(context.Background(), call); err != nil || len(evs) != 0 {
		t.Fatalf("control: %d events already stored (%v): the batch was not held", len(evs), err)
	}
	cancel()
	r.flush()
	if _, evs, err := other.GetCall(context.Background(), call); err != nil || len(evs) != 50 {
		t.Fatalf("after the flush: %d events stored (%v), want 50", len(evs), err)
	}
}

// TestRecorderWrittenIsABarrier: Written returns once every event emitted before it is in the
// store, without waiting for the batch's tick (an hour here), so the end of a call, recorded
// after it, never shows a timeline without its last events (seen: an agent call read as
// ended whose call.unbridged was still waiting for its batch).
func TestRecorderWrittenIsABarrier(t *testing.T) {
	st, _ := openRecorderStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const call = "barrier-1"
	t0 := time.Now().Truncate(time.Millisecond)
	if err := st.CreateCall(ctx, store.Call{ID: call, State: store.CallAnswered, StartedAt: t0}); err != nil {
		t.Fatal(err)
	}
	r, _ := newTestRecorder(t, st, time.Hour)
	r.start(ctx)
	r.Emit(event.Event{Time: t0, CallID: call, Step: "Dial", Data: &event.Unbridged{By: "agent"}})
	r.Emit(event.Event{Time: t0, CallID: call, Data: &event.CallEnded{Result: "hangup"}})
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := r.Written(wctx); err != nil {
		t.Fatalf("Written: %v", err)
	}
	_, stored, err := st.GetCall(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range stored {
		types = append(types, e.Type)
	}
	if want := []string{"call.unbridged", "call.ended"}; !reflect.DeepEqual(types, want) {
		t.Fatalf("after Written the store holds %q, want %q", types, want)
	}
	// The writer goes on after a mark: the next event is written as usual.
	r.Emit(event.Event{Time: t0, CallID: call, Data: &event.CallEnded{Result: "again"}})
	if err := r.Written(wctx); err != nil {
		t.Fatalf("second Written: %v", err)
	}
	if _, stored, _ = st.GetCall(ctx, call); len(stored) != 3 {
		t.Fatalf("after a second Written the store holds %d events, want 3", len(stored))
	}
}

// TestRecorderFullBatchDoesNotWait: the writer sleeps for its tick (an hour here) while a
// batch's events queue up, but a full batch's worth queued is written at once — under a
// backlog nothing waits for the tick.
func TestRecorderFullBatchDoesNotWait(t *testing.T) {
	st, _ := openRecorderStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const call = "backlog-1"
	if err := st.CreateCall(ctx, store.Call{ID: call, State: store.CallAnswered}); err != nil {
		t.Fatal(err)
	}
	r, _ := newTestRecorder(t, st, time.Hour)
	r.start(ctx)
	for i := range recordBatch + 10 {
		r.Emit(event.Event{CallID: call, Step: "Pay", Data: &event.PayProgress{Phase: "entered", For: "payment-card-number", Attempt: i + 1}})
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, evs, err := st.GetCall(ctx, call)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) >= recordBatch {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events stored after 30 s of a one-hour tick, want a full batch (%d) at once", len(evs), recordBatch)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRecorderTickIsOneCommit: a tick's timeline rows and the payment records its events
// derive are written as writes of their own that share one commit (SQLite), each record as
// stored — and a record the store refuses (an unmasked card) costs the others nothing.
func TestRecorderTickIsOneCommit(t *testing.T) {
	st, _ := openRecorderStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	r, _ := newTestRecorder(t, st, time.Hour) // one batch: ended by the Written mark
	r.webhooks = gateway.NewWebhooks(gateway.WebhooksConfig{Store: gatewayStore{s: st, node: "n1", owner: "n1", allNodes: true}})
	calls := []string{"tick-1", "tick-2", "tick-bad"}
	for _, id := range calls {
		if err := st.CreateCall(ctx, store.Call{ID: id, State: store.CallAnswered, StartedAt: t0}); err != nil {
			t.Fatal(err)
		}
		for _, e := range payCallEvents(id, t0) {
			if pc, ok := e.Data.(*event.PayCompleted); ok && id == "tick-bad" {
				pc.MaskedCard = "4242424242424242" // not a mask: the store refuses the record
			}
			r.Emit(e)
		}
	}
	before := st.WriteStats()
	r.start(ctx)
	if err := r.Written(ctx); err != nil {
		t.Fatal(err)
	}
	after := st.WriteStats()
	if w, c := after.Writes-before.Writes, after.Commits-before.Commits; w != 3 || c != 1 {
		t.Errorf("%d writes in %d commits, want 3 (the rows, two records) in 1", w, c)
	}
	for _, id := range calls[:2] {
		p, _, err := st.GetPayment(ctx, "sess-"+id)
		if err != nil || p.State != store.PaymentCompleted || p.MaskedCard != "************4242" || p.CallID != id {
			t.Errorf("%s: payment record = %+v, %v", id, p, err)
		}
	}
	if _, _, err := st.GetPayment(ctx, "sess-tick-bad"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the unmasked card's record: %v, want none", err)
	}
	for _, id := range calls {
		if _, tl, err := st.GetCall(ctx, id); err != nil || len(tl) != 17 {
			t.Errorf("%s: %d timeline rows, %v; want 17", id, len(tl), err)
		}
	}
}
