package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/paybridge/paybridge/pan"
)

// The claim → finish life of a single-use payment link (internal/app adapts these to the
// gateway's LinkStore): exactly one submission of a link holds it at a time, and its outcome
// decides whether the link is spent, failed for good, or open for another try.

// Link states.
const (
	LinkActive  = "active"  // may be opened and submitted
	LinkClaimed = "claimed" // a submission is with the provider
	LinkUsed    = "used"    // paid: single use spent
	LinkFailed  = "failed"  // too many declined submissions
)

// ClaimLink atomically moves an active, unexpired link to claimed and returns it. Of any number
// of concurrent claims exactly one succeeds; the others get ErrLinkBusy (claimed), ErrLinkUsed
// (used or failed), ErrLinkExpired or ErrNotFound.
func (s *Store) ClaimLink(ctx context.Context, hash string, at time.Time) (*Link, error) {
	at = orNow(at)
	var out *Link
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
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
		res, err := tx.ExecContext(ctx, `UPDATE payment_links SET state = ?, claimed_at = ? WHERE token_hash = ? AND state = ?`,
			LinkClaimed, at.UnixMicro(), hash, LinkActive)
		if err != nil {
			return err
		}
		// On PostgreSQL another node's claim may have committed between the read and this
		// update (which then waits for it and matches nothing): that claim won.
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrLinkBusy
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
