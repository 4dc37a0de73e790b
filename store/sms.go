package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/paybridge/paybridge/pan"
)

// SMS statuses.
const (
	SMSQueued  = "queued"
	SMSSent    = "sent"
	SMSFailed  = "failed"
	SMSNotSent = "not-sent" // kept in the outbox only: no SMS provider is configured (Error says so)
)

// SMS is one message of the outbox. The default sender only writes here (the console shows the
// outbox); an HTTP sender writes here first and marks the row sent or failed.
type SMS struct {
	ID         string    `json:"id"`
	To         string    `json:"to"`
	From       string    `json:"from,omitempty"`
	Body       string    `json:"body"`
	CallID     string    `json:"call_id,omitempty"`
	LinkID     string    `json:"link_id,omitempty"`
	Status     string    `json:"status"` // queued | sent | failed | not-sent
	ProviderID string    `json:"provider_id,omitempty"`
	Error      string    `json:"error,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	SentAt     time.Time `json:"sent_at,omitzero"`
}

// Cursor returns the paging cursor that continues a list after m.
func (m SMS) Cursor() string { return encodeCursor(m.CreatedAt, m.ID) }

// SMSFilter selects messages for ListSMS. Zero fields do not filter.
type SMSFilter struct {
	To     string // exact recipient
	Number string // recipient containing these digits
	CallID string
	LinkID string // the texts of one payment link
	Status string
	Text   string    // the message containing (any case): a reference, a link id
	Since  time.Time // created at or after
	Until  time.Time // created before
	Limit  int
	Cursor string
}

const smsCols = `id, to_number, from_number, body, call_id, link_id, status, provider_id, error, created_at, sent_at`

// EnqueueSMS adds a message to the outbox and returns its id (m.ID, or a new random one).
// Status defaults to queued.
func (s *Store) EnqueueSMS(ctx context.Context, m SMS) (string, error) {
	if m.To == "" || m.Body == "" {
		return "", fmt.Errorf("%w: SMS needs a recipient and a body", ErrInvalid)
	}
	if m.ID == "" {
		m.ID = newID()
	}
	if m.Status == "" {
		m.Status = SMSQueued
	}
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sms_outbox (`+smsCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.ID, pan.Redact(m.To), pan.Redact(m.From), pan.Redact(m.Body), m.CallID, m.LinkID, m.Status,
			m.ProviderID, pan.Redact(m.Error), orNow(m.CreatedAt).UnixMicro(), micros(m.SentAt))
		return err
	})
	if isUnique(err) {
		return "", fmt.Errorf("%w: SMS %s", ErrDuplicate, m.ID)
	}
	if err != nil {
		return "", fmt.Errorf("store: enqueue SMS: %w", err)
	}
	return m.ID, nil
}

// MarkSMSSent records that the provider accepted the message.
func (s *Store) MarkSMSSent(ctx context.Context, id, providerID string, at time.Time) error {
	return s.updateOne(ctx, "SMS "+id, `UPDATE sms_outbox SET status = ?, provider_id = ?, sent_at = ? WHERE id = ?`,
		SMSSent, providerID, orNow(at).UnixMicro(), id)
}

// MarkSMSFailed records that the message could not be sent.
func (s *Store) MarkSMSFailed(ctx context.Context, id, reason string) error {
	return s.updateOne(ctx, "SMS "+id, `UPDATE sms_outbox SET status = ?, error = ? WHERE id = ?`, SMSFailed, pan.Redact(reason), id)
}

// ListSMS returns one page of the outbox, newest first.
func (s *Store) ListSMS(ctx context.Context, f SMSFilter) ([]SMS, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	var q query
	if f.To != "" {
		q.add("to_number = ?", f.To)
	}
	if f.CallID != "" {
		q.add("call_id = ?", f.CallID)
	}
	if f.Status != "" {
		q.add("status = ?", f.Status)
	}
	if f.LinkID != "" {
		q.add("link_id = ?", f.LinkID)
	}
	if f.Number != "" {
		q.addContains("to_number", numberDigits(f.Number))
	}
	if f.Text != "" {
		q.addContains("body", f.Text)
	}
	if !f.Since.IsZero() {
		q.add("created_at >= ?", f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		q.add("created_at < ?", f.Until.UnixMicro())
	}
	if err := q.page("created_at", "id", f.Cursor); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT `+smsCols+` FROM sms_outbox`+q.sql()+
		` ORDER BY created_at DESC, id DESC LIMIT ?`, append(q.args, clampLimit(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("store: list SMS: %w", err)
	}
	defer rows.Close()
	out := []SMS{}
	for rows.Next() {
		var m SMS
		var created, sent sql.NullInt64
		if err := rows.Scan(&m.ID, &m.To, &m.From, &m.Body, &m.CallID, &m.LinkID, &m.Status, &m.ProviderID, &m.Error,
			&created, &sent); err != nil {
			return nil, fmt.Errorf("store: list SMS: %w", err)
		}
		m.CreatedAt, m.SentAt = fromMicros(created), fromMicros(sent)
		out = append(out, m)
	}
	return out, rows.Err()
}

// CountSMSSince counts the messages to one number created at or after since, whatever their
// status: the SMS-pumping guard of SendPaymentLink.
func (s *Store) CountSMSSince(ctx context.Context, to string, since time.Time) (int, error) {
	db, err := s.reader()
	if err != nil {
		return 0, err
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sms_outbox WHERE to_number = ? AND created_at >= ?`,
		to, since.UnixMicro()).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count SMS: %w", err)
	}
	return n, nil
}
