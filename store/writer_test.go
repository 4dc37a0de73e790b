package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGroupCommitIsolatesFailures runs a batch by hand: a failing write, a panicking write and
// a write whose caller gave up are each answered with their own error, and the writes around
// them commit. On PostgreSQL the same writes go through write one by one.
func TestGroupCommitIsolatesFailures(t *testing.T) { eachDialect(t, testGroupCommitIsolatesFailures) }

func testGroupCommitIsolatesFailures(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	insert := func(id string) func(context.Context, *txn) error {
		return func(ctx context.Context, tx *txn) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (id, at, actor, action) VALUES (?, 0, 'a', 'b')`, id)
			return err
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	reqs := []*writeReq{
		{ctx: ctx, fn: insert("one")},
		{ctx: ctx, fn: func(ctx context.Context, tx *txn) error {
			if err := insert("half")(ctx, tx); err != nil {
				return err
			}
			return errors.New("second statement failed") // "half" must be rolled back
		}},
		{ctx: ctx, fn: func(context.Context, *txn) error { panic("bug") }},
		{ctx: cancelled, fn: insert("never")},
		{ctx: ctx, fn: insert("one")}, // duplicate of the first, in the same transaction
		{ctx: ctx, fn: insert("two")},
	}
	for _, r := range reqs {
		r.done = make(chan error, 1)
	}
	if onPostgres(t) {
		// No group commit on PostgreSQL (each write is its own transaction on the pool): the
		// same writes, one after another, must get the same answers.
		for _, r := range reqs {
			r.done <- s.write(r.ctx, r.fn)
		}
	} else {
		s.commit(reqs)
		if n := s.stats.reruns.Load(); n != 1 {
			t.Errorf("the batch ran again with savepoints %d times, want 1", n)
		}
	}
	got := make([]error, len(reqs))
	for i, r := range reqs {
		got[i] = <-r.done
	}
	if got[0] != nil || got[5] != nil {
		t.Errorf("good writes failed: %v, %v", got[0], got[5])
	}
	if got[1] == nil || got[2] == nil || !strings.Contains(got[2].Error(), "panicked") || !errors.Is(got[3], context.Canceled) || !isUnique(got[4]) {
		t.Errorf("errors = %v", got)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	if strings.Join(ids, ",") != "one,two" {
		t.Errorf("committed rows = %v, want one,two", ids)
	}
}

// TestGroupCommitUnderLoad: 64 goroutines write at once, a third of them duplicates; every
// caller gets its own answer and every success is on disk.
func TestGroupCommitUnderLoad(t *testing.T) { eachDialect(t, testGroupCommitUnderLoad) }

func testGroupCommitUnderLoad(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 192)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.CreateCall(ctx, Call{ID: fmt.Sprintf("c%d", i%128)})
		}()
	}
	wg.Wait()
	ok, dup := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrDuplicate):
			dup++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	calls, err := s.ListCalls(ctx, CallFilter{Limit: MaxLimit})
	if ok != 128 || dup != 64 || err != nil || len(calls) != 128 {
		t.Errorf("ok=%d dup=%d stored=%d (%v)", ok, dup, len(calls), err)
	}
}

func TestWriteAfterCloseAndCancelled(t *testing.T) { eachDialect(t, testWriteAfterCloseAndCancelled) }

func testWriteAfterCloseAndCancelled(t *testing.T) {
	s, _ := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.CreateCall(ctx, Call{ID: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled write = %v", err)
	}
	s.Close()
	if err := s.CreateCall(context.Background(), Call{ID: "y"}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close = %v", err)
	}
}

// TestLoneWriteIsolated: a write that has its batch to itself runs without a savepoint. When
// it fails after a first statement, or panics, nothing of it is committed, its caller gets
// the error, and the writer goes on.
func TestLoneWriteIsolated(t *testing.T) {
	s, _ := openTest(t) // SQLite: the group-commit writer
	ctx := context.Background()
	insert := func(ctx context.Context, tx *txn, id string) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (id, at, actor, action) VALUES (?, 0, 'a', 'b')`, id)
		return err
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, r := range []struct {
		req  *writeReq
		want string
	}{
		{&writeReq{ctx: ctx, fn: func(ctx context.Context, tx *txn) error {
			if err := insert(ctx, tx, "half"); err != nil {
				return err
			}
			return errors.New("second statement failed")
		}}, "second statement failed"},
		{&writeReq{ctx: ctx, fn: func(ctx context.Context, tx *txn) error {
			if err := insert(ctx, tx, "half-panic"); err != nil {
				return err
			}
			panic("bug")
		}}, "panicked"},
		{&writeReq{ctx: cancelled, fn: func(ctx context.Context, tx *txn) error { return insert(ctx, tx, "never") }}, "canceled"},
		{&writeReq{ctx: ctx, fn: func(ctx context.Context, tx *txn) error { return insert(ctx, tx, "one") }}, ""},
	} {
		r.req.done = make(chan error, 1)
		s.commit([]*writeReq{r.req})
		err := <-r.req.done
		if (r.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), r.want) {
			t.Errorf("lone write: %v, want %q", err, r.want)
		}
	}
	must(t, s.CreateCall(ctx, Call{ID: "after"})) // the writer goes on
	var ids []string
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM audit_log ORDER BY id`)
	must(t, err)
	defer rows.Close()
	for rows.Next() {
		var id string
		must(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	if strings.Join(ids, ",") != "one" {
		t.Errorf("committed rows = %v, want one", ids)
	}
}

// TestGroupCommitGathers: writes that arrive one at a time but steadily — each from its own
// goroutine, a couple of milliseconds apart, as serve's calls make them — share commits, and
// every caller still gets its own answer with its write on disk.
func TestGroupCommitGathers(t *testing.T) {
	s, _ := openTest(t) // SQLite: the group-commit writer
	ctx := context.Background()
	// A window wider than the default, so that a busy machine's late sleeps (writes further
	// apart than meant) still count as a load worth gathering for.
	s.gather = 50 * time.Millisecond
	before := s.WriteStats()
	var wg sync.WaitGroup
	errs := make([]error, 200)
	for i := range errs {
		wg.Go(func() { errs[i] = s.CreateCall(ctx, Call{ID: fmt.Sprintf("g%d", i)}) })
		time.Sleep(2 * time.Millisecond)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	st := s.WriteStats()
	writes, commits := st.Writes-before.Writes, st.Commits-before.Commits
	if writes != int64(len(errs)) || commits*3 > writes {
		t.Errorf("%d writes in %d commits: want 200 writes in a third as many commits or fewer", writes, commits)
	}
	calls, err := s.ListCalls(ctx, CallFilter{Limit: MaxLimit})
	if err != nil || len(calls) != len(errs) {
		t.Errorf("stored %d calls (%v), want %d", len(calls), err, len(errs))
	}
}

// TestLoneWriterNotGathered: a caller that writes one write after the other never has company
// to wait for; after a few windows that caught nothing the writer stops waiting for it (at most
// one batch in 2^maxMisses waits in vain).
func TestLoneWriterNotGathered(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for i := range 200 {
		must(t, s.CreateCall(ctx, Call{ID: fmt.Sprintf("l%d", i)}))
	}
	// Gathering starts once the average gap is small (about 12 writes), then backs off:
	// windows at skips of 0, 1, 3, 7, 15, 31, 63, 63 batches.
	if w := s.stats.windows.Load(); w > 9 {
		t.Errorf("a lone writer's 200 writes waited in %d gathering windows, want at most 9", w)
	}
	if st := s.WriteStats(); st.Commits != st.Writes {
		t.Errorf("lone writer: %d writes in %d commits", st.Writes, st.Commits)
	}
}

// TestGroupCommitBare: a batch whose writes all succeed commits in one pass without savepoints
// (no rerun), every write on disk and every caller answered.
func TestGroupCommitBare(t *testing.T) {
	s, _ := openTest(t) // SQLite
	ctx := context.Background()
	var reqs []*writeReq
	for i := range 5 {
		reqs = append(reqs, &writeReq{ctx: ctx, done: make(chan error, 1), fn: func(ctx context.Context, tx *txn) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (id, at, actor, action) VALUES (?, 0, 'a', 'b')`, fmt.Sprint(i))
			return err
		}})
	}
	s.commit(reqs)
	for i, r := range reqs {
		if err := <-r.done; err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	var n int
	must(t, s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log`).Scan(&n))
	if n != 5 || s.stats.reruns.Load() != 0 {
		t.Errorf("%d rows, %d reruns; want 5 rows in one pass", n, s.stats.reruns.Load())
	}
}
