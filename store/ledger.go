package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/paybridge/paybridge/pan"
)

// This file holds what the gateway's write-ahead attempt log and single-use link claims need
// beyond the plain records: reading one attempt, noting a connector error on a pending one,
// and the claim → finish life of a payment link (see internal/app's adapter).

// Link states.
const (
	LinkActive  = "active"  // may be opened and submitted
	LinkClaimed = "claimed" // a submission is with the provider
	LinkUsed    = "used"    // paid: single use spent
	LinkFailed  = "failed"  // too many declined submissions
)

// GetAttempt returns the attempt with the idempotency key, or ErrNotFound.
func (s *Store) GetAttempt(ctx context.Context, key string) (*Attempt, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	as, err := s.attempts(ctx, db, `WHERE idempotency_key = ?`, key)
	if err != nil {
		return nil, fmt.Errorf("store: get attempt %s: %w", key, err)
	}
	if len(as) == 0 {
		return nil, fmt.Errorf("%w: attempt %s", ErrNotFound, key)
	}
	return &as[0], nil
}

// NoteAttemptError keeps the last connector error of a pending attempt (it stays pending).
func (s *Store) NoteAttemptError(ctx context.Context, key, msg string) error {
	return s.updateOne(ctx, "pending attempt "+key, `UPDATE payment_attempts SET last_error = ?, updated_at = ?
		WHERE idempotency_key = ? AND status = ?`, pan.Redact(msg), now().UnixMicro(), key, AttemptPending)
}

// ClaimLink atomically moves an active, unexpired link to claimed and returns it. Of any number
// of concurrent claims exactly one succeeds; the others get ErrLinkBusy (claimed), ErrLinkUsed
// (used or failed), ErrLinkExpired or ErrNotFound.
func (s *Store) ClaimLink(ctx context.Context, hash string, at time.Time) (*Link, error) {
	at = orNow(at)
	var out *Link
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		l, err := scanLink(tx.QueryRowContext(ctx, `SELECT `+linkCols+` FROM payment_links WHERE token_hash = ?`, hash))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: link", ErrNotFound)
		}
		if err != nil {
			return err
		}
		switch {
		case l.Status == LinkUsed || l.Status == LinkFailed || !l.UsedAt.IsZero():
			return ErrLinkUsed
		case l.Status == LinkClaimed:
			return ErrLinkBusy
		case !at.Before(l.ExpiresAt):
			return ErrLinkExpired
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payment_links SET state = ?, claimed_at = ? WHERE token_hash = ? AND state = ?`,
			LinkClaimed, at.UnixMicro(), hash, LinkActive); err != nil {
			return err
		}
		l.Status, l.ClaimedAt = LinkClaimed, at
		out = &l
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrLinkUsed) &&
		!errors.Is(err, ErrLinkBusy) && !errors.Is(err, ErrLinkExpired) {
		return nil, fmt.Errorf("store: claim link: %w", err)
	}
	return out, err
}

// LinkFinish is how a claimed link's submission ended.
type LinkFinish struct {
	Paid         bool   // approved: the link becomes used
	Confirmation string // provider confirmation when paid
	Failed       bool   // no more tries: the link becomes failed
	Retry        bool   // the provider gave no answer: back to active, not counted as a try
	At           time.Time
}

// FinishLink ends a claim: used when paid, failed when f.Failed, else back to active (counting
// one more try unless f.Retry).
func (s *Store) FinishLink(ctx context.Context, hash string, f LinkFinish) error {
	at := orNow(f.At).UnixMicro()
	var stmt string
	var args []any
	switch {
	case f.Paid:
		stmt = `UPDATE payment_links SET state = ?, used_at = ?, confirmation = ?, last_attempt_at = ?, last_result = 'paid',
			attempts = attempts + 1 WHERE token_hash = ? AND state = ?`
		args = []any{LinkUsed, at, pan.Redact(f.Confirmation), at, hash, LinkClaimed}
	case f.Failed:
		stmt = `UPDATE payment_links SET state = ?, last_attempt_at = ?, last_result = 'failed', attempts = attempts + 1
			WHERE token_hash = ? AND state = ?`
		args = []any{LinkFailed, at, hash, LinkClaimed}
	case f.Retry:
		stmt = `UPDATE payment_links SET state = ?, last_attempt_at = ?, last_result = 'no-answer'
			WHERE token_hash = ? AND state = ?`
		args = []any{LinkActive, at, hash, LinkClaimed}
	default:
		stmt = `UPDATE payment_links SET state = ?, last_attempt_at = ?, last_result = 'declined', attempts = attempts + 1
			WHERE token_hash = ? AND state = ?`
		args = []any{LinkActive, at, hash, LinkClaimed}
	}
	return s.updateOne(ctx, "claimed link", stmt, args...)
}

// SetLinkMessage records the SMS message id that carried link id.
func (s *Store) SetLinkMessage(ctx context.Context, id, messageID string) error {
	return s.updateOne(ctx, "link "+id, `UPDATE payment_links SET message_id = ? WHERE id = ?`, messageID, id)
}

// CountLinksTo counts the links created for the number to since since (the daily SMS cap).
func (s *Store) CountLinksTo(ctx context.Context, to string, since time.Time) (int, error) {
	db, err := s.reader()
	if err != nil {
		return 0, err
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM payment_links WHERE to_number = ? AND created_at >= ?`,
		to, since.UnixMicro()).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count links: %w", err)
	}
	return n, nil
}

// RecordWebhookStatus keeps the HTTP status of a webhook's last delivery try.
func (s *Store) RecordWebhookStatus(ctx context.Context, id string, status int) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE webhooks SET last_status = ? WHERE id = ?`, status, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: webhook status %s: %w", id, err)
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// AttemptsWithoutRecord returns the attempts created before the given time whose outcome is
// known but not in a payment record: their session has no record, or an approved attempt's
// record is not completed. A process killed after the provider answered but before its
// recorder wrote the payment leaves these; serve completes their records on start.
func (s *Store) AttemptsWithoutRecord(ctx context.Context, before time.Time) ([]Attempt, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	out, err := s.attempts(ctx, db, `a WHERE a.status = ? AND a.created_at < ? AND a.session_id <> '' AND a.call_id <> ''
		AND NOT EXISTS (SELECT 1 FROM payment_sessions p WHERE p.id = a.session_id AND (a.result <> ? OR p.state = ?))
		ORDER BY a.created_at, a.idempotency_key`, AttemptComplete, before.UnixMicro(), "approved", PaymentCompleted)
	if err != nil {
		return nil, fmt.Errorf("store: attempts without a record: %w", err)
	}
	return out, nil
}

// ListAttempts returns the payment attempts created at or after since, oldest first (for
// audits and reconciliation reports).
func (s *Store) ListAttempts(ctx context.Context, since time.Time) ([]Attempt, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	out, err := s.attempts(ctx, db, `WHERE created_at >= ? ORDER BY created_at, idempotency_key`, since.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("store: list attempts: %w", err)
	}
	return out, nil
}
