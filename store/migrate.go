package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered SQL file of migrations/: NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded migrations in version order. A gap or a duplicate number
// is a build mistake and fails loudly.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration %q is not named NNNN_name.sql", name)
		}
		body, err := fs.ReadFile(fsys, "migrations/"+name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("store: migrations must be numbered 1..n without gaps; found %s at position %d", m.name, i+1)
		}
	}
	return out, nil
}

// SchemaVersion is the newest schema this binary knows.
func SchemaVersion() int {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return 0
	}
	return len(ms)
}

// Version returns the schema version of the open database.
func (s *Store) Version(ctx context.Context) (int, error) {
	db, err := s.reader()
	if err != nil {
		return 0, err
	}
	var v sql.NullInt64
	err = db.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v)
	return int(v.Int64), err
}

// migrate applies every embedded migration newer than the database, each in its own
// transaction together with its schema_migrations row, and refuses a newer database.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return err
	}
	return s.migrateWith(ctx, ms)
}

func (s *Store) migrateWith(ctx context.Context, ms []migration) error {
	if s.d == postgresDialect {
		return s.migratePG(ctx, ms)
	}
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("store: %s: create schema_migrations: %w", s.path, err)
	}
	var cur sql.NullInt64
	if err := s.w.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&cur); err != nil {
		return fmt.Errorf("store: %s: read schema version: %w", s.path, err)
	}
	have := int(cur.Int64)
	if have > len(ms) {
		return s.tooNew(have, len(ms))
	}
	for _, m := range ms[have:] {
		err := s.write(ctx, func(ctx context.Context, tx *txn) error {
			return applyMigration(ctx, tx, m)
		})
		if err != nil {
			return fmt.Errorf("store: %s: migration %s: %w", s.path, m.name, err)
		}
	}
	return nil
}

func (s *Store) tooNew(have, know int) error {
	return fmt.Errorf("%w: %s has schema version %d, this paybridge knows up to %d; "+
		"run the newer paybridge that wrote it, or restore a backup taken before the upgrade",
		ErrSchemaTooNew, s.path, have, know)
}

// applyMigration runs one migration, in the dialect, with its schema_migrations row.
func applyMigration(ctx context.Context, tx *txn, m migration) error {
	if _, err := tx.tx.ExecContext(ctx, tx.d.ddl(m.sql)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, now().UnixMicro())
	return err
}

// migratePG migrates a PostgreSQL database that several nodes may be opening at the same
// moment: every pending migration runs in one transaction that first takes the migration
// advisory lock, so the nodes queue, the first migrates and the others find the schema
// current. PostgreSQL's DDL is transactional: a failing migration leaves nothing behind.
func (s *Store) migratePG(ctx context.Context, ms []migration) error {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		if err := tx.lockKey(ctx, "migrations"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var cur sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&cur); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		have := int(cur.Int64)
		if have > len(ms) {
			return s.tooNew(have, len(ms))
		}
		for _, m := range ms[have:] {
			if err := applyMigration(ctx, tx, m); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrSchemaTooNew) {
		return fmt.Errorf("store: %s: %w", s.path, err)
	}
	return err
}
