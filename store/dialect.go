package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	sqlite3 "github.com/mattn/go-sqlite3"
)

// The store speaks two dialects of the same SQL. Repository functions write portable SQL with
// ? placeholders and run it on a txn (inside a write) or on reads (the read pool); both rewrite
// the placeholders to $1, $2, … for PostgreSQL. What differs beyond that stays in this file
// and the few places that ask the dialect:
//
//   - migrations: INTEGER columns are BIGINT on PostgreSQL (times are microseconds), and a
//     migration may hold sections for one dialect ("-- dialect: sqlite"), for what each
//     writes its own way (the append-only triggers of 0011);
//   - row locks: FOR UPDATE / FOR UPDATE SKIP LOCKED on PostgreSQL, where writers run
//     concurrently; SQLite has one writer, which already serialises them;
//   - advisory locks (cluster-wide mutual exclusion: node ids, migrations, retention, the SMS
//     cap) exist on PostgreSQL only; on SQLite one process owns the file;
//   - constraint errors: SQLite extended codes vs PostgreSQL SQLSTATEs.

// dialect names the database the store runs on.
type dialect int

const (
	sqliteDialect dialect = iota
	postgresDialect
)

func (d dialect) String() string {
	if d == postgresDialect {
		return "postgres"
	}
	return "sqlite"
}

// rebind rewrites ? placeholders for the dialect. A ? inside a quoted string or identifier is
// left alone.
func (d dialect) rebind(q string) string {
	if d != postgresDialect || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// integerType matches the INTEGER type of a column definition.
var integerType = regexp.MustCompile(`\bINTEGER\b`)

// ddl adapts a migration to the dialect: 64-bit integers on PostgreSQL, and only the
// statements meant for it (see section).
func (d dialect) ddl(q string) string {
	q = d.section(q)
	if d != postgresDialect {
		return q
	}
	return integerType.ReplaceAllString(q, "BIGINT")
}

// dialectMarker is a line that starts statements for one dialect in a migration:
// "-- dialect: sqlite", "-- dialect: postgres", or "-- dialect: both" for statements both run
// (what a migration starts with). Triggers, say, are written differently in each.
var dialectMarker = regexp.MustCompile(`(?m)^--\s*dialect:\s*(\S*)\s*$`)

// section keeps the lines of q meant for d: every line outside a dialect marker's section,
// and those of d's own sections.
func (d dialect) section(q string) string {
	if !dialectMarker.MatchString(q) {
		return q
	}
	var b strings.Builder
	keep := true
	for line := range strings.Lines(q) {
		if m := dialectMarker.FindStringSubmatch(strings.TrimRight(line, "\r\n")); m != nil {
			keep = m[1] == "both" || m[1] == d.String()
			continue
		}
		if keep {
			b.WriteString(line)
		}
	}
	return b.String()
}

// checkSections reports a dialect marker that names no dialect (a typo would silently drop
// statements from both databases).
func checkSections(q string) error {
	for _, m := range dialectMarker.FindAllStringSubmatch(q, -1) {
		if m[1] != "both" && m[1] != sqliteDialect.String() && m[1] != postgresDialect.String() {
			return fmt.Errorf("unknown dialect %q in a \"-- dialect:\" line (sqlite, postgres or both)", m[1])
		}
	}
	return nil
}

// forUpdate locks the rows a SELECT reads until the write commits (PostgreSQL); SQLite's single
// writer needs nothing.
func (d dialect) forUpdate() string {
	if d == postgresDialect {
		return " FOR UPDATE"
	}
	return ""
}

// skipLocked is forUpdate that passes over rows another node has locked.
func (d dialect) skipLocked() string {
	if d == postgresDialect {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// querier runs read statements: *reads and *txn.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// txn is the transaction of one write, speaking the store's dialect.
type txn struct {
	tx *sql.Tx
	d  dialect
}

func (t *txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.d.rebind(q), args...)
}

func (t *txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.d.rebind(q), args...)
}

func (t *txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.d.rebind(q), args...)
}

// lockKey takes a transaction-scoped advisory lock on name (PostgreSQL): writes that must not
// interleave across nodes (the SMS cap of one number, say) queue behind each other until the
// holder commits. On SQLite the single writer already runs them one at a time.
func (t *txn) lockKey(ctx context.Context, name string) error {
	if t.d != postgresDialect {
		return nil
	}
	_, err := t.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, lockPrefix+name)
	return err
}

// tryLockKey is lockKey that does not wait: false when another transaction holds the lock.
func (t *txn) tryLockKey(ctx context.Context, name string) (bool, error) {
	if t.d != postgresDialect {
		return true, nil
	}
	var ok bool
	err := t.tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))`, lockPrefix+name).Scan(&ok)
	return ok, err
}

// lockPrefix namespaces paybridge's advisory locks in a database others may share.
const lockPrefix = "paybridge:"

// reads is the read pool, speaking the store's dialect.
type reads struct {
	db *sql.DB
	d  dialect
}

func (r *reads) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return r.db.QueryContext(ctx, r.d.rebind(q), args...)
}

func (r *reads) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return r.db.QueryRowContext(ctx, r.d.rebind(q), args...)
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY constraint violation.
func isUnique(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" // unique_violation
}

// isForeignKey reports whether err is a FOREIGN KEY constraint violation.
func isForeignKey(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintForeignKey
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503" // foreign_key_violation
}
