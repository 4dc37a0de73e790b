package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/paybridge/paybridge/event"
)

// WebhookEndpoint is a receiver of result webhooks.
type WebhookEndpoint struct {
	Name   string   // stable name; deliveries refer to it
	URL    string   // http(s)
	Secret string   // signing secret shared with the receiver
	Events []string // event types to send (empty = all)
}

// WebhooksConfig configures the webhook dispatcher.
type WebhooksConfig struct {
	Store      WebhookStore
	Endpoints  []WebhookEndpoint
	HTTPClient *http.Client
	// Timeout per delivery (default 10s).
	Timeout time.Duration
	// MaxAttempts before a delivery is dead (default 12).
	MaxAttempts int
	// Backoff after the first failure, doubling up to MaxBackoff (defaults 5s and 1h).
	Backoff, MaxBackoff time.Duration
	// PollInterval is how often Run looks for due deliveries (default 1s): retries coming due,
	// and deliveries queued by other nodes sharing the store. Publish wakes it when it queued
	// a delivery.
	PollInterval time.Duration
	// Concurrency is how many deliveries are in flight at once (default 4), so one slow
	// receiver does not hold up the others.
	Concurrency int
	Logger      *slog.Logger
	Now         func() time.Time
	// Callbacks configures the deliveries queued by PublishCallback.
	Callbacks CallbacksConfig
}

// CallbackEndpoint is the endpoint name of the deliveries queued by PublishCallback: each
// carries its own URL, and the store hands out the pending ones of one subject in the order
// they were queued (the next only once the one before it is delivered or dead).
const CallbackEndpoint = "status-callback"

// CallbacksConfig configures status callbacks: deliveries to a URL given per delivery (an
// agent payment's StatusCallback) rather than to a configured endpoint.
type CallbacksConfig struct {
	// HTTPClient sends them; it decides where they may go (the node passes the plans'
	// client, which enforces --http-allow). A refusal it reports as ErrDestinationRefused
	// gives the delivery up at once. Nil: callbacks are given up unsent.
	HTTPClient *http.Client
	// Secret signs them (Paybridge-Signature, see Sign); empty sends them unsigned.
	Secret string
}

// Webhooks publishes signed result webhooks: each event is persisted as one delivery per
// endpoint before anything is sent, then delivered by Run with retries and exponential backoff
// until the receiver answers 2xx — at least once. Receivers dedupe on the event id.
//
// A delivery is an HTTP POST of the event JSON with the headers Paybridge-Event-Id,
// Paybridge-Event-Type and Paybridge-Signature (see Sign), signed afresh on every try.
type Webhooks struct {
	cfg  WebhooksConfig
	wake chan struct{}
	log  *slog.Logger

	mu           sync.Mutex
	lastCallback time.Time // PublishCallback's last CreatedAt
}

// WebhookEvent is the JSON body of a webhook.
type WebhookEvent struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Created int64           `json:"created"`
	Data    json.RawMessage `json:"data"`
}

// NewWebhooks returns a dispatcher with cfg's defaults filled in.
func NewWebhooks(cfg WebhooksConfig) *Webhooks {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 12
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 5 * time.Second
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = time.Hour
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Webhooks{cfg: cfg, wake: make(chan struct{}, 1), log: cfg.Logger}
}

func wants(ep WebhookEndpoint, typ string) bool {
	if len(ep.Events) == 0 {
		return true
	}
	for _, e := range ep.Events {
		if e == typ {
			return true
		}
	}
	return false
}

// Publish persists an event for every endpoint that wants it and wakes the dispatcher. data is
// marshalled to JSON; it must never hold card data (use masks). It returns the event id.
func (w *Webhooks) Publish(ctx context.Context, eventType string, data any) (string, error) {
	return w.PublishAbout(ctx, eventType, "", data)
}

// PublishAbout is Publish for an event about subject (a payment record's id): its deliveries
// carry it, so that they can be listed with the payment.
func (w *Webhooks) PublishAbout(ctx context.Context, eventType, subject string, data any) (string, error) {
	if !slices.ContainsFunc(w.cfg.Endpoints, func(ep WebhookEndpoint) bool { return wants(ep, eventType) }) {
		// No endpoint wants it (every payment on a node without webhooks): nothing to encode,
		// persist or send. The payment record's JSON, twice, was ~0.6 % of serve's CPU at
		// 1,000 calls (docs/sip.md, "The call's own work, part 2").
		return newID("evt_"), nil
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return "", fmt.Errorf("gateway: webhook data: %w", err)
	}
	now := w.cfg.Now()
	ev := WebhookEvent{ID: newID("evt_"), Type: eventType, Created: now.Unix(), Data: raw}
	body, err := json.Marshal(ev)
	if err != nil {
		return "", fmt.Errorf("gateway: webhook event: %w", err)
	}
	queued := 0
	for _, ep := range w.cfg.Endpoints {
		if !wants(ep, eventType) {
			continue
		}
		d := &Delivery{ID: newID("whd_"), EventID: ev.ID, EventType: eventType, Subject: subject, Endpoint: ep.Name, URL: ep.URL,
			Body: body, State: DeliveryPending, NextAttempt: now, CreatedAt: now}
		if err := w.cfg.Store.EnqueueDelivery(ctx, d); err != nil {
			return ev.ID, fmt.Errorf("gateway: persisting webhook for %s: %w", ep.Name, err)
		}
		queued++
	}
	// Wake the dispatcher only when there is something new to send: an event no endpoint
	// wants (every payment on a node without webhooks) costs no delivery pass. Retries and
	// other nodes' deliveries are found by the poll.
	if queued > 0 {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return ev.ID, nil
}

// PublishCallback persists one status callback to the URL to, about subject — a form body
// (application/x-www-form-urlencoded) — and wakes the dispatcher. The deliveries of one
// subject are sent in the order they were published, each retried with the webhooks' backoff
// until the receiver answers 2xx or MaxAttempts is reached. form must never hold card data.
func (w *Webhooks) PublishCallback(ctx context.Context, eventType, subject, to string, form []byte) (string, error) {
	if !strings.HasPrefix(to, "http://") && !strings.HasPrefix(to, "https://") {
		return "", fmt.Errorf("%w: %q is not an http(s) URL", ErrDestinationRefused, to)
	}
	now := w.callbackTime()
	d := &Delivery{ID: newID("whd_"), EventID: newID("evt_"), EventType: eventType, Subject: subject, Endpoint: CallbackEndpoint,
		URL: to, Body: form, State: DeliveryPending, NextAttempt: now, CreatedAt: now}
	if err := w.cfg.Store.EnqueueDelivery(ctx, d); err != nil {
		return d.EventID, fmt.Errorf("gateway: persisting status callback: %w", err)
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return d.EventID, nil
}

// callbackTime is now, strictly after the previous callback's time on this node: the store
// orders a subject's callbacks by it (a payment's states are published by its own node).
func (w *Webhooks) callbackTime() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.cfg.Now().Truncate(time.Microsecond)
	if !now.After(w.lastCallback) {
		now = w.lastCallback.Add(time.Microsecond)
	}
	w.lastCallback = now
	return now
}

// Sink returns an EventSink that publishes the engine's events of the given types (e.g.
// "pay.completed", "link.paid") as webhooks. Events are masked by construction.
func (w *Webhooks) Sink(types ...string) event.Sink {
	set := map[string]bool{}
	for _, t := range types {
		set[t] = true
	}
	return event.SinkFunc(func(e event.Event) {
		if len(set) > 0 && !set[e.Type()] {
			return
		}
		if _, err := w.Publish(context.Background(), e.Type(), e); err != nil {
			w.log.Error("webhook publish failed", "type", e.Type(), "error", err)
		}
	})
}

// Run delivers due webhooks until ctx is done.
func (w *Webhooks) Run(ctx context.Context) error {
	t := time.NewTicker(w.cfg.PollInterval)
	defer t.Stop()
	for {
		if _, err := w.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			w.log.Error("webhook delivery pass failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-w.wake:
		}
	}
}

// DeliverDue makes one pass over the due deliveries and returns how many were delivered.
func (w *Webhooks) DeliverDue(ctx context.Context) (int, error) {
	due, err := w.cfg.Store.DueDeliveries(ctx, w.cfg.Now(), 100)
	if err != nil {
		return 0, err
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, w.cfg.Concurrency)
	for _, d := range due {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if w.deliver(ctx, d) {
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(n.Load()), ctx.Err()
}

func (w *Webhooks) endpoint(name string) (WebhookEndpoint, bool) {
	for _, ep := range w.cfg.Endpoints {
		if ep.Name == name {
			return ep, true
		}
	}
	return WebhookEndpoint{}, false
}

// backoff is the wait after the n-th failed try (n ≥ 1).
func (w *Webhooks) backoff(n int) time.Duration {
	d := w.cfg.Backoff
	for i := 1; i < n && d < w.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.cfg.MaxBackoff)
}

func (w *Webhooks) deliver(ctx context.Context, d *Delivery) bool {
	if d.Endpoint == CallbackEndpoint {
		return w.deliverCallback(ctx, d)
	}
	ep, ok := w.endpoint(d.Endpoint)
	if !ok {
		_ = w.cfg.Store.MarkFailed(ctx, d.ID, 0, "endpoint no longer configured", w.cfg.Now(), true)
		return false
	}
	status, answer, err := w.post(ctx, w.cfg.HTTPClient, ep, d)
	return w.record(ctx, d, status, answer, err)
}

// deliverCallback sends a status callback to its own URL through the callbacks' client; a
// destination that client refuses is given up at once.
func (w *Webhooks) deliverCallback(ctx context.Context, d *Delivery) bool {
	if w.cfg.Callbacks.HTTPClient == nil {
		_ = w.cfg.Store.MarkFailed(ctx, d.ID, 0, "status callbacks are not configured", w.cfg.Now(), true)
		return false
	}
	ep := WebhookEndpoint{Name: CallbackEndpoint, URL: d.URL, Secret: w.cfg.Callbacks.Secret}
	status, answer, err := w.post(ctx, w.cfg.Callbacks.HTTPClient, ep, d)
	if errors.Is(err, ErrDestinationRefused) {
		if err := w.cfg.Store.MarkFailed(ctx, d.ID, 0, err.Error(), w.cfg.Now(), true); err != nil {
			w.log.Error("recording a refused status callback failed", "delivery", d.ID, "error", err)
		}
		w.log.Warn("status callback refused: destination not allowed", "delivery", d.ID, "subject", d.Subject, "error", err)
		return false
	}
	ok := w.record(ctx, d, status, answer, err)
	if ok {
		// The subject's next callback became due: send it now rather than at the next poll.
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return ok
}

// record keeps the outcome of one try: delivered, or failed with the next try after the
// backoff (dead after MaxAttempts).
func (w *Webhooks) record(ctx context.Context, d *Delivery, status int, answer string, err error) bool {
	now := w.cfg.Now()
	if err == nil && status >= 200 && status <= 299 {
		if err := w.cfg.Store.MarkDelivered(ctx, d.ID, status, now); err != nil {
			w.log.Error("recording a webhook delivery failed", "delivery", d.ID, "error", err)
		}
		return true
	}
	msg := fmt.Sprintf("HTTP %d", status)
	if answer != "" {
		msg += ": " + answer // what the receiver said, for whoever looks into it
	}
	if err != nil {
		msg = err.Error()
	}
	tries := d.Attempts + 1
	dead := tries >= w.cfg.MaxAttempts
	if err := w.cfg.Store.MarkFailed(ctx, d.ID, status, msg, now.Add(w.backoff(tries)), dead); err != nil {
		w.log.Error("recording a webhook failure failed", "delivery", d.ID, "error", err)
	}
	w.log.Warn("webhook delivery failed", "delivery", d.ID, "endpoint", d.Endpoint, "try", tries, "dead", dead, "error", msg)
	return false
}

// maxAnswer is how much of a receiver's answer to a failed delivery is kept.
const maxAnswer = 200

// post sends one try and returns the receiver's status and the start of its answer (printable,
// at most maxAnswer bytes).
func (w *Webhooks) post(ctx context.Context, client *http.Client, ep WebhookEndpoint, d *Delivery) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	if !strings.HasPrefix(ep.URL, "http://") && !strings.HasPrefix(ep.URL, "https://") {
		return 0, "", fmt.Errorf("endpoint URL is not http(s)")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, "", fmt.Errorf("bad endpoint URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "paybridge-webhooks")
	if ep.Name == CallbackEndpoint {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // Twilio's StatusCallback body
		req.Header.Set("User-Agent", "paybridge-status-callback")
	}
	req.Header.Set("Paybridge-Event-Id", d.EventID)
	req.Header.Set("Paybridge-Event-Type", d.EventType)
	if ep.Secret != "" || ep.Name != CallbackEndpoint {
		req.Header.Set(SignatureHeader, Sign(d.Body, ep.Secret, w.cfg.Now()))
	}
	resp, err := client.Do(req)
	if ue := (*url.Error)(nil); errors.Is(err, ErrDestinationRefused) && errors.As(err, &ue) {
		return 0, "", ue.Err // the client's reason (which --http-allow entry is missing), without the URL
	}
	if err != nil {
		if ctx.Err() != nil {
			return 0, "", fmt.Errorf("timed out")
		}
		return 0, "", fmt.Errorf("endpoint unreachable")
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, answerText(head), nil
}

// answerText makes the start of an answer safe to keep and show: printable characters only,
// white space runs as one space.
func answerText(b []byte) string {
	var out strings.Builder
	space := false
	for _, r := range string(b) {
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			space = out.Len() > 0
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
		default:
			if space {
				out.WriteByte(' ')
				space = false
			}
			out.WriteRune(r)
		}
	}
	return out.String()
}
