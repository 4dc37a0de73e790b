package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/paybridge/paybridge/pan"
)

// Moving the records between databases — a single node's SQLite file into the PostgreSQL database a
// cluster shares (`paybridge migrate --from-sqlite`). Both stores are open, hence migrated; they
// must be at the same schema version (this binary's). The copy runs in one transaction on the
// destination, which must be empty: it either lands whole or not at all. Every row passes the
// same card-data guard as a write through the repository functions: free text through
// pan.Redact, JSON documents through pan.RedactJSON, and a masked card that is not the
// canonical mask refuses the copy.

// copyTable says how to copy one table: its key (the copy order) and which columns are free
// text, JSON documents, masked cards or masked bank accounts.
type copyTable struct {
	name     string
	order    string
	text     []string
	json     []string
	masked   []string
	accounts []string
}

// copyTables are every table of the schema but schema_migrations, parents before children.
var copyTables = []copyTable{
	{name: "nodes", order: "id"},
	{name: "calls", order: "id", text: []string{"caller", "callee", "hangup_cause"}},
	{name: "call_events", order: "call_id, seq", text: []string{"step"}, json: []string{"fields"}},
	{name: "payment_sessions", order: "id", text: []string{"reference", "token", "confirmation", "provider_session_id",
		"provider_payment_id", "error_code"}, json: []string{"invoice", "routes"}, masked: []string{"masked_card"}, accounts: []string{"masked_account"}},
	{name: "payment_attempts", order: "idempotency_key", text: []string{"reference", "error_code", "error_message",
		"confirmation", "token", "last_error"}, masked: []string{"masked_card"}, accounts: []string{"masked_account"}},
	{name: "payment_ops", order: "id", text: []string{"reason", "error_code", "error_message", "actor"}},
	{name: "payment_history", order: "payment_id, seq", text: []string{"actor", "detail"}},
	{name: "provider_events", order: "source, event_id"},
	{name: "payment_links", order: "id", text: []string{"to_number", "reference", "confirmation", "last_result"}, json: []string{"invoice", "terms"}},
	{name: "sms_outbox", order: "id", text: []string{"to_number", "from_number", "body", "error"}},
	{name: "webhooks", order: "id", text: []string{"last_error"}, json: []string{"payload"}},
	{name: "audit_log", order: "id", text: []string{"actor", "detail"}},
}

// CopyStats counts the rows Copy moved, by table.
type CopyStats map[string]int

// Copy copies every record of src into dst, which must be empty and at the same schema
// version. It returns how many rows of each table it copied.
func Copy(ctx context.Context, dst, src *Store) (CopyStats, error) {
	sv, err := src.Version(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: copy: source version: %w", err)
	}
	dv, err := dst.Version(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: copy: destination version: %w", err)
	}
	if sv != dv {
		return nil, fmt.Errorf("%w: source schema %d, destination %d: open both with this paybridge first", ErrInvalid, sv, dv)
	}
	srcDB, err := src.reader()
	if err != nil {
		return nil, err
	}
	if dst.closed.Load() {
		return nil, ErrClosed
	}
	sqlTx, err := dst.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: copy: %w", err)
	}
	defer sqlTx.Rollback()
	tx := &txn{tx: sqlTx, d: dst.d}
	if err := tx.lockKey(ctx, "migrations"); err != nil { // no node migrates meanwhile
		return nil, err
	}
	for _, t := range copyTables {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM `+t.name+` LIMIT 1`).Scan(&one)
		if err == nil {
			return nil, fmt.Errorf("%w: the destination already holds %s: copy into an empty database only", ErrInvalid, t.name)
		}
		if err != sql.ErrNoRows {
			return nil, fmt.Errorf("store: copy: %s: %w", t.name, err)
		}
	}
	stats := CopyStats{}
	for _, t := range copyTables {
		n, err := copyRows(ctx, tx, srcDB, t)
		if err != nil {
			return nil, fmt.Errorf("store: copy %s: %w", t.name, err)
		}
		stats[t.name] = n
	}
	if err := sqlTx.Commit(); err != nil {
		return nil, fmt.Errorf("store: copy: commit: %w", err)
	}
	return stats, nil
}

func copyRows(ctx context.Context, tx *txn, src *reads, t copyTable) (int, error) {
	rows, err := src.QueryContext(ctx, `SELECT * FROM `+t.name+` ORDER BY `+t.order)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	kind := make([]string, len(cols))
	for i, c := range cols {
		switch {
		case contains(t.text, c):
			kind[i] = "text"
		case contains(t.json, c):
			kind[i] = "json"
		case contains(t.masked, c):
			kind[i] = "masked"
		case contains(t.accounts, c):
			kind[i] = "account"
		}
	}
	insert := `INSERT INTO ` + t.name + ` (` + strings.Join(cols, ", ") + `) VALUES (` +
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + `)`
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
				vals[i] = v
			}
			s, isText := v.(string)
			if !isText {
				continue
			}
			switch kind[i] {
			case "text":
				vals[i] = pan.Redact(s)
			case "json":
				if s != "" {
					vals[i] = string(pan.RedactJSON([]byte(s)))
				}
			case "masked":
				if !pan.ValidMask(s) {
					return n, fmt.Errorf("%w: row %d: %s is not the canonical mask", ErrCardData, n+1, cols[i])
				}
			case "account":
				if !pan.ValidAccountMask(s) {
					return n, fmt.Errorf("%w: row %d: %s is not a bank account's mask", ErrCardData, n+1, cols[i])
				}
			}
		}
		if _, err := tx.ExecContext(ctx, insert, vals...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
