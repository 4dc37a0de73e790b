package app

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/gateway"
)

// agentDesk is the engine's Desk as the console's Payments API sees it (console.Agents).
type agentDesk struct{ d *engine.Desk }

var _ console.Agents = agentDesk{}

func (a agentDesk) Do(ctx context.Context, callID string, req console.AgentRequest) (console.AgentPayment, error) {
	cmd := engine.AgentCommand{Op: req.Op, PaymentID: req.PaymentID, IdempotencyKey: req.IdempotencyKey, Field: req.Field,
		Start: engine.AgentPaymentParams{Connector: req.Start.PaymentConnector, Method: req.Start.Method,
			PaymentMethod: req.Start.PaymentMethod, BankAccountType: req.Start.BankAccountType, ChargeAmount: req.Start.ChargeAmount,
			Currency: req.Start.Currency, TokenType: req.Start.TokenType, ValidCardTypes: req.Start.ValidCardTypes,
			PostalCode: req.Start.PostalCode, SecurityCode: req.Start.SecurityCode, Timeout: req.Start.Timeout,
			Description: req.Start.Description, StatusCallback: req.Start.StatusCallback, PauseRecording: req.Start.PauseRecording}}
	s, err := a.d.Do(ctx, callID, cmd)
	if err != nil {
		return agentPayment(s), agentError(err)
	}
	return agentPayment(s), nil
}

func (a agentDesk) Payment(id string) (console.AgentPayment, bool) {
	s, ok := a.d.Payment(id)
	return agentPayment(s), ok
}

func (a agentDesk) Payments(callID string) []console.AgentPayment {
	var out []console.AgentPayment
	for _, s := range a.d.Payments(callID) {
		out = append(out, agentPayment(s))
	}
	return out
}

func (a agentDesk) Bridged() map[string]string { return a.d.Bridged() }

func agentPayment(s engine.AgentPaymentState) console.AgentPayment {
	return console.AgentPayment{AgentPayment: s.AgentPayment, CallID: s.CallID, Created: s.Created, Updated: s.Updated}
}

// deskError carries the engine's error under the console's sentinel for it.
type deskError struct{ kind, err error }

func (e deskError) Error() string   { return strings.TrimPrefix(e.err.Error(), "engine: ") }
func (e deskError) Unwrap() []error { return []error{e.kind, e.err} }

func agentError(err error) error {
	for _, m := range []struct{ from, to error }{
		{engine.ErrNotBridged, console.ErrAgentNotBridged},
		{engine.ErrNoPayment, console.ErrAgentNoPayment},
		{engine.ErrPaymentState, console.ErrAgentState},
		{engine.ErrPaymentRequest, console.ErrAgentRequest},
		{engine.ErrIdempotencyKey, console.ErrAgentIdempotency},
	} {
		if errors.Is(err, m.from) {
			return deskError{m.to, err}
		}
	}
	return err
}

// statusCallbacks hands every state of an agent payment that asked for it to the durable
// webhook outbox (gateway.Webhooks.PublishCallback), as a Twilio-compatible form body
// (console.AgentPaymentView.Form: masked values only). The outbox sends a payment's states in
// order, signed with --webhook-secret, retried with the webhooks' backoff until the receiver
// answers 2xx or they are given up (gateway's MaxAttempts), through the plans' HTTP client
// behind callbackGuard, so --http-allow decides where callbacks may go as it does for a
// plan's own requests; a refused destination is given up at once and logged.
//
// The engine hands states over from the call's run, which must not wait for a database
// write: they are queued in memory (bounded; when full the oldest waiting state is dropped
// and logged) and written to the outbox in order by one goroutine per node. Once written, a
// state survives a restart of the node. Until then it is in memory only: a crash loses it (the
// window is the outbox write, a group commit: milliseconds; as long as the store is
// unreachable when it is), and a shutdown waits for them (flush) before the store closes.
type statusCallbacks struct {
	hooks  callbackOutbox
	log    *slog.Logger
	signed bool
	warned bool // that callbacks go out unsigned (run only)

	mu       sync.Mutex
	queue    []engine.AgentPaymentState
	holding  bool          // run has taken a state off the queue that is not yet in the outbox
	wake     chan struct{} // a state was queued
	progress chan struct{} // a state left the queue for good (written or given up)
	dropped  int
}

// callbackOutbox is where statusCallbacks writes the states (gateway.Webhooks).
type callbackOutbox interface {
	PublishCallback(ctx context.Context, eventType, subject, url string, form []byte) (string, error)
}

// CallbackEventType is the Paybridge-Event-Type of a status callback.
const callbackEventType = "agent.payment.status"

const (
	maxCallbackQueue = 4096
	// callbackRetry is the wait before writing a state again after the outbox refused it
	// (the database is unreachable): the state and those after it wait in order.
	callbackRetry = time.Second
)

func newStatusCallbacks(log *slog.Logger) *statusCallbacks {
	return &statusCallbacks{log: log, wake: make(chan struct{}, 1), progress: make(chan struct{}, 1)}
}

// notify is the Desk's notify function.
func (c *statusCallbacks) notify(s engine.AgentPaymentState) {
	if s.StatusCallback == "" {
		return
	}
	c.mu.Lock()
	if len(c.queue) >= maxCallbackQueue {
		c.queue = c.queue[1:]
		c.dropped++
	}
	c.queue = append(c.queue, s)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// run writes the queued states to the outbox until ctx ends.
func (c *statusCallbacks) run(ctx context.Context) {
	var s engine.AgentPaymentState
	have := false // s is popped but not yet in the outbox
	for {
		c.mu.Lock()
		if !have && len(c.queue) > 0 {
			s, have = c.queue[0], true
			c.queue = c.queue[1:]
			c.holding = true
		}
		dropped := c.dropped
		c.dropped = 0
		c.mu.Unlock()
		if dropped > 0 {
			c.log.Warn("status callbacks dropped: the queue was full", "dropped", dropped)
		}
		if !have {
			select {
			case <-ctx.Done():
				return
			case <-c.wake:
				continue
			}
		}
		err := c.publish(ctx, s)
		switch {
		case err == nil:
			if !c.signed && !c.warned {
				c.warned = true
				c.log.Warn("status callbacks are sent unsigned: set --webhook-secret (PAYBRIDGE_WEBHOOK_SECRET) to sign them")
			}
		case errors.Is(err, gateway.ErrDestinationRefused):
			c.log.Warn("status callback refused", "payment", s.PaymentID, "call", s.CallID, "err", err)
		default:
			c.log.Error("status callback not queued; trying again", "payment", s.PaymentID, "call", s.CallID, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(callbackRetry):
			}
			continue
		}
		have = false
		c.mu.Lock()
		c.holding = false
		c.mu.Unlock()
		select {
		case c.progress <- struct{}{}:
		default:
		}
	}
}

// flush waits up to d for every queued state to be in the outbox: at shutdown, once the calls
// and the API no longer hand states over and before the store closes (run still running). It
// logs how many it had to leave, which are lost.
func (c *statusCallbacks) flush(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		c.mu.Lock()
		left := len(c.queue)
		if c.holding {
			left++
		}
		c.mu.Unlock()
		if left == 0 {
			return
		}
		select {
		case <-c.progress:
		case <-t.C:
			c.log.Error("status callbacks still not in the outbox at shutdown: they are lost when the store closes",
				"callbacks", left, "waited", d)
			return
		}
	}
}

func (c *statusCallbacks) publish(ctx context.Context, s engine.AgentPaymentState) error {
	if c.hooks == nil {
		return errors.New("no webhook outbox")
	}
	body := agentPayment(s).View().Form().Encode()
	_, err := c.hooks.PublishCallback(ctx, callbackEventType, s.PaymentID, s.StatusCallback, []byte(body))
	return err
}
