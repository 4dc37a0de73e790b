package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/store"
)

// Several nodes, one database. With --db postgres://… every node registers its id (a lease in
// the database; a second live node with the same id is refused), proves itself alive every
// heartbeat, and watches for nodes that died leaving work behind: calls recorded in progress,
// payments pending with the provider, webhook deliveries it had claimed. One surviving node
// takes a dead node over (store.TakeOver) and settles it exactly as the dead node would have
// on its own restart. Each node publishes its live events to the others (store.Announce) and
// feeds theirs to its console (store.Follow). On SQLite there is one node: it settles its own
// previous run on start, and there is nobody to tell.

const (
	// heartbeatEvery is how often a node on a shared database proves itself alive.
	heartbeatEvery = 2 * time.Second
	// nodeDeadAfter is how long without a heartbeat before another node takes a node over
	// (its lease must be free as well).
	nodeDeadAfter = console.NodeDeadAfter
	// takeoverEvery is how often a node looks for dead nodes' leftovers.
	takeoverEvery = 3 * time.Second
	// feedQueue bounds the events waiting to be announced; beyond it they are dropped from
	// the other nodes' live view (never from the records).
	feedQueue = 4096
)

// registerWait is how long a starting node waits for its id's lease: a node restarting right
// after a crash may find another node settling its leftovers under it. (A variable for tests.)
var registerWait = 30 * time.Second

// registerNode takes this node's id in the database, waiting while a takeover holds it.
func (a *App) registerNode(ctx context.Context) error {
	n := store.Node{ID: a.node, SIPAddr: a.sip.Addr().String(), HTTPAddr: a.httpLn.Addr().String(), Version: Version}
	deadline := time.Now().Add(registerWait)
	for {
		lease, err := a.store.RegisterNode(ctx, n)
		if err == nil {
			a.lease = lease
			return nil
		}
		if !errors.Is(err, store.ErrNodeLive) || time.Now().After(deadline) {
			if errors.Is(err, store.ErrNodeLive) {
				return fmt.Errorf("node id %q is in use by a live node sharing this database: give every node its own --node-id (default: the host name)", a.node)
			}
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// heartbeat keeps the node's lease and records its state until ctx ends.
func (a *App) heartbeat(ctx context.Context) {
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	lost := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := a.lease.Renew(ctx, a.nodeState())
		switch {
		case err != nil && ctx.Err() == nil && !lost:
			lost = true
			a.log.Error("node lease not renewed: other nodes may take this node's calls and payments over", "node", a.node, "err", err)
		case err == nil && lost:
			lost = false
			a.log.Info("node lease renewed", "node", a.node)
		}
	}
}

func (a *App) nodeState() string {
	if a.draining.Load() {
		return store.NodeDraining
	}
	return store.NodeUp
}

// settleReport says what settling a node's leftovers did.
type settleReport struct {
	calls, records, webhooks int
	rec                      gateway.ReconcileReport
}

func (r settleReport) empty() bool {
	return r.calls == 0 && r.records == 0 && r.webhooks == 0 && r.rec.Checked == 0
}

// settle finishes what node left behind before the given time: it ends its calls recorded in
// progress (their media was anchored on that node: the callers are gone), completes the payment
// records of attempts the provider had answered, frees its webhook claims and its claims on
// lapsed holds, and asks the provider about its pending attempts (each answer completes a
// record through the recorder).
// all settles every node's leftovers (SQLite: one node owns the file).
func (a *App) settle(ctx context.Context, node string, all bool, before time.Time, cause string) (settleReport, error) {
	var rep settleReport
	var errs []error
	var err error
	if all {
		rep.calls, err = a.store.EndInterruptedCalls(ctx, before, cause)
	} else {
		rep.calls, err = a.store.EndNodeCalls(ctx, node, before, cause)
	}
	errs = append(errs, err)
	if rep.webhooks, err = a.store.ReleaseWebhookClaims(ctx, node); err != nil {
		errs = append(errs, err)
	}
	// Its claims on lapsed holds: the next expiry pass (any node's) releases them at once.
	if _, err = a.store.ReleaseHoldClaims(ctx, node); err != nil {
		errs = append(errs, err)
	}
	// Records first: the reconciliation below emits its own, and must not find these again.
	var orphans []store.Attempt
	if all {
		orphans, err = a.store.AttemptsWithoutRecord(ctx, before)
	} else {
		orphans, err = a.store.NodeAttemptsWithoutRecord(ctx, node, before)
	}
	errs = append(errs, err)
	for i := range orphans {
		g := toGatewayAttempt(&orphans[i])
		a.recorder.Emit(event.Event{Time: time.Now(), CallID: g.CallID,
			Data: &event.PaymentReconciled{Payment: gateway.SettledPayment(g, g.Result)}})
	}
	rep.records = len(orphans)
	gs := gatewayStore{s: a.store, node: a.node, owner: node, allNodes: all}
	rep.rec, err = gateway.ReconcileWith(ctx, gs, a.connectors, gateway.ReconcileOptions{Before: before})
	errs = append(errs, err)
	return rep, errors.Join(errs...)
}

// takeOverLoop settles the nodes that died with work left, one at a time, until ctx ends.
func (a *App) takeOverLoop(ctx context.Context) {
	t := time.NewTicker(takeoverEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ids, err := a.store.OrphanedNodes(ctx, a.node)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("looking for dead nodes", "err", err)
			}
			continue
		}
		for _, id := range ids {
			a.takeOver(ctx, id)
		}
	}
}

// takeOver settles one node if it is dead (otherwise it is busy, not orphaned: nothing to do).
func (a *App) takeOver(ctx context.Context, id string) {
	lease, err := a.store.TakeOver(ctx, id, nodeDeadAfter)
	if errors.Is(err, store.ErrNodeLive) {
		return
	}
	if err != nil {
		a.log.Warn("taking a dead node over", "node", id, "err", err)
		return
	}
	defer lease.Close(context.WithoutCancel(ctx))
	rep, err := a.settle(ctx, id, false, time.Now(), fmt.Sprintf("interrupted: node %s stopped during the call", orDash(id)))
	if err != nil && ctx.Err() == nil {
		a.log.Warn("settling a dead node", "node", id, "err", err)
	}
	if rep.empty() {
		return
	}
	a.log.Info("took over a dead node", "dead_node", orDash(id), "calls_ended", rep.calls, "records_completed", rep.records,
		"webhooks_released", rep.webhooks, "checked", rep.rec.Checked, "approved", rep.rec.Approved, "declined", rep.rec.Declined,
		"not_sent", rep.rec.NotSent, "unknown", rep.rec.Unknown, "left", rep.rec.Left)
	for _, e := range rep.rec.Errors {
		a.log.Warn("payment of a dead node left pending", "dead_node", orDash(id), "err", e)
	}
}

// liveFeed is where this node's live events go: its own console hub and, on a shared database,
// every other node's. It also brings the other nodes' events into the hub. Publishing never
// blocks a call: announcements wait in a bounded queue and are dropped when it is full.
type liveFeed struct {
	node    string
	hub     *console.Hub
	store   *store.Store
	log     *slog.Logger
	out     chan []byte
	dropped atomic.Int64
}

func newLiveFeed(node string, hub *console.Hub, s *store.Store, log *slog.Logger) *liveFeed {
	return &liveFeed{node: node, hub: hub, store: s, log: log, out: make(chan []byte, feedQueue)}
}

// Publish shows e on this node's console and announces it to the others, labelled with this
// node. It pays for what exists: on one node the hub encodes e only if a console watches; on a
// shared database e is encoded (and redacted) once, and that one message goes both to this
// node's console and to the others — never a digit of a card over the database either.
func (f *liveFeed) Publish(e event.Event) {
	if e.Node == "" {
		e.Node = f.node
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if !f.store.Shared() {
		f.hub.Publish(e)
		return
	}
	m := console.Encode(e)
	f.hub.PublishMessage(e, m)
	select {
	case f.out <- m.Bytes():
	default:
		f.dropped.Add(1)
	}
}

// run announces this node's events and follows everyone's until ctx ends.
func (f *liveFeed) run(ctx context.Context) {
	if !f.store.Shared() {
		return
	}
	go func() {
		_ = f.store.Follow(ctx, func(msg []byte) {
			var e event.Event
			if err := json.Unmarshal(msg, &e); err != nil || e.Node == f.node || e.Node == "" {
				return // this node's own (already shown), or not an event
			}
			f.hub.Publish(e)
		})
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-f.out:
			if err := f.store.Announce(ctx, b); err != nil && ctx.Err() == nil {
				f.log.Debug("live event not announced to the other nodes", "err", err)
			}
		}
	}
}
