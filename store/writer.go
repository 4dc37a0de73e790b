package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Group commit. Every write is durable when it returns (synchronous=FULL fsyncs the WAL at each
// commit), and a commit costs about the same for one write as for fifty (measured: ~150 µs of
// CPU per commit on SQLite, most of it the WAL append and its fsync, against ~10 µs per write
// inside a shared transaction — BenchmarkDurableWrites). So writes are not run one
// transaction each: they queue for the single writer goroutine, which takes whatever is
// waiting (up to maxBatch), runs each write inside its own SAVEPOINT of one BEGIN IMMEDIATE
// transaction, commits once, and only then answers every caller. (A batch runs first without
// savepoints — a write alone in its batch runs as the transaction itself — and only when one
// of its writes fails is it rolled back and run again with a savepoint each.) A write that
// fails rolls back to its savepoint and gets its error; the others in the batch are unaffected. A commit
// that fails fails every write of its batch, each caller getting the error: none of them was
// acknowledged, none is on disk. The guarantee per caller is the one of a transaction of its
// own: when write returns nil, its write is on disk.
//
// Writers that overlap in time (one arrives while a commit is running) share the next commit
// by themselves. Under a steady load of writers that do not overlap — serve at 1,000 calls
// writes a few hundred times a second, each write ~1 ms of fsync apart — the writer also
// waits a little for company: when writes have been arriving faster than one per
// 2×gatherWindow (an average of the recent gaps), it holds the batch open up to gatherWindow
// for more writes, the way PostgreSQL's commit_delay does. A write made when the store is
// otherwise quiet is committed at once; under load each write may wait up to gatherWindow
// more before its commit, and the commits (and fsyncs) per write fall with the load.
//
// A write that has started runs to completion even if its caller's context is cancelled
// meanwhile: interrupting a statement would roll back the whole shared transaction. A caller
// whose context ends while its write is still queued gets the context's error and the write
// is skipped.

// maxBatch bounds one group commit (the writes of a writeGroup are taken together, even past it).
const maxBatch = 64

// gatherWindow is the longest a write waits for others to share its commit, and only under
// load (see above): a bound on the latency group commit adds to a write.
const gatherWindow = 10 * time.Millisecond

// gapCap bounds one gap between writes in the average that decides whether to gather, so that
// the average comes back down a few writes after a quiet spell.
const gapCap = 100 * time.Millisecond

// WriteStats counts a store's writes and the commits that made them durable (on PostgreSQL
// every write is a commit of its own); Writes/Commits is the mean group-commit size.
type WriteStats struct {
	Writes  int64 // writes answered (committed or failed)
	Commits int64 // transactions committed or attempted
}

// writeStats: windows are gathering waits, reruns batches run again with savepoints.
type writeStats struct{ writes, commits, windows, reruns atomic.Int64 }

// WriteStats returns the store's write and commit counts since Open.
func (s *Store) WriteStats() WriteStats {
	return WriteStats{Writes: s.stats.writes.Load(), Commits: s.stats.commits.Load()}
}

type writeReq struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *txn) error
	done chan error
	// group, when set, holds writes handed over together (writeGroup): they join one batch
	// as writes of their own, fn and done unused here.
	group []*writeReq
}

func (s *Store) startWriter() {
	s.writes = make(chan *writeReq)
	s.gather = gatherWindow
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

// writeGroup runs fns as writes of their own — each its own error, as if each were given to
// write, in this order — that the SQLite writer takes into the same batch, so that they share
// one commit instead of one each when their caller would otherwise write them one after the
// other. Each is durable when writeGroup returns nil for it. On PostgreSQL they are written
// one after the other, each its own transaction, as write does.
func (s *Store) writeGroup(ctx context.Context, fns ...func(ctx context.Context, tx *txn) error) []error {
	errs := make([]error, len(fns))
	fill := func(err error) []error {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	if s.closed.Load() {
		return fill(ErrClosed)
	}
	if s.d == postgresDialect {
		for i, fn := range fns {
			errs[i] = s.writePG(ctx, fn)
		}
		return errs
	}
	g := &writeReq{ctx: ctx, group: make([]*writeReq, len(fns))}
	for i, fn := range fns {
		g.group[i] = &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	}
	select {
	case s.writes <- g:
	case <-s.quit:
		return fill(ErrClosed)
	case <-ctx.Done():
		return fill(ctx.Err())
	}
	for i, r := range g.group {
		errs[i] = <-r.done
	}
	return errs
}

func (s *Store) writeLoop() {
	defer close(s.wdone)
	batch := make([]*writeReq, 0, maxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var last time.Time
	var gap time.Duration = gapCap // the recent gaps between writes, averaged
	took := func(r *writeReq) {
		if r.group != nil {
			batch = append(batch, r.group...)
		} else {
			batch = append(batch, r)
		}
		now := time.Now()
		gap += (min(now.Sub(last), gapCap) - gap) / 8
		last = now
	}
	// misses counts the gathering windows in a row that caught no write; after one, the next
	// 2^misses-1 batches do not wait (a caller writing one write after another, or a load that
	// comes in bursts, would only be slowed down).
	misses, skip := 0, 0
	for {
		batch = batch[:0]
		select {
		case r := <-s.writes:
			took(r)
		case <-s.quit:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-s.writes:
				took(r)
			default:
				break more
			}
		}
		if w := s.gather; w > 0 && gap <= 2*w && len(batch) < maxBatch {
			if skip > 0 {
				skip--
			} else {
				had := len(batch)
				s.gatherFor(w, timer, &batch, took)
				if len(batch) > had {
					misses = 0
				} else {
					misses = min(misses+1, maxMisses)
					skip = 1<<misses - 1
				}
			}
		}
		s.commit(batch)
	}
}

// maxMisses bounds the back-off of gathering: at worst one batch in 2^maxMisses waits in vain.
const maxMisses = 6

// gatherFor takes writes into the batch for up to w (or until it is full, or the store closes).
func (s *Store) gatherFor(w time.Duration, timer *time.Timer, batch *[]*writeReq, took func(*writeReq)) {
	s.stats.windows.Add(1)
	timer.Reset(w)
	defer timer.Stop()
	for len(*batch) < maxBatch {
		select {
		case r := <-s.writes:
			took(r)
		case <-timer.C:
			return
		case <-s.quit:
			return
		}
	}
}

// commit runs one batch in one transaction and answers every request in it.
func (s *Store) commit(batch []*writeReq) {
	s.stats.writes.Add(int64(len(batch)))
	s.stats.commits.Add(1)
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
	// First without savepoints (two statements fewer a write): every write of the batch
	// usually succeeds. At the first that fails, everything is rolled back and the batch runs
	// again with a savepoint each, so that the failure is its writer's alone. Running a write
	// again is safe: nothing of it was committed, and a write's function runs from the start
	// each time (as on PostgreSQL after a broken connection).
	ran, bare := 0, true
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if err := s.runBare(tx, r); err != nil {
			bare = false
			break
		}
		ran++
	}
	if !bare {
		s.stats.reruns.Add(1)
		_ = tx.Rollback() // an error here means SQLite already rolled it back: the same
		if tx, err = s.w.BeginTx(context.Background(), nil); err != nil {
			for _, r := range batch {
				r.done <- err
			}
			return
		}
		ran = 0
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

// runBare runs one write in the batch's transaction without a savepoint: an error or a panic
// leaves the transaction to be rolled back whole.
func (s *Store) runBare(tx *sql.Tx, r *writeReq) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: write panicked: %v", p)
		}
	}()
	return r.fn(context.WithoutCancel(r.ctx), &txn{tx: tx, d: s.d})
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
