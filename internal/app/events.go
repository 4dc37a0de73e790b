package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/store"
)

// eventRecorder is the one sink of every masked event a node produces (engine, connectors,
// payment links). It publishes each event to the live feed at once, and writes it to the store
// from one goroutine in order, deriving the payment records (sessions, webhooks) from it. The
// engine never waits for the database unless a backlog of recordQueue events has built up.
type eventRecorder struct {
	store    *store.Store
	hub      publisher
	metrics  *console.Metrics
	webhooks *gateway.Webhooks
	log      *slog.Logger
	queue    chan event.Event
	wake     chan struct{} // a batch should not wait for its tick: a Written mark, or a full batch queued
	marks    atomic.Int32  // Written marks queued and not yet written

	mu       sync.Mutex
	payCount map[string]int       // call → payments recorded without a provider session
	calls    map[string]callFacts // calls in progress: what the metrics need of them

	// Owned by the goroutine that writes (run, then flush).
	tick    time.Duration          // how long the first event of a batch waits for others (recordTick)
	keys    map[string]*keyRun     // call → the run of keypresses of the entry it is in
	rows    []store.CallEvent      // the batch's timeline rows being built
	pays    []store.PaymentSession // the batch's payment records being built
	started bool                   // run was started: flush waits for it to stop
	stopped chan struct{}          // closed when run returns
}

// keyRun is a Pay entry's keypresses so far (pay.progress "key" events of one field and
// attempt): the first is written, the later ones only hold the latest until the entry's next
// event.
type keyRun struct {
	field   string
	attempt int
	latest  *event.Event // not yet written; nil when the last key written is the latest
}

// callFacts is what the recorder remembers of a call in progress for its metrics.
type callFacts struct {
	plan    string
	started time.Time
}

const recordQueue = 1 << 16

// The recorder writes in batches: the events that arrive within recordTick of the first one
// waiting (at most recordBatch) share one store transaction — at 1,500 calls of ~23 stored
// events each that is one commit for ~50 events instead of 50. An event reaches the database
// at most recordTick after it was emitted, plus the commit's own time (under a backlog, the
// batch fills up and goes at once). Nothing waits for that: the live feed has the event at
// once, and what must be durable before the product acts is not an event — payment attempts
// and ledger operations are written by their callers and committed before they return.
const (
	recordTick  = 50 * time.Millisecond
	recordBatch = 512
)

// written marks a place in the recorder's queue; it is not an event of a call. The writer
// closes it once every event queued before it is in the store.
type written chan struct{}

func (written) Type() string { return "" }

// Written waits until every event emitted before it is in the store, or ctx ends. The end of
// a call is recorded after it, so a call the store says has ended shows its whole timeline
// (the events of its last moments would otherwise still wait for their batch).
func (r *eventRecorder) Written(ctx context.Context) error {
	if !r.started {
		return nil
	}
	w := make(written)
	r.marks.Add(1)
	select {
	case r.queue <- event.Event{Time: time.Now(), Data: w}:
		r.poke()
	case <-ctx.Done():
		r.marks.Add(-1)
		return ctx.Err()
	}
	select {
	case <-w:
		return nil
	case <-r.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// publisher shows live events (the console hub, through the cluster's live feed).
type publisher interface{ Publish(event.Event) }

func newEventRecorder(s *store.Store, hub publisher, m *console.Metrics, log *slog.Logger) *eventRecorder {
	return &eventRecorder{store: s, hub: hub, metrics: m, log: log, queue: make(chan event.Event, recordQueue), wake: make(chan struct{}, 1),
		payCount: map[string]int{}, calls: map[string]callFacts{},
		tick: recordTick, keys: map[string]*keyRun{}, stopped: make(chan struct{})}
}

// Emit implements event.Sink.
func (r *eventRecorder) Emit(e event.Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	r.hub.Publish(e)
	r.measure(e)
	r.queue <- e
	if len(r.queue) >= recordBatch {
		r.poke()
	}
}

// poke tells the writer not to wait for the tick (without blocking: one poke pending is enough).
func (r *eventRecorder) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// measure turns an event into the metrics the operator watches (docs/operations.md): provider
// latency and outcomes, Pay results per plan, failed entries per field, time to pay, links.
func (r *eventRecorder) measure(e event.Event) {
	switch d := e.Data.(type) {
	case *event.ConnectorRequest:
		r.metrics.ProviderLatency(d.Connector, time.Duration(d.DurationMS)*time.Millisecond)
		r.metrics.ProviderRequest(d.Connector, d.Status)
	case *event.CallStarted:
		r.mu.Lock()
		r.calls[e.CallID] = callFacts{plan: d.Plan, started: e.Time}
		r.mu.Unlock()
	case *event.CallEnded:
		r.mu.Lock()
		delete(r.calls, e.CallID)
		r.mu.Unlock()
	case *event.PayProgress:
		if d.Phase == "entered" && d.ErrorType != "" {
			r.metrics.EntryError(d.For, d.ErrorType)
		}
	case *event.PayCompleted:
		r.mu.Lock()
		c, ok := r.calls[e.CallID]
		r.mu.Unlock()
		if ok {
			r.metrics.PayStep(c.plan, d.Result)
			if d.Result == event.ResultSuccess {
				r.metrics.TimeToPay(event.ChannelVoice, e.Time.Sub(c.started))
			}
		}
	case *event.LinkSent:
		r.metrics.Link("sent")
	case *event.LinkFailed:
		r.metrics.Link("not-sent")
	case *event.LinkPaid:
		r.metrics.Link("paid")
	case *event.LinkDeclined:
		r.metrics.Link("declined")
	}
}

// start runs the writing goroutine until ctx ends.
func (r *eventRecorder) start(ctx context.Context) {
	r.started = true
	go r.run(ctx)
}

// run writes the queued events batch by batch until ctx ends. It wakes for the first event of
// a batch, then sleeps for the tick while the next ones queue up, and takes them all at once:
// two wake-ups a batch, not one an event (a call emits ~40). A Written mark or a full batch's
// worth queued ends the wait early (poke).
func (r *eventRecorder) run(ctx context.Context) {
	defer close(r.stopped)
	batch := make([]event.Event, 0, recordBatch)
	tick := time.NewTimer(r.tick)
	tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-r.queue:
			batch = append(batch[:0], e)
		}
		if !isMark(batch[0]) && r.marks.Load() == 0 && len(r.queue) < recordBatch-1 {
			tick.Reset(r.tick)
			select {
			case <-tick.C:
			case <-r.wake:
			case <-ctx.Done():
			}
			tick.Stop()
		}
	take:
		for len(batch) < recordBatch && !isMark(batch[len(batch)-1]) {
			select {
			case e := <-r.queue:
				batch = append(batch, e)
			default:
				break take
			}
		}
		r.recordBatch(context.Background(), batch)
	}
}

// flush writes what is still queued and the keypresses held back (on shutdown, after the
// calls have ended and run's context was cancelled).
func (r *eventRecorder) flush() {
	if r.started {
		<-r.stopped
	}
	batch := make([]event.Event, 0, recordBatch)
	for len(r.queue) > 0 {
		if batch = append(batch, <-r.queue); len(batch) == recordBatch {
			r.recordBatch(context.Background(), batch)
			batch = batch[:0]
		}
	}
	r.recordBatch(context.Background(), batch)
	rows := r.rows[:0]
	for call, k := range r.keys {
		if k.latest != nil {
			rows = r.row(rows, *k.latest)
		}
		delete(r.keys, call)
	}
	r.appendRows(context.Background(), rows)
}

// recordBatch writes a batch: every event's timeline row and the payment records its events
// derive, as writes of their own that share one commit (store.AppendEventsAndPayments), then,
// in the events' order, what follows from them (webhooks, metrics).
func (r *eventRecorder) recordBatch(ctx context.Context, batch []event.Event) {
	rows, pays := r.rows[:0], r.pays[:0]
	for _, e := range batch {
		if e.CallID == "" {
			continue
		}
		if !upperBound || e.Type() == "pay.completed" { // only the measurement build of issue 17's upper bound stores pay.completed alone (upperbound_on.go)
			rows = r.timeline(rows, e)
		}
		if p := paymentOf(e); p != nil {
			pays = append(pays, r.paymentRecord(e, p))
		}
	}
	var stored []store.StoredPayment
	if len(rows) > 0 || len(pays) > 0 {
		var err error
		if stored, err = r.store.AppendEventsAndPayments(ctx, rows, pays); err != nil {
			r.log.Warn("recording events", "events", len(rows), "err", err)
		}
	}
	clear(rows)
	r.rows = rows[:0]
	clear(pays)
	r.pays = pays[:0]
	for _, e := range batch {
		if w, ok := e.Data.(written); ok {
			r.marks.Add(-1)
			close(w)
			continue
		}
		if paymentOf(e) != nil {
			r.publishPayment(ctx, e, stored[0])
			stored = stored[1:]
			continue
		}
		r.derive(ctx, e)
	}
}

// paymentOf is the payment whose record e writes, or nil: a payment event of a call (a ledger
// operation's event carries the record the Lifecycle already wrote).
func paymentOf(e event.Event) *event.Payment {
	if e.CallID == "" || event.OperationOf(e.Data) != nil {
		return nil
	}
	return event.PaymentOf(e.Data)
}

// isMark reports whether e is a Written mark: the batch ends with it, so its waiter is not
// kept waiting for the tick.
func isMark(e event.Event) bool {
	_, ok := e.Data.(written)
	return ok
}

// derive does what an event other than a payment means beyond its timeline row.
func (r *eventRecorder) derive(ctx context.Context, e event.Event) {
	if op := event.OperationOf(e.Data); op != nil {
		// The ledger is already written (the Lifecycle wrote it before emitting): the event
		// goes out as a webhook with the record as it now stands.
		r.publishOperation(ctx, e, op)
		return
	}
	if _, ok := e.Data.(*event.CallEnded); ok && e.CallID != "" {
		r.mu.Lock()
		delete(r.payCount, e.CallID)
		r.mu.Unlock()
	}
}

// timeline adds e's row to rows, coalescing keypresses. A Pay entry emits a pay.progress
// "key" event per keypress (23 of a call's ~42 events for card, expiry and security code);
// the live feed shows every one, but the stored timeline needs only the first (the console
// and `replay --timeline` time an entry from its first key) and the count, which the entry's
// "entered" event carries. So the first key of an entry is written, the following ones only
// replace a held latest, and that latest is written just before the call's next event of
// any kind — the timeline keeps its order and always ends with the latest count — or at
// shutdown; unless that next event is the entry's own "entered" with the same count, which
// says what the latest key would (a card call's timeline: 23 rows, not 27).
func (r *eventRecorder) timeline(rows []store.CallEvent, e event.Event) []store.CallEvent {
	k := r.keys[e.CallID]
	if p, ok := e.Data.(*event.PayProgress); ok && p.Phase == "key" {
		if k != nil && k.field == p.For && k.attempt == p.Attempt {
			k.latest = &e
			return rows
		}
		if k != nil && k.latest != nil {
			rows = r.row(rows, *k.latest)
		}
		r.keys[e.CallID] = &keyRun{field: p.For, attempt: p.Attempt}
		return r.row(rows, e)
	}
	if k != nil {
		if k.latest != nil && !k.enteredAsLatest(e) {
			rows = r.row(rows, *k.latest)
		}
		delete(r.keys, e.CallID)
	}
	return r.row(rows, e)
}

// enteredAsLatest reports whether e is the end of k's entry ("entered", same field and
// attempt) with the count of its latest key: the latest key's row would say nothing more.
func (k *keyRun) enteredAsLatest(e event.Event) bool {
	p, ok := e.Data.(*event.PayProgress)
	if !ok || p.Phase != "entered" || p.For != k.field || p.Attempt != k.attempt {
		return false
	}
	latest, ok := k.latest.Data.(*event.PayProgress)
	return ok && latest.Digits == p.Digits
}

// row adds e as a timeline row.
func (r *eventRecorder) row(rows []store.CallEvent, e event.Event) []store.CallEvent {
	fields, err := e.Fields()
	if err != nil {
		r.log.Warn("recording event", "call", e.CallID, "type", e.Type(), "err", err)
		return rows
	}
	return append(rows, store.CallEvent{CallID: e.CallID, EventRecord: store.EventRecord{Time: e.Time, Type: e.Type(), Step: e.Step, Fields: fields}})
}

// appendRows writes timeline rows in one transaction.
func (r *eventRecorder) appendRows(ctx context.Context, rows []store.CallEvent) {
	if len(rows) == 0 {
		return
	}
	if err := r.store.AppendEvents(ctx, rows); err != nil {
		r.log.Warn("recording events", "events", len(rows), "err", err)
	}
}

// operationWebhook is the data of a lifecycle webhook: the payment's record as stored after
// the change, and the operation (or mark) that changed it.
type operationWebhook struct {
	store.PaymentSession
	Operation event.Operation `json:"operation"`
}

// publishOperation queues the webhook of a lifecycle change.
func (r *eventRecorder) publishOperation(ctx context.Context, e event.Event, op *event.Operation) {
	r.metrics.PaymentOperation(e.Type())
	if r.webhooks == nil {
		return
	}
	stored, _, err := r.store.GetPayment(ctx, op.PaymentID)
	if err != nil {
		r.log.Error("reading the payment record back", "payment", op.PaymentID, "err", err)
		return
	}
	// About the payment: its deliveries are listed with it (console, GET /api/payments/{id}).
	if _, err := r.webhooks.PublishAbout(ctx, e.Type(), stored.ID, operationWebhook{PaymentSession: *stored, Operation: *op}); err != nil {
		r.log.Error("queueing webhook", "payment", op.PaymentID, "err", err)
	}
}

// paymentRecord is the masked record of a payment event — a Pay step's end, a link's paid or
// declined submission. The record is keyed by the provider session, so a link paid after an
// abandoned voice capture completes the same record.
func (r *eventRecorder) paymentRecord(e event.Event, p *event.Payment) store.PaymentSession {
	id := p.SessionID
	if id == "" { // the step failed before a session existed (bad amount, connector down)
		r.mu.Lock()
		r.payCount[e.CallID]++
		id = fmt.Sprintf("%s-pay-%d", e.CallID, r.payCount[e.CallID])
		r.mu.Unlock()
	}
	ps := store.PaymentSession{
		ID: id, CallID: e.CallID, Connector: p.Connector, ConnectorKey: p.ConnectorKey, Channel: p.Channel,
		AmountMinor: p.AmountMinor, Currency: p.Currency, Reference: p.Reference,
		State: store.PaymentFailed, Result: p.Result, ErrorType: p.ErrorType, ErrorCode: p.ErrorCode,
		MaskedCard: p.MaskedCard, CardType: p.CardType, Token: p.Token, Confirmation: p.Confirmation,
		ProviderSessionID: p.SessionID, ProviderPaymentID: p.Confirmation, Attempts: p.Attempts,
		CreatedAt: e.Time, UpdatedAt: e.Time, CompletedAt: e.Time,
		Method: p.Method, PaymentMethod: p.PaymentMethod, BankAccountType: p.BankAccountType, MaskedAccount: p.MaskedAccount,
		AuthorizedUntil: p.AuthorizedUntil,
	}
	if p.Result == event.ResultSuccess {
		ps.State = store.PaymentCompleted
		if p.Method == payment.MethodCharge || p.Method == payment.MethodAuthorize || p.Method == "" && p.AmountMinor > 0 {
			ps.AuthorizedMinor = p.AmountMinor // the money moved: held, or captured
		}
	}
	if inv := p.Invoice; inv != nil {
		pi := &payment.Invoice{ID: inv.ID, Description: inv.Description, Metadata: inv.Metadata}
		for _, l := range inv.Lines {
			pi.Lines = append(pi.Lines, payment.InvoiceLine{Description: l.Description, Quantity: l.Quantity, AmountMinor: l.AmountMinor})
		}
		ps.Invoice = pi
	}
	if len(p.Routes) > 0 {
		rs := make(store.Routes, len(p.Routes))
		for i, rt := range p.Routes {
			rs[i] = payment.Route{Connector: rt.Connector, ConnectorKey: rt.ConnectorKey, AttemptKey: rt.AttemptKey,
				Outcome: rt.Outcome, ErrorCode: rt.ErrorCode}
		}
		ps.Routes = &rs
	}
	return ps
}

// publishPayment counts a payment whose record is written and queues its webhook with the
// record as the write stored it (merged with what an earlier write of the same session left).
func (r *eventRecorder) publishPayment(ctx context.Context, e event.Event, sp store.StoredPayment) {
	if sp.Err != nil {
		r.log.Error("recording payment", "call", e.CallID, "err", sp.Err)
		return
	}
	p := event.PaymentOf(e.Data)
	r.metrics.Payment(p.Result, orDash(p.Connector))
	if r.webhooks == nil {
		return
	}
	if _, err := r.webhooks.PublishAbout(ctx, e.Type(), sp.Record.ID, sp.Record); err != nil {
		r.log.Error("queueing webhook", "call", e.CallID, "err", err)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
