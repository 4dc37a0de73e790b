package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/paybridge/paybridge/pan"
)

// AuditEntry is one admin action: who did what, when.
type AuditEntry struct {
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`  // "admin-token", "cli", the remote address, …
	Action string    `json:"action"` // plans.reload, store.purge, …
	Detail string    `json:"detail,omitempty"`
}

// AppendAudit records an admin action now. The audit log is append-only and Purge keeps it.
func (s *Store) AppendAudit(ctx context.Context, actor, action, detail string) error {
	if action == "" {
		return fmt.Errorf("%w: audit entry without action", ErrInvalid)
	}
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?)`,
			newID(), now().UnixMicro(), pan.Redact(actor), action, pan.Redact(detail))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: append audit %s: %w", action, err)
	}
	return nil
}

// ListAudit returns the newest entries first, at most limit.
func (s *Store) ListAudit(ctx context.Context, limit int) ([]AuditEntry, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT id, at, actor, action, detail FROM audit_log ORDER BY at DESC, id DESC LIMIT ?`, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at sql.NullInt64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: list audit: %w", err)
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
