package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	// A write is acknowledged only once it is durable, whatever the server's or the
	// database's default: a payment attempt the caller was told about must survive a crash.
	// A URL may ask for more (remote_write, remote_apply with a synchronous standby), never
	// for less.
	switch v := cfg.RuntimeParams["synchronous_commit"]; v {
	case "":
		cfg.RuntimeParams["synchronous_commit"] = "on"
	case "off", "local":
		return nil, fmt.Errorf("%w: database URL %s: synchronous_commit=%s would acknowledge writes a crash can lose", ErrInvalid, RedactURL(target), v)
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
// pgWriteTimeout. A write whose connection broke before it committed (a server restart or
// failover leaves dead connections in the pool) is run again on a fresh connection: nothing of
// it was committed, so the retry cannot apply it twice. A broken COMMIT is not retried — it may
// have landed — and is returned as the error.
func (s *Store) writePG(ctx context.Context, fn func(ctx context.Context, tx *txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pgWriteTimeout)
	defer cancel()
	s.stats.writes.Add(1)
	for try := 1; ; try++ {
		committing, err := s.writePGOnce(wctx, fn)
		if err == nil || committing || !isConnError(err) || try == pgWriteTries || wctx.Err() != nil {
			return err
		}
		select {
		case <-wctx.Done():
			return err
		case <-time.After(time.Duration(try) * 100 * time.Millisecond):
		}
	}
}

// pgWriteTries bounds the runs of one write over broken connections.
const pgWriteTries = 3

func (s *Store) writePGOnce(ctx context.Context, fn func(ctx context.Context, tx *txn) error) (committing bool, err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: write panicked: %v", p)
		}
		if err != nil && !committing {
			_ = tx.Rollback()
		}
	}()
	if err := fn(ctx, &txn{tx: tx, d: postgresDialect}); err != nil {
		return false, err
	}
	s.stats.commits.Add(1)
	if err := tx.Commit(); err != nil {
		return true, fmt.Errorf("commit: %w", err)
	}
	return true, nil
}

// isConnError reports whether err means the connection (not the statement) failed: the
// transaction it was in cannot have committed.
func isConnError(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// connection_exception (08…), admin/crash shutdown, cannot connect now.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	if errors.Is(err, driver.ErrBadConn) || pgconn.SafeToRetry(err) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
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
