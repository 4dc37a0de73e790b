package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL settings of the store.
const (
	// pgPoolSize bounds the connections one node opens (writes, reads, the node lease and the
	// live feed use one each besides).
	pgPoolSize = 24
	// pgWriteTimeout bounds one write, however the database or the network misbehaves: a
	// write that has not committed by then fails, and the caller's result is defined by
	// what it was writing (a payment attempt not written is not sent; an outcome not written
	// is reconciled later).
	pgWriteTimeout = 20 * time.Second
	// pgConnectTimeout bounds opening a connection.
	pgConnectTimeout = 10 * time.Second
)

// IsPostgresURL reports whether target names a PostgreSQL database (postgres:// or
// postgresql://) rather than a SQLite file.
func IsPostgresURL(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

// RedactURL returns a database URL fit for logs: the password replaced by "xxxxx".
func RedactURL(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return "postgres://(unparseable URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// pgConfig opens PostgreSQL connections with the store's settings.
type pgConfig struct {
	cfg *pgx.ConnConfig
}

// connect opens one dedicated connection (outside the pool).
func (p *pgConfig) connect(ctx context.Context) (*pgx.Conn, error) {
	return pgx.ConnectConfig(ctx, p.cfg.Copy())
}

func openPostgres(ctx context.Context, target string) (*Store, error) {
	cfg, err := pgx.ParseConfig(target)
	if err != nil {
		return nil, fmt.Errorf("%w: database URL %s: %v", ErrInvalid, RedactURL(target), err)
	}
	if cfg.Database == "" {
		return nil, fmt.Errorf("%w: database URL %s names no database", ErrInvalid, RedactURL(target))
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "paybridge"
	}
	cfg.ConnectTimeout = pgConnectTimeout
	// Keepalives find a peer that vanished (a failed-over server, a cut network) in seconds,
	// not the kernel's two hours.
	dialer := &net.Dialer{Timeout: pgConnectTimeout, KeepAliveConfig: net.KeepAliveConfig{
		Enable: true, Idle: 10 * time.Second, Interval: 5 * time.Second, Count: 3}}
	cfg.DialFunc = dialer.DialContext
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(pgPoolSize)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{path: RedactURL(target), d: postgresDialect, pg: &pgConfig{cfg: cfg}, w: db, r: db}
	pctx, cancel := context.WithTimeout(ctx, pgConnectTimeout+5*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", s.path, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// writePG runs fn in its own transaction. Like a SQLite write, a write that has started runs
// to completion even if the caller's context ends meanwhile, but never for longer than
// pgWriteTimeout.
func (s *Store) writePG(ctx context.Context, fn func(ctx context.Context, tx *txn) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pgWriteTimeout)
	defer cancel()
	tx, err := s.w.BeginTx(wctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: write panicked: %v", p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err := fn(wctx, &txn{tx: tx, d: postgresDialect}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// dedicated returns a connection of the pool for the caller's own use (an advisory lock held
// for a node's life); it must be closed.
func (s *Store) dedicated(ctx context.Context) (*sql.Conn, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if s.d != postgresDialect {
		return nil, errors.New("store: dedicated connections are for PostgreSQL")
	}
	return s.w.Conn(ctx)
}
