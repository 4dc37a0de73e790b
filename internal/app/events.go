package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/store"
)

// eventRecorder is the one sink of every masked event a node produces (engine, connectors,
// payment links). It publishes each event to the live feed at once, and writes it to the store
// from one goroutine in order, deriving the payment records (sessions, webhooks) from it. The
// engine never waits for the database unless a backlog of recordQueue events has built up.
type eventRecorder struct {
	store    *store.Store
	hub      *console.Hub
	metrics  *console.Metrics
	webhooks *gateway.Webhooks
	log      *slog.Logger
	queue    chan callplan.Event

	mu       sync.Mutex
	payKey   map[string]string // call → idempotency key of its latest payment attempt
	payCount map[string]int    // call → Pay steps completed
}

const recordQueue = 1 << 16

func newEventRecorder(s *store.Store, hub *console.Hub, m *console.Metrics, log *slog.Logger) *eventRecorder {
	return &eventRecorder{store: s, hub: hub, metrics: m, log: log, queue: make(chan callplan.Event, recordQueue),
		payKey: map[string]string{}, payCount: map[string]int{}}
}

// Emit implements callplan.EventSink.
func (r *eventRecorder) Emit(e callplan.Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	r.hub.Publish(console.Event{Time: e.Time, CallID: e.CallID, Type: e.Type, Step: e.Step, Fields: e.Fields})
	if e.Type == "connector.request" {
		if ms, ok := e.Fields["duration_ms"].(int64); ok {
			r.metrics.ProviderLatency(fmt.Sprint(e.Fields["connector"]), time.Duration(ms)*time.Millisecond)
		}
	}
	r.queue <- e
}

func (r *eventRecorder) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-r.queue:
			r.record(context.Background(), e)
		}
	}
}

// flush writes what is still queued (on shutdown, after the calls have ended).
func (r *eventRecorder) flush() {
	for {
		select {
		case e := <-r.queue:
			r.record(context.Background(), e)
		default:
			return
		}
	}
}

func (r *eventRecorder) record(ctx context.Context, e callplan.Event) {
	if e.CallID == "" {
		return // provider requests outside a call (reconciliation, link pages of deleted calls)
	}
	if err := r.store.AppendEvent(ctx, e.CallID, store.EventRecord{Time: e.Time, Type: e.Type, Step: e.Step, Fields: e.Fields}); err != nil {
		r.log.Warn("recording event", "call", e.CallID, "type", e.Type, "err", err)
	}
	switch e.Type {
	case "pay.connector":
		if k, ok := e.Fields["idempotencyKey"].(string); ok {
			r.mu.Lock()
			r.payKey[e.CallID] = k
			r.mu.Unlock()
		}
	case "pay.completed":
		r.payCompleted(ctx, e)
	case "link.paid":
		r.linkPaid(ctx, e)
	case "call.ended":
		r.mu.Lock()
		delete(r.payKey, e.CallID)
		delete(r.payCount, e.CallID)
		r.mu.Unlock()
	}
}

func str(f map[string]any, k string) string {
	if s, ok := f[k].(string); ok {
		return s
	}
	return ""
}

// payCompleted writes the masked summary of a Pay step: from the write-ahead attempt when the
// connector was called (amount, provider ids, confirmation), from the event alone otherwise.
func (r *eventRecorder) payCompleted(ctx context.Context, e callplan.Event) {
	r.mu.Lock()
	key := r.payKey[e.CallID]
	delete(r.payKey, e.CallID)
	r.payCount[e.CallID]++
	n := r.payCount[e.CallID]
	r.mu.Unlock()

	result := str(e.Fields, "result")
	ps := store.PaymentSession{
		ID: fmt.Sprintf("%s-pay-%d", e.CallID, n), CallID: e.CallID, Channel: "voice", Result: result,
		ErrorType: str(e.Fields, "errorType"), MaskedCard: str(e.Fields, "maskedCard"), CardType: str(e.Fields, "cardType"),
		State: "failed", CreatedAt: e.Time, UpdatedAt: e.Time, CompletedAt: e.Time,
	}
	if v, ok := e.Fields["attempts"].(int); ok {
		ps.Attempts = v
	}
	if result == "success" {
		ps.State = "completed"
	}
	if key != "" {
		if a, err := r.store.GetAttempt(ctx, key); err == nil {
			ps.Connector, ps.AmountMinor, ps.Currency, ps.Reference = a.Connector, a.AmountMinor, a.Currency, a.Reference
			ps.Confirmation, ps.Token, ps.ProviderSessionID = a.Confirmation, a.Token, a.SessionID
			ps.ProviderPaymentID = a.Confirmation
			if a.SessionID != "" {
				ps.ID = a.SessionID
			}
		}
	}
	if err := r.store.UpsertPaymentSession(ctx, ps); err != nil {
		r.log.Error("recording payment", "call", e.CallID, "err", err)
	}
	r.metrics.Payment(result, orDash(ps.Connector))
	if r.webhooks != nil {
		if _, err := r.webhooks.Publish(ctx, "pay.completed", ps); err != nil {
			r.log.Error("queueing webhook", "call", e.CallID, "err", err)
		}
	}
}

// linkPaid records the payment a link completed on the session the call started.
func (r *eventRecorder) linkPaid(ctx context.Context, e callplan.Event) {
	id := str(e.Fields, "session_id")
	if id == "" {
		return
	}
	ps := store.PaymentSession{ID: id, CallID: e.CallID, Channel: "link", State: "completed", Result: "success",
		ProviderSessionID: id, Confirmation: str(e.Fields, "confirmation"), MaskedCard: str(e.Fields, "masked_card"),
		CardType: str(e.Fields, "card_type"), CreatedAt: e.Time, UpdatedAt: e.Time, CompletedAt: e.Time}
	if err := r.store.UpsertPaymentSession(ctx, ps); err != nil {
		r.log.Error("recording link payment", "call", e.CallID, "err", err)
	}
	r.metrics.Payment("success", "link")
	if r.webhooks != nil {
		if _, err := r.webhooks.Publish(ctx, "link.paid", ps); err != nil {
			r.log.Error("queueing webhook", "call", e.CallID, "err", err)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
