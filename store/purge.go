package store

import (
	"context"
	"fmt"
	"time"
)

// PurgeStats counts what Purge removed.
type PurgeStats struct {
	Calls    int64 `json:"calls"`
	Events   int64 `json:"events"`
	Attempts int64 `json:"attempts"`
	Links    int64 `json:"links"`
	SMS      int64 `json:"sms"`
	Webhooks int64 `json:"webhooks"`

	ProviderEvents int64 `json:"provider_events"`
}

// Purge deletes records older than olderThan, in one transaction:
//
//   - ended calls that ended before it, with their timelines (calls still running are kept);
//   - completed payment attempts (pending ones are kept: they still need reconciling);
//   - links that expired before it; SMS created before it;
//   - webhooks delivered or given up before it.
//
// Payment sessions are kept: they are the masked summary (amount, reference, result, masked
// card, confirmation) that finance needs long after the call — and with them their operations
// and their append-only history. The audit log is kept too.
//
// On a shared database one node purges at a time: a Purge that finds another node's purge
// running (an advisory lock) does nothing and returns zero counts.
func (s *Store) Purge(ctx context.Context, olderThan time.Time) (PurgeStats, error) {
	var st PurgeStats
	t := olderThan.UnixMicro()
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		if ok, err := tx.tryLockKey(ctx, "retention"); err != nil || !ok {
			return err
		}
		steps := []struct {
			n    *int64
			stmt string
			args []any
		}{
			{&st.Events, `DELETE FROM call_events WHERE call_id IN (SELECT id FROM calls WHERE state = ? AND ended_at < ?)`, []any{CallEnded, t}},
			{&st.Calls, `DELETE FROM calls WHERE state = ? AND ended_at < ?`, []any{CallEnded, t}},
			{&st.Attempts, `DELETE FROM payment_attempts WHERE status = ? AND completed_at < ?`, []any{AttemptComplete, t}},
			{&st.Links, `DELETE FROM payment_links WHERE expires_at < ?`, []any{t}},
			{&st.SMS, `DELETE FROM sms_outbox WHERE created_at < ?`, []any{t}},
			{&st.Webhooks, `DELETE FROM webhooks WHERE status <> ? AND created_at < ?`, []any{WebhookPending, t}},
			// Inbound provider events are kept only to refuse replays, which signatures stop
			// after minutes anyway.
			{&st.ProviderEvents, `DELETE FROM provider_events WHERE received_at < ?`, []any{t}},
		}
		for _, s := range steps {
			res, err := tx.ExecContext(ctx, s.stmt, s.args...)
			if err != nil {
				return err
			}
			*s.n, _ = res.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return PurgeStats{}, fmt.Errorf("store: purge: %w", err)
	}
	return st, nil
}
