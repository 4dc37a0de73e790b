package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"time"

	"github.com/paybridge/paybridge/pan"
)

// Webhook delivery statuses.
const (
	WebhookPending   = "pending"
	WebhookDelivered = "delivered"
	WebhookDead      = "dead" // retries exhausted
)

// Webhook is one result notification to deliver to a customer's endpoint, with its retry
// state. The payload is JSON; strings in it that spell a card number are masked on write.
type Webhook struct {
	ID          string    `json:"id"`
	Event       string    `json:"event"` // pay.completed, link.paid, …
	URL         string    `json:"url"`
	Payload     []byte    `json:"payload"`
	Status      string    `json:"status"`
	Attempts    int       `json:"attempts"`
	NextAt      time.Time `json:"next_at"`
	LastError   string    `json:"last_error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	EventID     string    `json:"event_id,omitempty"` // shared by the deliveries of one event to several endpoints
	Subject     string    `json:"subject,omitempty"`  // what it is about: the payment record's id
	Endpoint    string    `json:"endpoint,omitempty"` // the configured endpoint's name
	LastStatus  int       `json:"last_status,omitempty"`
	// ClaimedBy is the node delivering it now, until ClaimedUntil (ClaimDueWebhooks).
	ClaimedBy    string    `json:"claimed_by,omitempty"`
	ClaimedUntil time.Time `json:"claimed_until,omitzero"`
}

// OrderedWebhookEndpoint is the endpoint whose deliveries are handed out in order per subject
// (an agent payment's status callbacks, gateway.CallbackEndpoint): a delivery is due only when
// no earlier pending delivery of the same subject to that endpoint is waiting, so a receiver
// gets a payment's states in the order they happened even when one needed retries.
const OrderedWebhookEndpoint = "status-callback"

// notBlocked is the condition (on the alias w) that no earlier pending delivery of w's subject
// to the ordered endpoint is waiting; it uses the webhooks_subject index.
const notBlocked = ` AND NOT (w.endpoint = '` + OrderedWebhookEndpoint + `' AND EXISTS (SELECT 1 FROM webhooks e
	WHERE e.subject = w.subject AND e.endpoint = w.endpoint AND e.status = '` + WebhookPending + `'
	AND (e.created_at < w.created_at OR (e.created_at = w.created_at AND e.id < w.id))))`

const webhookCols = `id, event, url, payload, status, attempts, next_at, last_error, created_at, delivered_at,
	event_id, endpoint, last_status, subject, claimed_by, claimed_until`

// EnqueueWebhook stores a delivery due at w.NextAt (default now) and returns its id.
func (s *Store) EnqueueWebhook(ctx context.Context, w Webhook) (string, error) {
	if w.URL == "" || w.Event == "" {
		return "", fmt.Errorf("%w: webhook needs an event and a URL", ErrInvalid)
	}
	if w.ID == "" {
		w.ID = newID()
	}
	created := orNow(w.CreatedAt)
	next := w.NextAt
	if next.IsZero() {
		next = created
	}
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhooks (`+webhookCols+`) VALUES (?, ?, ?, ?, ?, 0, ?, '', ?, NULL, ?, ?, 0, ?, '', NULL)`,
			w.ID, w.Event, w.URL, string(redactPayload(w.Payload)), WebhookPending, next.UnixMicro(), created.UnixMicro(),
			w.EventID, w.Endpoint, w.Subject)
		return err
	})
	if isUnique(err) {
		return "", fmt.Errorf("%w: webhook %s", ErrDuplicate, w.ID)
	}
	if err != nil {
		return "", fmt.Errorf("store: enqueue webhook: %w", err)
	}
	return w.ID, nil
}

// redactPayload masks what spells a card number in a webhook's payload: JSON token by token,
// or a form body (a status callback's) value by value once decoded, so that a number written
// with '+' or %20 between its groups is seen as the text it stands for.
func redactPayload(p []byte) []byte {
	if t := bytes.TrimSpace(p); len(t) == 0 || t[0] == '{' || t[0] == '[' {
		return pan.RedactJSON(p)
	}
	v, err := url.ParseQuery(string(p))
	if err != nil {
		return []byte(pan.Redact(string(p)))
	}
	changed := false
	for k, vals := range v {
		if pan.Redact(k) != k {
			return []byte(pan.Redact(string(p))) // a key spelling a number: not a form we write
		}
		for i, s := range vals {
			if r := pan.Redact(s); r != s {
				vals[i], changed = r, true
			}
		}
	}
	if !changed {
		return []byte(pan.Redact(string(p)))
	}
	return []byte(pan.Redact(v.Encode()))
}

// DueWebhooks returns up to limit pending deliveries due at or before now, oldest due first,
// whether or not a node has claimed them (the console's view). Dispatchers use
// ClaimDueWebhooks.
func (s *Store) DueWebhooks(ctx context.Context, at time.Time, limit int) ([]Webhook, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE status = ? AND next_at <= ?
		ORDER BY next_at, id LIMIT ?`, WebhookPending, orNow(at).UnixMicro(), clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: due webhooks: %w", err)
	}
	out, err := scanWebhooks(rows)
	if err != nil {
		return nil, fmt.Errorf("store: due webhooks: %w", err)
	}
	return out, nil
}

// WebhooksAbout returns the deliveries about subject (a payment record's id), oldest first:
// what was sent where, how often, and what the receiver answered.
func (s *Store) WebhooksAbout(ctx context.Context, subject string) ([]Webhook, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE subject = ? ORDER BY created_at, id LIMIT ?`,
		subject, MaxLimit)
	if err != nil {
		return nil, fmt.Errorf("store: webhooks about %s: %w", subject, err)
	}
	out, err := scanWebhooks(rows)
	if err != nil {
		return nil, fmt.Errorf("store: webhooks about %s: %w", subject, err)
	}
	return out, nil
}

// WebhooksDue reports whether a delivery is waiting to be claimed at at: pending, due, and not
// held by a live claim. It only reads (the read pool, the webhooks_due index), so a node can
// ask it as often as it likes and claim (a write) only when there is something to send.
func (s *Store) WebhooksDue(ctx context.Context, at time.Time) (bool, error) {
	db, err := s.reader()
	if err != nil {
		return false, err
	}
	at = orNow(at)
	var one int
	err = db.QueryRowContext(ctx, `SELECT 1 FROM webhooks w WHERE w.status = ? AND w.next_at <= ? AND (w.claimed_until IS NULL OR w.claimed_until <= ?)`+
		notBlocked+` LIMIT 1`,
		WebhookPending, at.UnixMicro(), at.UnixMicro()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: webhooks due: %w", err)
	}
	return true, nil
}

// ClaimDueWebhooks claims up to limit pending deliveries due at or before at for node, for
// lease, and returns them oldest due first. A claimed delivery is not returned to any other
// claim until its lease ends: each delivery is sent by one node at a time, and when that node
// dies mid-delivery another node claims it again once the lease has passed (delivery is at
// least once; receivers dedupe on the event id). Marking it delivered or failed ends the claim.
// On PostgreSQL concurrent claims skip each other's rows (FOR UPDATE SKIP LOCKED).
func (s *Store) ClaimDueWebhooks(ctx context.Context, node string, at time.Time, lease time.Duration, limit int) ([]Webhook, error) {
	if lease <= 0 {
		return nil, fmt.Errorf("%w: webhook claim without a lease", ErrInvalid)
	}
	at = orNow(at)
	var out []Webhook
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		rows, err := tx.QueryContext(ctx, `UPDATE webhooks SET claimed_by = ?, claimed_until = ?
			WHERE id IN (SELECT w.id FROM webhooks w WHERE w.status = ? AND w.next_at <= ? AND (w.claimed_until IS NULL OR w.claimed_until <= ?)`+
			notBlocked+` ORDER BY w.next_at, w.id LIMIT ?`+tx.d.skipLocked()+`)
			RETURNING `+webhookCols,
			node, at.Add(lease).UnixMicro(), WebhookPending, at.UnixMicro(), at.UnixMicro(), clampLimit(limit))
		if err != nil {
			return err
		}
		out, err = scanWebhooks(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim due webhooks: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].NextAt.Equal(out[j].NextAt) {
			return out[i].NextAt.Before(out[j].NextAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func scanWebhooks(rows *sql.Rows) ([]Webhook, error) {
	defer rows.Close()
	out := []Webhook{}
	for rows.Next() {
		var w Webhook
		var payload string
		var next, created, delivered, claimed sql.NullInt64
		if err := rows.Scan(&w.ID, &w.Event, &w.URL, &payload, &w.Status, &w.Attempts, &next, &w.LastError,
			&created, &delivered, &w.EventID, &w.Endpoint, &w.LastStatus, &w.Subject, &w.ClaimedBy, &claimed); err != nil {
			return nil, err
		}
		w.Payload = []byte(payload)
		w.NextAt, w.CreatedAt, w.DeliveredAt = fromMicros(next), fromMicros(created), fromMicros(delivered)
		w.ClaimedUntil = fromMicros(claimed)
		out = append(out, w)
	}
	return out, rows.Err()
}

// MarkWebhookDelivered records a successful delivery.
func (s *Store) MarkWebhookDelivered(ctx context.Context, id string, at time.Time) error {
	return s.updateOne(ctx, "pending webhook "+id, `UPDATE webhooks SET status = ?, attempts = attempts + 1, delivered_at = ?, last_error = '',
		claimed_by = '', claimed_until = NULL WHERE id = ? AND status = ?`, WebhookDelivered, orNow(at).UnixMicro(), id, WebhookPending)
}

// MarkWebhookFailed records a failed try and schedules the next at `next`; a zero next gives
// up (status dead).
func (s *Store) MarkWebhookFailed(ctx context.Context, id string, next time.Time, reason string) error {
	status := WebhookPending
	var nextAt any = nil
	if next.IsZero() {
		status = WebhookDead
	} else {
		nextAt = next.UnixMicro()
	}
	return s.updateOne(ctx, "pending webhook "+id, `UPDATE webhooks SET status = ?, attempts = attempts + 1,
		next_at = COALESCE(?, next_at), last_error = ?, claimed_by = '', claimed_until = NULL WHERE id = ? AND status = ?`,
		status, nextAt, pan.Redact(reason), id, WebhookPending)
}

// WebhookTry is the outcome of one delivery try, recorded by RecordWebhookTry.
type WebhookTry struct {
	Status    int       // the receiver's HTTP status (0: no answer)
	Delivered bool      // a 2xx: the delivery is done
	At        time.Time // when it was delivered
	Next      time.Time // not delivered: when to try again; zero gives up (status dead)
	Reason    string    // not delivered: why (redacted before it is written)
}

// RecordWebhookTry records a try of a pending delivery in one write — its HTTP status, and
// delivered, or failed with its next try — and ends the claim on it. It is MarkWebhookDelivered
// or MarkWebhookFailed together with RecordWebhookStatus.
func (s *Store) RecordWebhookTry(ctx context.Context, id string, t WebhookTry) error {
	if t.Delivered {
		return s.updateOne(ctx, "pending webhook "+id, `UPDATE webhooks SET status = ?, attempts = attempts + 1, delivered_at = ?, last_error = '',
			last_status = ?, claimed_by = '', claimed_until = NULL WHERE id = ? AND status = ?`,
			WebhookDelivered, orNow(t.At).UnixMicro(), t.Status, id, WebhookPending)
	}
	status := WebhookPending
	var nextAt any = nil
	if t.Next.IsZero() {
		status = WebhookDead
	} else {
		nextAt = t.Next.UnixMicro()
	}
	return s.updateOne(ctx, "pending webhook "+id, `UPDATE webhooks SET status = ?, attempts = attempts + 1,
		next_at = COALESCE(?, next_at), last_error = ?, last_status = ?, claimed_by = '', claimed_until = NULL WHERE id = ? AND status = ?`,
		status, nextAt, pan.Redact(t.Reason), t.Status, id, WebhookPending)
}

// RecordWebhookStatus keeps the HTTP status of a webhook's last delivery try.
func (s *Store) RecordWebhookStatus(ctx context.Context, id string, status int) error {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `UPDATE webhooks SET last_status = ? WHERE id = ?`, status, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: webhook status %s: %w", id, err)
	}
	return nil
}

// ReleaseWebhookClaims ends every claim node holds on a pending delivery, so that the next
// claim by any node sends it at once rather than when the lease ends: for a node's own claims
// of a previous run on its restart, or a dead node's on takeover. It returns how many it freed.
func (s *Store) ReleaseWebhookClaims(ctx context.Context, node string) (int, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhooks SET claimed_by = '', claimed_until = NULL WHERE claimed_by = ? AND status = ?`,
			node, WebhookPending)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: release webhook claims of %s: %w", node, err)
	}
	return int(n), nil
}
