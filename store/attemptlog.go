package store

import (
	"context"
	"fmt"
	"time"

	"github.com/paybridge/paybridge/pan"
)

// The write-ahead attempt log beyond creating and completing an attempt (payments.go): reading
// one attempt, noting a connector error on a pending one, finding the attempts whose payment
// record a killed process never wrote, and listing them (internal/app adapts these to the
// gateway's AttemptLog).

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

// AttemptsWithoutRecord returns the attempts created before the given time whose outcome is
// known but not in a payment record: their session has no record, or an approved attempt's
// record is not completed. A process killed after the provider answered but before its
// recorder wrote the payment leaves these; serve completes their records on start. On a shared
// database use NodeAttemptsWithoutRecord: a live node's recorder may be about to write them.
func (s *Store) AttemptsWithoutRecord(ctx context.Context, before time.Time) ([]Attempt, error) {
	return s.attemptsWithoutRecord(ctx, before, "", false)
}

// NodeAttemptsWithoutRecord is AttemptsWithoutRecord for the attempts one node sent.
func (s *Store) NodeAttemptsWithoutRecord(ctx context.Context, node string, before time.Time) ([]Attempt, error) {
	return s.attemptsWithoutRecord(ctx, before, node, true)
}

func (s *Store) attemptsWithoutRecord(ctx context.Context, before time.Time, node string, byNode bool) ([]Attempt, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	where := `a WHERE a.status = ? AND a.created_at < ? AND a.session_id <> '' AND a.call_id <> ''`
	args := []any{AttemptComplete, before.UnixMicro()}
	if byNode {
		where += ` AND a.node = ?`
		args = append(args, node)
	}
	where += ` AND NOT EXISTS (SELECT 1 FROM payment_sessions p WHERE p.id = a.session_id AND (a.result <> ? OR p.state = ?))
		ORDER BY a.created_at, a.idempotency_key`
	args = append(args, "approved", PaymentCompleted)
	out, err := s.attempts(ctx, db, where, args...)
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
