package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/store"
)

// gatewayStore makes the store (SQLite, or PostgreSQL shared by several nodes) the gateway's
// Store: the write-ahead attempt log, the payment links, the SMS outbox and the webhook
// deliveries. It only translates records and sentinel errors; every statement lives in the
// store package.
type gatewayStore struct {
	s *store.Store
	// node is this node's id: written on every attempt it begins, and the claimant of the
	// webhook deliveries it sends and of the lapsed holds it expires.
	node string
	// owner is the node whose pending attempts PendingAttempts lists (this node's, or a dead
	// node's while this one settles it); with allNodes, every node's (SQLite: the file has
	// one node).
	owner    string
	allNodes bool
	// holdBatch is how many lapsed holds one expiry pass claims (0: holdBatch).
	holdBatch int
}

// holdBatch is how many lapsed holds a node claims per expiry pass: what it can release at
// the provider well within the claim's lease, one request after the other.
const holdBatch = 100

// webhookLease is how long a node holds a webhook delivery it claimed: longer than a delivery
// takes (gateway's 10 s timeout), short enough that another node retries soon after the
// claimant died.
const webhookLease = 2 * time.Minute

var (
	_ gateway.Store           = gatewayStore{}
	_ gateway.CappedLinkStore = gatewayStore{}
)

// translate maps store sentinels to the gateway's, keeping the message.
func translate(err error) error {
	for _, m := range []struct{ from, to error }{
		{store.ErrNotFound, gateway.ErrNotFound},
		{store.ErrDuplicate, gateway.ErrDuplicate},
		{store.ErrNotPending, gateway.ErrDuplicate},
		{store.ErrLinkUsed, gateway.ErrLinkUsed},
		{store.ErrLinkBusy, gateway.ErrLinkBusy},
		{store.ErrLinkExpired, gateway.ErrLinkExpired},
		{store.ErrCapReached, gateway.ErrSMSCap},
	} {
		if errors.Is(err, m.from) {
			return fmt.Errorf("%w (%v)", m.to, err)
		}
	}
	return err
}

func toGatewayAttempt(a *store.Attempt) *gateway.Attempt {
	g := &gateway.Attempt{
		Key: a.IdempotencyKey, CallID: a.CallID, Connector: a.Connector, ConnectorKey: a.ConnectorKey, Channel: a.Channel,
		ConnectorType: a.ConnectorType,
		Method:        a.Method, SessionID: a.SessionID, AmountMinor: a.AmountMinor, Currency: a.Currency,
		Reference: a.Reference, MaskedCard: a.MaskedCard, CardBrand: a.CardBrand, LastError: a.LastError,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, State: gateway.AttemptPending,
		PaymentMethod: a.PaymentMethod, MaskedAccount: a.MaskedAccount,
	}
	if a.Status == store.AttemptComplete {
		g.State = gateway.AttemptState(a.Result)
		g.Result = gateway.AttemptResult{
			State: g.State, SessionID: a.SessionID, ConfirmationCode: a.Confirmation, Token: a.Token,
			ErrorCode: a.ErrorCode, ErrorMessage: a.ErrorMessage, ProviderStatus: a.ProviderStatus,
		}
	}
	return g
}

func (l gatewayStore) BeginAttempt(ctx context.Context, a *gateway.Attempt) (*gateway.Attempt, error) {
	err := l.s.CreateAttempt(ctx, store.Attempt{
		IdempotencyKey: a.Key, SessionID: a.SessionID, CallID: a.CallID, Connector: a.Connector,
		ConnectorKey: a.ConnectorKey, Channel: a.Channel, ConnectorType: a.ConnectorType, Method: a.Method, Reference: a.Reference, MaskedCard: a.MaskedCard,
		CardBrand: a.CardBrand, AmountMinor: a.AmountMinor, Currency: a.Currency, CreatedAt: a.CreatedAt, Node: l.node,
		PaymentMethod: a.PaymentMethod, MaskedAccount: a.MaskedAccount,
	})
	if errors.Is(err, store.ErrDuplicate) {
		old, gerr := l.s.GetAttempt(ctx, a.Key)
		if gerr != nil {
			return nil, translate(gerr)
		}
		return toGatewayAttempt(old), gateway.ErrDuplicate
	}
	if err != nil {
		return nil, translate(err)
	}
	// The attempt is committed: the provider is called next. No read back here — a database
	// lost in between would stop a payment whose record is already safe (the caller told of
	// a connector error, the attempt left to the reconciler) for nothing.
	got := *a
	got.State = gateway.AttemptPending
	if got.CreatedAt.IsZero() {
		got.CreatedAt = time.Now()
	}
	got.UpdatedAt = got.CreatedAt
	return &got, nil
}

func (l gatewayStore) CompleteAttempt(ctx context.Context, key string, r gateway.AttemptResult) error {
	return translate(l.s.CompleteAttempt(ctx, key, store.AttemptResult{
		Result: string(r.State), ProviderStatus: r.ProviderStatus, ErrorCode: r.ErrorCode,
		ErrorMessage: r.ErrorMessage, Confirmation: r.ConfirmationCode, Token: r.Token, SessionID: r.SessionID,
	}))
}

func (l gatewayStore) NoteAttemptError(ctx context.Context, key, msg string) error {
	return translate(l.s.NoteAttemptError(ctx, key, msg))
}

func (l gatewayStore) GetAttempt(ctx context.Context, key string) (*gateway.Attempt, error) {
	a, err := l.s.GetAttempt(ctx, key)
	if err != nil {
		return nil, translate(err)
	}
	return toGatewayAttempt(a), nil
}

func (l gatewayStore) PendingAttempts(ctx context.Context, before time.Time) ([]*gateway.Attempt, error) {
	var as []store.Attempt
	var err error
	if l.allNodes {
		as, err = l.s.PendingAttempts(ctx)
	} else {
		as, err = l.s.NodePendingAttempts(ctx, l.owner)
	}
	if err != nil {
		return nil, err
	}
	var out []*gateway.Attempt
	for i := range as {
		if as[i].CreatedAt.Before(before) {
			out = append(out, toGatewayAttempt(&as[i]))
		}
	}
	return out, nil
}

func toGatewayLink(l *store.Link) *gateway.Link {
	state := gateway.LinkState(l.Status)
	if state == "" {
		state = gateway.LinkActive
	}
	return &gateway.Link{
		ID: l.ID, TokenHash: l.TokenHash, SessionID: l.SessionID, Connector: l.Connector, ConnectorKey: l.ConnectorKey, CallID: l.CallID,
		To: l.To, AmountMinor: l.AmountMinor, Currency: l.Currency, Reference: l.Reference, State: state,
		Attempts: l.Attempts, CreatedAt: l.CreatedAt, ExpiresAt: l.ExpiresAt, UsedAt: l.UsedAt,
		Confirmation: l.Confirmation, MessageID: l.MessageID, Invoice: l.Invoice, Terms: l.Terms,
	}
}

func toStoreLink(g *gateway.Link) store.Link {
	return store.Link{
		ID: g.ID, TokenHash: g.TokenHash, SessionID: g.SessionID, CallID: g.CallID, Connector: g.Connector, ConnectorKey: g.ConnectorKey,
		To: g.To, AmountMinor: g.AmountMinor, Currency: g.Currency, Reference: g.Reference,
		CreatedAt: g.CreatedAt, ExpiresAt: g.ExpiresAt, Status: string(g.State), MessageID: g.MessageID, Invoice: g.Invoice, Terms: g.Terms,
	}
}

func (l gatewayStore) CreateLink(ctx context.Context, g *gateway.Link) error {
	return translate(l.s.CreateLink(ctx, toStoreLink(g)))
}

// CreateLinkCapped applies the SMS daily cap across every node sharing the store.
func (l gatewayStore) CreateLinkCapped(ctx context.Context, g *gateway.Link, since time.Time, max int) error {
	return translate(l.s.CreateLinkCapped(ctx, toStoreLink(g), since, max))
}

func (l gatewayStore) LinkByHash(ctx context.Context, hash string) (*gateway.Link, error) {
	s, err := l.s.LinkByHash(ctx, hash)
	if err != nil {
		return nil, translate(err)
	}
	return toGatewayLink(s), nil
}

func (l gatewayStore) ClaimLink(ctx context.Context, hash string, now time.Time) (*gateway.Link, error) {
	s, err := l.s.ClaimLink(ctx, hash, now)
	if err != nil {
		return nil, translate(err)
	}
	return toGatewayLink(s), nil
}

func (l gatewayStore) FinishLink(ctx context.Context, hash string, o gateway.LinkOutcome) error {
	return translate(l.s.FinishLink(ctx, hash, store.LinkFinish{
		Paid: o.Paid, Confirmation: o.Confirmation, Failed: o.Failed, Retry: o.Retry, At: o.At,
	}))
}

func (l gatewayStore) SetLinkMessage(ctx context.Context, id, messageID string) error {
	return translate(l.s.SetLinkMessage(ctx, id, messageID))
}

func (l gatewayStore) CountLinksTo(ctx context.Context, to string, since time.Time) (int, error) {
	return l.s.CountLinksTo(ctx, to, since)
}

func (l gatewayStore) EnqueueSMS(ctx context.Context, m *gateway.SMS) error {
	id, err := l.s.EnqueueSMS(ctx, store.SMS{
		ID: m.ID, To: m.To, From: m.From, Body: m.Body, CallID: m.CallID, LinkID: m.LinkID,
		Status: m.Status, Error: m.Error, CreatedAt: m.CreatedAt,
	})
	if err == nil && m.ID == "" {
		m.ID = id
	}
	return translate(err)
}

func (l gatewayStore) EnqueueDelivery(ctx context.Context, d *gateway.Delivery) error {
	id, err := l.s.EnqueueWebhook(ctx, store.Webhook{
		ID: d.ID, Event: d.EventType, URL: d.URL, Payload: d.Body, NextAt: d.NextAttempt,
		CreatedAt: d.CreatedAt, EventID: d.EventID, Endpoint: d.Endpoint, Subject: d.Subject,
	})
	if err == nil && d.ID == "" {
		d.ID = id
	}
	return translate(err)
}

// DueDeliveries claims the due deliveries for this node (webhookLease): each is sent by one
// node, and retried by another if this one dies holding it. The claim is a write (a commit,
// on PostgreSQL row locks); it is made only when a read finds something to claim, so the
// dispatcher's poll (every second, and after every payment it was woken for) costs one
// indexed read when there is nothing to send.
func (l gatewayStore) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]*gateway.Delivery, error) {
	if due, err := l.s.WebhooksDue(ctx, now); err != nil || !due {
		return nil, err
	}
	ws, err := l.s.ClaimDueWebhooks(ctx, l.node, now, webhookLease, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*gateway.Delivery, 0, len(ws))
	for _, w := range ws {
		out = append(out, &gateway.Delivery{
			ID: w.ID, EventID: w.EventID, EventType: w.Event, Subject: w.Subject, Endpoint: w.Endpoint, URL: w.URL, Body: w.Payload,
			State: gateway.DeliveryState(w.Status), Attempts: w.Attempts, NextAttempt: w.NextAt,
			LastStatus: w.LastStatus, LastError: w.LastError, CreatedAt: w.CreatedAt, DeliveredAt: w.DeliveredAt,
		})
	}
	return out, nil
}

// MarkDelivered records the try and its end in one write.
func (l gatewayStore) MarkDelivered(ctx context.Context, id string, status int, at time.Time) error {
	return translate(l.s.RecordWebhookTry(ctx, id, store.WebhookTry{Status: status, Delivered: true, At: at}))
}

// MarkFailed records the try and its next one (none when dead) in one write.
func (l gatewayStore) MarkFailed(ctx context.Context, id string, status int, msg string, next time.Time, dead bool) error {
	if dead {
		next = time.Time{} // the store gives up on a zero next
	}
	return translate(l.s.RecordWebhookTry(ctx, id, store.WebhookTry{Status: status, Next: next, Reason: msg}))
}

// The payment ledger (gateway.LifecycleStore) over the store's lifecycle functions.

var _ gateway.LifecycleStore = gatewayStore{}

// translateLedger maps the ledger's sentinels to the gateway's.
func translateLedger(err error) error {
	for _, m := range []struct{ from, to error }{
		{store.ErrExceeds, gateway.ErrAmountExceeds},
		{store.ErrState, gateway.ErrPaymentState},
		{store.ErrKeyReused, gateway.ErrKeyReused},
		{store.ErrInvalid, gateway.ErrBadAmount},
	} {
		if errors.Is(err, m.from) {
			return fmt.Errorf("%w (%v)", m.to, err)
		}
	}
	return translate(err)
}

func toGatewayOp(o *store.Op) *gateway.Op {
	if o == nil {
		return nil
	}
	return &gateway.Op{ID: o.ID, PaymentID: o.PaymentID, Kind: o.Kind, IdempotencyKey: o.IdempotencyKey, AmountMinor: o.AmountMinor,
		Currency: o.Currency, Final: o.Final, Single: o.Single, Reason: o.Reason, State: o.State, ProviderID: o.ProviderID,
		ErrorCode: o.ErrorCode, ErrorMessage: o.ErrorMessage, Actor: o.Actor, CallID: o.CallID, CreatedAt: o.CreatedAt,
		CompletedAt: o.CompletedAt, SettledAt: o.SettledAt}
}

func (l gatewayStore) BeginOp(ctx context.Context, op *gateway.Op, known *payment.PaymentFacts) (*gateway.Op, *payment.PaymentFacts, error) {
	got, f, err := l.s.BeginOp(ctx, store.Op{PaymentID: op.PaymentID, Kind: op.Kind, IdempotencyKey: op.IdempotencyKey,
		AmountMinor: op.AmountMinor, Currency: op.Currency, Final: op.Final, Single: op.Single, Reason: op.Reason,
		Actor: op.Actor, CallID: op.CallID}, known)
	return toGatewayOp(got), f, translateLedger(err)
}

func (l gatewayStore) FinishOp(ctx context.Context, opID string, out gateway.OpOutcome) (*gateway.Op, *payment.PaymentFacts, bool, error) {
	got, f, changed, err := l.s.FinishOp(ctx, opID, store.OpOutcome{State: out.State, ProviderID: out.ProviderID, ErrorCode: out.ErrorCode,
		ErrorMessage: out.ErrorMessage, Actor: out.Actor, At: out.At, Expired: out.Expired})
	return toGatewayOp(got), f, changed, translateLedger(err)
}

func (l gatewayStore) NoteOpSettled(ctx context.Context, opID string, actor payment.Actor, at time.Time) error {
	return translateLedger(l.s.NoteOpSettled(ctx, opID, actor, at))
}

func (l gatewayStore) OpByKey(ctx context.Context, key string) (*gateway.Op, error) {
	o, err := l.s.OpByKey(ctx, key)
	return toGatewayOp(o), translateLedger(err)
}

func (l gatewayStore) PendingOps(ctx context.Context, before time.Time) ([]*gateway.Op, error) {
	ops, err := l.s.PendingOps(ctx, before)
	if err != nil {
		return nil, err
	}
	out := make([]*gateway.Op, len(ops))
	for i := range ops {
		out[i] = toGatewayOp(&ops[i])
	}
	return out, nil
}

func (l gatewayStore) PaymentFacts(ctx context.Context, id string) (*payment.PaymentFacts, error) {
	f, err := l.s.PaymentFacts(ctx, id)
	return f, translateLedger(err)
}

func (l gatewayStore) PaymentByProviderID(ctx context.Context, pid string) (*payment.PaymentFacts, error) {
	f, err := l.s.PaymentByProviderID(ctx, pid)
	return f, translateLedger(err)
}

func (l gatewayStore) MarkPayment(ctx context.Context, id, mark string, e gateway.HistoryEntry) (*payment.PaymentFacts, error) {
	f, err := l.s.MarkPayment(ctx, id, mark, store.HistoryEntry{At: e.At, Actor: e.Actor, Action: e.Action,
		AmountMinor: e.AmountMinor, Detail: e.Detail})
	return f, translateLedger(err)
}

func (l gatewayStore) ClaimExpiredHolds(ctx context.Context, now time.Time, lease time.Duration) ([]*payment.PaymentFacts, error) {
	node := l.node
	if node == "" {
		node = "local"
	}
	batch := l.holdBatch
	if batch <= 0 {
		batch = holdBatch
	}
	fs, err := l.s.ClaimExpiredHolds(ctx, node, now, lease, batch)
	if err != nil {
		return nil, err
	}
	out := make([]*payment.PaymentFacts, len(fs))
	for i := range fs {
		out[i] = &fs[i]
	}
	return out, nil
}

func (l gatewayStore) ProviderEventSeen(ctx context.Context, source, id string) (bool, error) {
	return l.s.ProviderEventSeen(ctx, source, id)
}

func (l gatewayStore) RecordProviderEvent(ctx context.Context, source, id, typ string, at time.Time) (bool, error) {
	return l.s.RecordProviderEvent(ctx, source, id, typ, at)
}
