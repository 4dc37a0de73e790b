package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
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
		if err := checkSections(string(body)); err != nil {
			return nil, fmt.Errorf("store: migration %s: %w", name, err)
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

// PeekVersion reads the schema version of the database at target without migrating it or
// creating anything: 0 for a database never migrated, or a SQLite file that does not exist.
// `paybridge migrate` reports it before and after.
func PeekVersion(ctx context.Context, target string) (int, error) {
	var db *sql.DB
	var err error
	if IsPostgresURL(target) {
		cfg, perr := pgx.ParseConfig(target)
		if perr != nil {
			return 0, fmt.Errorf("%w: database URL %s: %v", ErrInvalid, RedactURL(target), perr)
		}
		cfg.ConnectTimeout = pgConnectTimeout
		db = stdlib.OpenDB(*cfg)
	} else {
		if _, err := os.Stat(target); errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		abs, aerr := filepath.Abs(target)
		if aerr != nil {
			return 0, aerr
		}
		db, err = sql.Open("sqlite3", dsn(abs, true))
		if err != nil {
			return 0, err
		}
	}
	defer db.Close()
	var v sql.NullInt64
	err = db.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v)
	if err != nil {
		// No schema_migrations table yet: an empty database.
		var n int
		if IsPostgresURL(target) {
			if qerr := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'").Scan(&n); qerr == nil && n == 0 {
				return 0, nil
			}
		} else if qerr := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_migrations'").Scan(&n); qerr == nil && n == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("store: read the schema version of %s: %w", displayTarget(target), err)
	}
	return int(v.Int64), nil
}

// displayTarget is a database target fit for messages.
func displayTarget(target string) string {
	if IsPostgresURL(target) {
		return RedactURL(target)
	}
	return target
}
