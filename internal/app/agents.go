package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/engine"
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

// statusCallbacks posts every state of an agent payment that asked for it to its
// StatusCallback URL, form-encoded with Twilio's names (console.AgentPaymentView.Form): masked
// values only. The engine hands states over from the call's run, which must not wait: they
// are queued (bounded; when full the oldest waiting state is dropped and logged) and sent in
// order by one goroutine per node through the plans' HTTP client, so --http-allow decides
// where callbacks may go, as it does for a plan's own requests. A callback is tried once.
type statusCallbacks struct {
	client *http.Client
	log    *slog.Logger

	mu      sync.Mutex
	queue   []engine.AgentPaymentState
	wake    chan struct{}
	dropped int
}

const (
	maxCallbackQueue = 4096
	callbackTimeout  = 10 * time.Second
)

func newStatusCallbacks(client *http.Client, log *slog.Logger) *statusCallbacks {
	return &statusCallbacks{client: client, log: log, wake: make(chan struct{}, 1)}
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

// run sends the queued callbacks until ctx ends.
func (c *statusCallbacks) run(ctx context.Context) {
	for {
		c.mu.Lock()
		var s engine.AgentPaymentState
		have := len(c.queue) > 0
		if have {
			s = c.queue[0]
			c.queue = c.queue[1:]
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
		c.send(ctx, s)
	}
}

func (c *statusCallbacks) send(ctx context.Context, s engine.AgentPaymentState) {
	ctx, cancel := context.WithTimeout(ctx, callbackTimeout)
	defer cancel()
	body := agentPayment(s).View().Form().Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.StatusCallback, strings.NewReader(body))
	if err != nil {
		c.log.Warn("status callback", "payment", s.PaymentID, "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "paybridge-status-callback")
	resp, err := c.client.Do(req)
	if err != nil {
		c.log.Warn("status callback not delivered", "payment", s.PaymentID, "call", s.CallID, "err", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		c.log.Warn("status callback refused", "payment", s.PaymentID, "call", s.CallID, "status", resp.StatusCode)
	}
}
