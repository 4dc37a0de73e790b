package sandbox

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Events the sandbox posts to the merchant (Config.WebhookURL) when something happens to a
// payment after the request that made it: the provider's side of "results posted from
// outside". Each is signed like paybridge's own webhooks — Paybridge-Signature: t=UNIX,v1=HEX,
// the HMAC-SHA256 with Config.WebhookSecret of "t.body" — and retried until the merchant
// answers 2xx (at least once: the merchant dedupes on the event id).
const (
	EventCaptureSettled       = "capture.settled"
	EventRefundSucceeded      = "refund.succeeded"
	EventRefundFailed         = "refund.failed"
	EventAuthorizationExpired = "authorization.expired"
	EventChargeback           = "chargeback.created"
)

// webhookTries bounds the deliveries of one event.
const webhookTries = 8

// SentEvent is an event the sandbox emitted, with its delivery state (GET /admin/events).
type SentEvent struct {
	Event      providerEvent `json:"event"`
	Attempts   int           `json:"attempts"`
	Delivered  bool          `json:"delivered"`
	LastStatus int           `json:"last_status,omitempty"`
}

// emitLocked records an event about charge c (and operation op, when it is about one) and
// queues its delivery. The caller holds s.mu.
func (s *Provider) emitLocked(typ string, c *Charge, op *Operation) {
	ev := providerEvent{ID: newID("evt_"), Type: typ, Created: s.now().Unix(), Data: providerEventData{
		TransactionID: c.ID, API: c.API, Status: c.Status, Amount: formatAmount(amount{Minor: c.Amount, Currency: c.Currency}),
		Currency: c.Currency, Captured: formatAmount(amount{Minor: c.Captured, Currency: c.Currency}),
		Refunded: formatAmount(amount{Minor: c.Refunded, Currency: c.Currency}),
	}}
	if op != nil {
		ev.Data.OperationID, ev.Data.Kind, ev.Data.IdempotencyKey = op.ID, op.Kind, op.IdempotencyKey
		ev.Data.Status, ev.Data.Amount, ev.Data.Reason, ev.Data.ErrorCode = op.Status,
			formatAmount(amount{Minor: op.Amount, Currency: c.Currency}), op.Reason, op.ErrorCode
	}
	if typ == EventChargeback {
		ev.Data.Amount = formatAmount(amount{Minor: c.Captured - c.Refunded, Currency: c.Currency})
		ev.Data.Reason = "fraudulent"
	}
	se := &SentEvent{Event: ev}
	s.events = append(s.events, se)
	if len(s.events) > maxLedger {
		s.events = append([]*SentEvent(nil), s.events[len(s.events)-maxLedger/2:]...)
	}
	if s.cfg.WebhookURL != "" {
		s.after(0, func() { s.deliver(se, 1) })
	}
}

// emitLaterLocked emits an event after Config.WebhookDelay: the answer to the request that
// caused it goes first, as with a real provider.
func (s *Provider) emitLaterLocked(typ string, c *Charge, op *Operation) {
	id, o := c.ID, *op
	s.after(s.cfg.WebhookDelay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if ch := s.byID[id]; ch != nil {
			s.emitLocked(typ, ch, &o)
		}
	})
}

// after runs f after d unless the provider was closed.
func (s *Provider) after(d time.Duration, f func()) {
	s.timersMu.Lock()
	defer s.timersMu.Unlock()
	if s.closed {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(max(d, 0), func() {
		s.timersMu.Lock()
		delete(s.timers, t)
		closed := s.closed
		s.timersMu.Unlock()
		if !closed {
			f()
		}
	})
	s.timers[t] = struct{}{}
}

// Close stops the sandbox's timers: no event is emitted or delivered afterwards.
func (s *Provider) Close() {
	s.timersMu.Lock()
	defer s.timersMu.Unlock()
	s.closed = true
	for t := range s.timers {
		t.Stop()
	}
	clear(s.timers)
}

// deliver posts one event (try n), and schedules the next try on failure.
func (s *Provider) deliver(se *SentEvent, n int) {
	s.mu.Lock()
	body, _ := json.Marshal(se.Event)
	url, secret := s.cfg.WebhookURL, s.cfg.WebhookSecret
	s.mu.Unlock()
	status := 0
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(signatureHeader, signBody(body, secret, s.now()))
		var resp *http.Response
		if resp, err = s.webhookClient.Do(req); err == nil {
			status = resp.StatusCode
			resp.Body.Close()
		}
	}
	s.mu.Lock()
	se.Attempts, se.LastStatus = n, status
	se.Delivered = status >= 200 && status < 300
	s.mu.Unlock()
	if !se.Delivered && n < webhookTries {
		s.after(time.Duration(1<<(n-1))*250*time.Millisecond, func() { s.deliver(se, n+1) })
	}
}

// signBody makes the Paybridge-Signature of body with key at time t.
func signBody(body []byte, key string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Events returns the events the sandbox emitted, oldest first, with their delivery state.
func (s *Provider) Events() []SentEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SentEvent, len(s.events))
	for i, e := range s.events {
		out[i] = *e
	}
	return out
}

func (s *Provider) handleEvents(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"events": s.Events()})
}
