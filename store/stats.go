package store

import (
	"context"
	"fmt"
	"time"
)

// Stats summarises activity since a time, for the console's headline figures.
type Stats struct {
	Since       time.Time        `json:"since"`
	Calls       int              `json:"calls"`        // calls started since
	ActiveCalls int              `json:"active_calls"` // calls not ended (whenever started)
	Payments    map[string]int   `json:"payments"`     // payment sessions created since, by result ("" = in progress)
	Collected   map[string]int64 `json:"collected"`    // amounts charged (payments completed since), minor units by currency
	LinksSent   int              `json:"links_sent"`
	SMSFailed   int              `json:"sms_failed"`
}

// Stats counts calls, payments by result, money collected per currency, links and failed SMS
// since the given time.
func (s *Store) Stats(ctx context.Context, since time.Time) (Stats, error) {
	db, err := s.reader()
	if err != nil {
		return Stats{}, err
	}
	st := Stats{Since: since.UTC(), Payments: map[string]int{}, Collected: map[string]int64{}}
	t := since.UnixMicro()
	q := func(dst *int, stmt string, args ...any) error {
		return db.QueryRowContext(ctx, stmt, args...).Scan(dst)
	}
	if err := q(&st.Calls, `SELECT COUNT(*) FROM calls WHERE started_at >= ?`, t); err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	if err := q(&st.ActiveCalls, `SELECT COUNT(*) FROM calls WHERE state <> ?`, CallEnded); err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	if err := q(&st.LinksSent, `SELECT COUNT(*) FROM payment_links WHERE created_at >= ?`, t); err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	if err := q(&st.SMSFailed, `SELECT COUNT(*) FROM sms_outbox WHERE created_at >= ? AND status = ?`, t, SMSFailed); err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT result, COUNT(*) FROM payment_sessions WHERE created_at >= ? GROUP BY result`, t)
	if err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	for rows.Next() {
		var r string
		var n int
		if err := rows.Scan(&r, &n); err != nil {
			rows.Close()
			return Stats{}, fmt.Errorf("store: stats: %w", err)
		}
		st.Payments[r] = n
	}
	rows.Close()
	// Money counts when it was collected: a link paid today for a call of last week counts today.
	rows, err = db.QueryContext(ctx, `SELECT currency, SUM(amount_minor) FROM payment_sessions
		WHERE COALESCE(completed_at, created_at) >= ? AND result = ? AND currency <> '' GROUP BY currency`, t, ResultSuccess)
	if err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		var sum int64
		if err := rows.Scan(&c, &sum); err != nil {
			return Stats{}, fmt.Errorf("store: stats: %w", err)
		}
		st.Collected[c] = sum
	}
	return st, rows.Err()
}
