package gateway

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/paybridge/paybridge/payment"
)

// MemoryLedger is the payment ledger in memory (LifecycleStore): for `paybridge replay` and
// tests. One mutex stands where the SQL ledger uses one conditional UPDATE; it protects one
// process only, which is all an in-memory ledger serves.
type MemoryLedger struct {
	mu       sync.Mutex
	payments map[string]*memPayment
	ops      map[string]*Op
	byKey    map[string]string
	history  []HistoryEntry
	events   map[string]bool
	now      func() time.Time
}

type memPayment struct {
	facts           payment.PaymentFacts
	holding         bool
	closedAs        string
	chargedBack     bool
	captureReserved int64
	refundReserved  int64
	claimedUntil    time.Time // ClaimExpiredHolds
}

var _ LifecycleStore = (*MemoryLedger)(nil)

// NewMemoryLedger returns an empty ledger.
func NewMemoryLedger() *MemoryLedger {
	return &MemoryLedger{payments: map[string]*memPayment{}, ops: map[string]*Op{}, byKey: map[string]string{},
		events: map[string]bool{}, now: time.Now}
}

// AddPayment records a payment the Pay step made (what the payment record says of its money).
func (m *MemoryLedger) AddPayment(f payment.PaymentFacts) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addLocked(f, payment.Actor{Kind: payment.ActorPlan})
}

func (m *MemoryLedger) addLocked(f payment.PaymentFacts, actor payment.Actor) *memPayment {
	p := &memPayment{facts: f}
	switch f.Method {
	case payment.MethodAuthorize:
		p.holding = f.CapturedMinor < f.AuthorizedMinor
	default:
		if f.CapturedMinor == 0 {
			p.facts.CapturedMinor = f.AuthorizedMinor
		}
	}
	p.derive()
	m.payments[f.ID] = p
	action := "charged"
	if p.holding {
		action = "authorized"
	}
	m.historyLocked(p, HistoryEntry{Actor: actor, Action: action, AmountMinor: f.AuthorizedMinor})
	return p
}

func (p *memPayment) derive() {
	p.facts.State = payment.DeriveState(p.holding, p.closedAs, p.facts.CapturedMinor, p.facts.RefundedMinor, p.chargedBack)
}

func (m *MemoryLedger) historyLocked(p *memPayment, e HistoryEntry) {
	e.ID = newID("h_")
	e.PaymentID = p.facts.ID
	if e.At.IsZero() {
		e.At = m.now()
	}
	e.Currency = p.facts.Currency
	e.State = p.facts.State
	m.history = append(m.history, e)
}

// History returns a payment's history, oldest first.
func (m *MemoryLedger) History(id string) []HistoryEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []HistoryEntry
	for _, e := range m.history {
		if e.PaymentID == id {
			out = append(out, e)
		}
	}
	return out
}

// BeginOp implements LifecycleStore.
func (m *MemoryLedger) BeginOp(_ context.Context, op *Op, known *payment.PaymentFacts) (*Op, *payment.PaymentFacts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id, ok := m.byKey[op.IdempotencyKey]; ok {
		old := *m.ops[id]
		f := m.payments[old.PaymentID].facts
		if old.Kind != op.Kind || old.PaymentID != op.PaymentID || op.AmountMinor != 0 && op.AmountMinor != old.AmountMinor {
			return &old, &f, fmt.Errorf("%w: key %s", ErrKeyReused, op.IdempotencyKey)
		}
		return &old, &f, ErrDuplicate
	}
	p := m.payments[op.PaymentID]
	if p == nil && known != nil && known.ID == op.PaymentID {
		p = m.addLocked(*known, payment.Actor{Kind: payment.ActorPlan, ID: known.CallID})
	}
	if p == nil {
		return nil, nil, fmt.Errorf("%w: payment %s", ErrNotFound, op.PaymentID)
	}
	if op.Currency != "" && op.Currency != p.facts.Currency {
		return nil, nil, fmt.Errorf("%w: the payment is in %s, not %s", ErrBadAmount, p.facts.Currency, op.Currency)
	}
	f := &p.facts
	amt := op.AmountMinor
	switch op.Kind {
	case payment.OpCapture:
		rest := f.AuthorizedMinor - f.CapturedMinor - p.captureReserved
		switch {
		case !p.holding:
			return nil, nil, fmt.Errorf("%w: payment %s holds nothing to capture (it is %s)", ErrPaymentState, f.ID, f.State)
		case op.Single && (f.CapturedMinor > 0 || p.captureReserved > 0):
			return nil, nil, fmt.Errorf("%w: the provider takes one capture per authorisation", ErrPaymentState)
		}
		if amt == 0 {
			amt = rest
		}
		if amt <= 0 || amt > rest {
			return nil, nil, fmt.Errorf("%w: %d to capture, %d left", ErrAmountExceeds, amt, rest)
		}
		p.captureReserved += amt
	case payment.OpVoid:
		if !p.holding || p.captureReserved > 0 {
			return nil, nil, fmt.Errorf("%w: payment %s has no hold to release (it is %s)", ErrPaymentState, f.ID, f.State)
		}
		amt = f.AuthorizedMinor - f.CapturedMinor
		p.captureReserved += amt
	case payment.OpRefund:
		rest := f.CapturedMinor - p.refundReserved
		if p.chargedBack {
			return nil, nil, fmt.Errorf("%w: payment %s was charged back", ErrPaymentState, f.ID)
		}
		if amt == 0 {
			amt = rest
		}
		if amt <= 0 || amt > rest {
			return nil, nil, fmt.Errorf("%w: %d to refund, %d left", ErrAmountExceeds, amt, rest)
		}
		p.refundReserved += amt
	default:
		return nil, nil, fmt.Errorf("%w: operation %q", ErrPaymentState, op.Kind)
	}
	c := *op
	c.ID, c.AmountMinor, c.Currency, c.State, c.CreatedAt = newID("op_"), amt, f.Currency, payment.OpPending, m.now()
	m.ops[c.ID] = &c
	m.byKey[c.IdempotencyKey] = c.ID
	m.historyLocked(p, HistoryEntry{Actor: c.Actor, Action: c.Kind + ".requested", AmountMinor: amt, OpID: c.ID, Detail: c.Reason})
	out, fc := c, *f
	return &out, &fc, nil
}

// FinishOp implements LifecycleStore.
func (m *MemoryLedger) FinishOp(_ context.Context, opID string, out OpOutcome) (*Op, *payment.PaymentFacts, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := m.ops[opID]
	if op == nil {
		return nil, nil, false, fmt.Errorf("%w: operation %s", ErrNotFound, opID)
	}
	p := m.payments[op.PaymentID]
	if op.State != payment.OpPending || out.State == payment.OpPending && op.ProviderID != "" {
		o, f := *op, p.facts
		return &o, &f, false, nil
	}
	f := &p.facts
	at := out.At
	if at.IsZero() {
		at = m.now()
	}
	if out.ProviderID != "" {
		op.ProviderID = out.ProviderID
	}
	op.ErrorCode, op.ErrorMessage = out.ErrorCode, out.ErrorMessage
	action := op.Kind + "." + out.State
	switch out.State {
	case payment.OpPending:
		o, fc := *op, *f
		m.historyLocked(p, HistoryEntry{Actor: out.Actor, At: at, Action: action, AmountMinor: op.AmountMinor, OpID: op.ID})
		return &o, &fc, true, nil
	case payment.OpSucceeded:
		switch op.Kind {
		case payment.OpCapture:
			p.captureReserved -= op.AmountMinor
			f.CapturedMinor += op.AmountMinor
			if f.CapturedMinor >= f.AuthorizedMinor || op.Final || op.Single {
				p.holding = false
			}
			action = "captured"
		case payment.OpVoid:
			p.captureReserved -= op.AmountMinor
			p.holding, p.closedAs = false, payment.StateVoided
			action = "voided"
		case payment.OpRefund:
			f.RefundedMinor += op.AmountMinor
			action = "refunded"
		}
	case payment.OpFailed:
		switch op.Kind {
		case payment.OpCapture, payment.OpVoid:
			p.captureReserved -= op.AmountMinor
			if out.Expired && p.holding {
				p.holding, p.closedAs = false, payment.StateExpired
			}
		case payment.OpRefund:
			p.refundReserved -= op.AmountMinor
		}
	default:
		return nil, nil, false, fmt.Errorf("%w: outcome %q", ErrPaymentState, out.State)
	}
	op.State, op.CompletedAt = out.State, at
	p.derive()
	m.historyLocked(p, HistoryEntry{Actor: out.Actor, At: at, Action: action, AmountMinor: op.AmountMinor, OpID: op.ID, Detail: out.ErrorCode})
	o, fc := *op, *f
	return &o, &fc, true, nil
}

// NoteOpSettled implements LifecycleStore.
func (m *MemoryLedger) NoteOpSettled(_ context.Context, opID string, actor payment.Actor, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := m.ops[opID]
	if op == nil {
		return fmt.Errorf("%w: operation %s", ErrNotFound, opID)
	}
	if !op.SettledAt.IsZero() {
		return nil
	}
	op.SettledAt = at
	m.historyLocked(m.payments[op.PaymentID], HistoryEntry{Actor: actor, At: at, Action: op.Kind + ".settled", AmountMinor: op.AmountMinor, OpID: op.ID})
	return nil
}

// OpByKey implements LifecycleStore.
func (m *MemoryLedger) OpByKey(_ context.Context, key string) (*Op, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.byKey[key]
	if !ok {
		return nil, fmt.Errorf("%w: operation with key %s", ErrNotFound, key)
	}
	o := *m.ops[id]
	return &o, nil
}

// PendingOps implements LifecycleStore.
func (m *MemoryLedger) PendingOps(_ context.Context, before time.Time) ([]*Op, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Op
	for _, o := range m.ops {
		if o.State == payment.OpPending && o.CreatedAt.Before(before) {
			c := *o
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(a, b *Op) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// PaymentFacts implements LifecycleStore.
func (m *MemoryLedger) PaymentFacts(_ context.Context, id string) (*payment.PaymentFacts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.payments[id]
	if p == nil {
		return nil, fmt.Errorf("%w: payment %s", ErrNotFound, id)
	}
	f := p.facts
	return &f, nil
}

// PaymentByProviderID implements LifecycleStore.
func (m *MemoryLedger) PaymentByProviderID(_ context.Context, pid string) (*payment.PaymentFacts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.payments {
		if p.facts.ProviderPaymentID == pid && pid != "" {
			f := p.facts
			return &f, nil
		}
	}
	return nil, fmt.Errorf("%w: payment with provider id %s", ErrNotFound, pid)
}

// MarkPayment implements LifecycleStore.
func (m *MemoryLedger) MarkPayment(_ context.Context, id, mark string, e HistoryEntry) (*payment.PaymentFacts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.payments[id]
	if p == nil {
		return nil, fmt.Errorf("%w: payment %s", ErrNotFound, id)
	}
	switch mark {
	case MarkExpired:
		if !p.holding || p.captureReserved > 0 {
			return nil, fmt.Errorf("%w: payment %s holds nothing that could expire", ErrPaymentState, id)
		}
		p.holding, p.closedAs = false, payment.StateExpired
	case MarkChargedBack:
		if p.chargedBack || p.facts.CapturedMinor == 0 {
			return nil, fmt.Errorf("%w: payment %s cannot be charged back now", ErrPaymentState, id)
		}
		p.chargedBack = true
	default:
		return nil, fmt.Errorf("%w: mark %q", ErrPaymentState, mark)
	}
	p.derive()
	m.historyLocked(p, e)
	f := p.facts
	return &f, nil
}

// ClaimExpiredHolds implements LifecycleStore: one process, so the claim is a time per payment.
func (m *MemoryLedger) ClaimExpiredHolds(_ context.Context, now time.Time, lease time.Duration) ([]*payment.PaymentFacts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*payment.PaymentFacts
	for _, p := range m.payments {
		if p.holding && p.captureReserved == 0 && !p.facts.AuthorizedUntil.IsZero() && p.facts.AuthorizedUntil.Before(now) &&
			!p.claimedUntil.After(now) {
			p.claimedUntil = now.Add(lease)
			f := p.facts
			out = append(out, &f)
		}
	}
	return out, nil
}

// ProviderEventSeen implements LifecycleStore.
func (m *MemoryLedger) ProviderEventSeen(_ context.Context, source, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.events[source+"\x00"+id], nil
}

// RecordProviderEvent implements LifecycleStore.
func (m *MemoryLedger) RecordProviderEvent(_ context.Context, source, id, _ string, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := source + "\x00" + id
	if m.events[k] {
		return true, nil
	}
	m.events[k] = true
	return false, nil
}
