package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Group commit. Every write is durable when it returns (synchronous=FULL fsyncs the WAL at each
// commit), and an fsync costs the same for one row as for fifty. So writes are not run one
// transaction each: they queue for the single writer goroutine, which takes whatever is
// waiting (up to maxBatch), runs each write inside its own SAVEPOINT of one BEGIN IMMEDIATE
// transaction, commits once, and only then answers every caller (a write alone in its batch
// needs no savepoint: it runs as the transaction itself). A write that fails rolls
// back to its savepoint and gets its error; the others in the batch are unaffected. Under
// concurrency this multiplies write throughput by the batch size; a lone write waits for
// nothing.
//
// A write that has started runs to completion even if its caller's context is cancelled
// meanwhile: interrupting a statement would roll back the whole shared transaction. A caller
// whose context ends while its write is still queued gets the context's error and the write
// is skipped.

// maxBatch bounds one group commit.
const maxBatch = 64

type writeReq struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *txn) error
	done chan error
}

func (s *Store) startWriter() {
	s.writes = make(chan *writeReq)
	s.quit = make(chan struct{})
	s.wdone = make(chan struct{})
	go s.writeLoop()
}

// stopWriter ends the writer once the writes already handed to it are committed.
func (s *Store) stopWriter() {
	if s.quit == nil {
		return
	}
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	<-s.wdone
}

// write runs fn as one atomic unit on the writer connection and returns when it is committed
// to disk (or failed). fn must use the ctx and tx it is given. On PostgreSQL each write is its
// own transaction on the pool (postgres.go): the server commits concurrent writes together.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *txn) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.d == postgresDialect {
		return s.writePG(ctx, fn)
	}
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- r:
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-r.done // always answered: the loop answers every request it took
}

func (s *Store) writeLoop() {
	defer close(s.wdone)
	batch := make([]*writeReq, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-s.writes:
			batch = append(batch, r)
		case <-s.quit:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-s.writes:
				batch = append(batch, r)
			default:
				break more
			}
		}
		s.commit(batch)
	}
}

// commit runs one batch in one transaction and answers every request in it.
func (s *Store) commit(batch []*writeReq) {
	if len(batch) == 1 {
		batch[0].done <- s.commitOne(batch[0])
		return
	}
	errs := make([]error, len(batch))
	tx, err := s.w.BeginTx(context.Background(), nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		for _, r := range batch {
			r.done <- err
		}
		return
	}
	ran := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		errs[i] = s.runOne(tx, r)
		if errs[i] == nil {
			ran++
		}
	}
	if ran == 0 {
		_ = tx.Rollback()
	} else if err := tx.Commit(); err != nil {
		_ = tx.Rollback()
		for i := range errs {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("commit: %w", err)
			}
		}
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}

// commitOne runs a write that has the batch to itself as the whole transaction: it needs no
// savepoint (two statements fewer), since a failure rolls back nothing but its own work.
func (s *Store) commitOne(r *writeReq) (err error) {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	tx, err := s.w.BeginTx(context.Background(), nil) // BEGIN IMMEDIATE (_txlock)
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
	if err := r.fn(context.WithoutCancel(r.ctx), &txn{tx: tx, d: s.d}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// runOne runs one write inside a savepoint of the batch's transaction.
func (s *Store) runOne(tx *sql.Tx, r *writeReq) (err error) {
	ctx := context.WithoutCancel(r.ctx)
	if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: write panicked: %v", p)
		}
		if err != nil {
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO w"); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		if _, rerr := tx.ExecContext(ctx, "RELEASE w"); rerr != nil && err == nil {
			err = rerr
		}
	}()
	return r.fn(ctx, &txn{tx: tx, d: s.d})
}
