package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SMSSender texts a message. Implementations never log the body: it holds a link token.
type SMSSender interface {
	// SendSMS sends m (To, From, Body) and returns the message id.
	SendSMS(ctx context.Context, m *SMS) (string, error)
}

// OutboxSender is the sender when no SMS provider is configured: it keeps the text in the
// outbox (the store), where the console shows it as not sent (no SMS provider configured), so
// an admin can read out or forward the link. The link itself is made and works.
type OutboxSender struct {
	outbox SMSOutbox
	now    func() time.Time
}

// NewOutboxSender returns a sender that writes to outbox.
func NewOutboxSender(outbox SMSOutbox) *OutboxSender {
	return &OutboxSender{outbox: outbox, now: time.Now}
}

// SendSMS implements SMSSender.
func (o *OutboxSender) SendSMS(ctx context.Context, m *SMS) (string, error) {
	c := *m
	if c.ID == "" {
		c.ID = newID("sms_")
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = o.now()
	}
	c.Status, c.Error = SMSNotSent, NoSMSProvider
	if err := o.outbox.EnqueueSMS(ctx, &c); err != nil {
		return "", fmt.Errorf("%w: outbox: %w", ErrSMSSend, err)
	}
	return c.ID, nil
}

// What the outbox says of a text kept without an SMS provider.
const (
	SMSNotSent    = "not-sent"
	NoSMSProvider = "no SMS provider configured"
)

// HTTPSender speaks the common "Messages" REST shape (Twilio, Vonage's Messages-compatible
// endpoints, the sandbox's /sms/Messages): a form POST of To, From and Body with HTTP Basic
// auth, answered 2xx with a JSON resource whose "sid" (or "id") is the message id. A send is
// not idempotent, so it is never retried automatically.
type HTTPSender struct {
	URL        string
	User, Pass string
	From       string
	HTTPClient *http.Client  // default: 10s timeout
	Timeout    time.Duration // default 10s
}

// NewHTTPSender returns an HTTPSender posting to url.
func NewHTTPSender(url, user, pass, from string) *HTTPSender {
	return &HTTPSender{URL: url, User: user, Pass: pass, From: from}
}

// SendSMS implements SMSSender.
func (h *HTTPSender) SendSMS(ctx context.Context, m *SMS) (string, error) {
	from := m.From
	if from == "" {
		from = h.From
	}
	form := url.Values{"To": {m.To}, "From": {from}, "Body": {m.Body}}
	timeout := h.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("%w: bad SMS URL", ErrSMSSend)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if h.User != "" {
		req.SetBasicAuth(h.User, h.Pass)
	}
	hc := h.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("%w: timed out", ErrSMSSend)
		}
		return "", fmt.Errorf("%w: SMS provider unreachable", ErrSMSSend)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", fmt.Errorf("%w: HTTP %d", ErrSMSSend, resp.StatusCode)
	}
	var r struct {
		SID string `json:"sid"`
		ID  string `json:"id"`
	}
	_ = json.Unmarshal(b, &r)
	if r.SID != "" {
		return r.SID, nil
	}
	if r.ID != "" {
		return r.ID, nil
	}
	return "", fmt.Errorf("%w: no message id in the answer", ErrSMSSend)
}
