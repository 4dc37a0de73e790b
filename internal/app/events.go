package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
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

	mu       sync.Mutex
	payCount map[string]int       // call → payments recorded without a provider session
	calls    map[string]callFacts // calls in progress: what the metrics need of them
}

// callFacts is what the recorder remembers of a call in progress for its metrics.
type callFacts struct {
	plan    string
	started time.Time
}

const recordQueue = 1 << 16

// publisher shows live events (the console hub, through the cluster's live feed).
type publisher interface{ Publish(event.Event) }

func newEventRecorder(s *store.Store, hub publisher, m *console.Metrics, log *slog.Logger) *eventRecorder {
	return &eventRecorder{store: s, hub: hub, metrics: m, log: log, queue: make(chan event.Event, recordQueue),
		payCount: map[string]int{}, calls: map[string]callFacts{}}
}

// Emit implements event.Sink.
func (r *eventRecorder) Emit(e event.Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	r.hub.Publish(e)
	r.measure(e)
	r.queue <- e
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

func (r *eventRecorder) record(ctx context.Context, e event.Event) {
	if op := event.OperationOf(e.Data); op != nil {
		// The ledger is already written (the Lifecycle wrote it before emitting): the event
		// goes on the call's timeline and out as a webhook with the record as it now stands.
		if e.CallID != "" {
			r.appendEvent(ctx, e)
		}
		r.publishOperation(ctx, e, op)
		return
	}
	if e.CallID == "" {
		return // provider requests outside a call (reconciliation, link pages of deleted calls)
	}
	r.appendEvent(ctx, e)
	if p := event.PaymentOf(e.Data); p != nil {
		r.recordPayment(ctx, e, p)
	}
	if _, ok := e.Data.(*event.CallEnded); ok {
		r.mu.Lock()
		delete(r.payCount, e.CallID)
		r.mu.Unlock()
	}
}

// appendEvent writes e to its call's timeline.
func (r *eventRecorder) appendEvent(ctx context.Context, e event.Event) {
	fields, err := e.Fields()
	if err == nil {
		err = r.store.AppendEvent(ctx, e.CallID, store.EventRecord{Time: e.Time, Type: e.Type(), Step: e.Step, Fields: fields})
	}
	if err != nil {
		r.log.Warn("recording event", "call", e.CallID, "type", e.Type(), "err", err)
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
	if _, err := r.webhooks.Publish(ctx, e.Type(), operationWebhook{PaymentSession: *stored, Operation: *op}); err != nil {
		r.log.Error("queueing webhook", "payment", op.PaymentID, "err", err)
	}
}

// recordPayment writes the masked record of a payment event — a Pay step's end, a link's paid
// or declined submission — and queues its webhook with the record as stored. The record is
// keyed by the provider session, so a link paid after an abandoned voice capture completes
// the same record.
func (r *eventRecorder) recordPayment(ctx context.Context, e event.Event, p *event.Payment) {
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
	if err := r.store.UpsertPaymentSession(ctx, ps); err != nil {
		r.log.Error("recording payment", "call", e.CallID, "session", id, "err", err)
		return
	}
	r.metrics.Payment(p.Result, orDash(p.Connector))
	if r.webhooks == nil {
		return
	}
	stored, _, err := r.store.GetPayment(ctx, id)
	if err != nil {
		r.log.Error("reading the payment record back", "call", e.CallID, "session", id, "err", err)
		return
	}
	if _, err := r.webhooks.PublishAbout(ctx, e.Type(), stored.ID, stored); err != nil {
		r.log.Error("queueing webhook", "call", e.CallID, "err", err)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
