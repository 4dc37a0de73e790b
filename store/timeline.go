package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/paybridge/paybridge/pan"
)

// A call's timeline is written in batches. serve's event recorder (internal/app) hands the
// store whatever events arrived during one tick in one AppendEvents: one transaction (one
// fsync on SQLite, one commit round trip on PostgreSQL) for every event of every call in
// it, instead of one each. A timeline is a record of what happened, not a promise the product
// acts on — nothing waits for an event to be durable before it does something — so grouping
// them delays no money: what must be durable before an action (a payment attempt before the
// provider is asked, a ledger operation) is written on its own, by its own caller, and is
// committed when that call returns (writer.go).

// CallEvent is one event of AppendEvents: the call whose timeline it goes on, and the event.
type CallEvent struct {
	CallID string
	EventRecord
}

// eventRows is how many events one INSERT statement carries at most (one round trip to
// PostgreSQL). Batches are cut into statements of eventRows, then of 8, then of 1, so that
// only three statement texts exist and every one stays prepared on its connection.
const eventRows = 32

// AppendEvent adds a masked event to the call's timeline and returns nothing but an error; the
// store numbers events per call in arrival order. Strings in Fields that spell a card number
// are masked before they are written.
func (s *Store) AppendEvent(ctx context.Context, callID string, ev EventRecord) error {
	err := s.AppendEvents(ctx, []CallEvent{{CallID: callID, EventRecord: ev}})
	var nf *notFoundCalls
	if errors.As(err, &nf) {
		return fmt.Errorf("%w: call %s (event %s)", ErrNotFound, callID, ev.Type)
	}
	if err != nil && !errors.Is(err, ErrInvalid) {
		return fmt.Errorf("store: append event to call %s: %w", callID, err)
	}
	return err
}

// AppendEvents adds events to their calls' timelines in one transaction, in the order given:
// each call's events are numbered after what its timeline already holds. Like AppendEvent,
// every string is masked before it is written. An event that cannot be written — its call
// does not exist (ErrNotFound), its fields are not a JSON object (ErrInvalid) — is left out
// and the others are written; the error names what was left out. Any other error means no
// event of the batch was written.
func (s *Store) AppendEvents(ctx context.Context, evs []CallEvent) error {
	w := prepareEvents(evs)
	if w.fn == nil {
		return w.finish(nil)
	}
	return w.finish(s.write(ctx, w.fn))
}

// StoredPayment is one payment record's outcome in AppendEventsAndPayments: the record as the
// write stored it (UpsertPaymentSessionStored's result), or the write's error.
type StoredPayment struct {
	Record *PaymentSession
	Err    error
}

// AppendEventsAndPayments is AppendEvents followed by UpsertPaymentSessionStored of each
// payment, in order, as separate writes — each with its own outcome, one failing fails none of
// the others — that share one commit (serve's event recorder writes a tick's timeline rows and
// the payment records its events derive with it: one commit, one fsync, instead of one plus
// one a payment, each waiting for the last). Every payment record returned is durable. The
// error is AppendEvents'. On PostgreSQL the writes are each their own transaction, one after
// the other.
func (s *Store) AppendEventsAndPayments(ctx context.Context, evs []CallEvent, payments []PaymentSession) ([]StoredPayment, error) {
	out := make([]StoredPayment, len(payments))
	ev := prepareEvents(evs)
	fns := make([]func(ctx context.Context, tx *txn) error, 0, 1+len(payments))
	if ev.fn != nil {
		fns = append(fns, ev.fn)
	}
	pws := make([]*paymentWrite, len(payments))
	for i, p := range payments {
		pw, err := preparePayment(p, true)
		if err != nil {
			out[i].Err = err
			continue
		}
		pws[i] = pw
		fns = append(fns, pw.fn)
	}
	var errs []error
	if len(fns) > 0 {
		errs = s.writeGroup(ctx, fns...)
	}
	var evErr error
	if ev.fn != nil {
		evErr, errs = errs[0], errs[1:]
	}
	for i, pw := range pws {
		if pw == nil {
			continue
		}
		out[i].Record, out[i].Err = pw.finish(errs[0])
		errs = errs[1:]
	}
	return out, ev.finish(evErr)
}

// eventsWrite is AppendEvents' write, made ready outside the writer: fn is nil when no event
// is left to write, finish turns the write's error into AppendEvents'.
type eventsWrite struct {
	fn      func(ctx context.Context, tx *txn) error
	bad     []error
	missing []string
}

func prepareEvents(evs []CallEvent) *eventsWrite {
	w := &eventsWrite{}
	rows := make([]eventRow, 0, len(evs))
	for _, ev := range evs {
		if ev.Type == "" {
			w.bad = append(w.bad, fmt.Errorf("%w: event without type (call %s)", ErrInvalid, ev.CallID))
			continue
		}
		fields, err := redactJSON(ev.Fields)
		if err != nil {
			w.bad = append(w.bad, fmt.Errorf("call %s event %s: %w", ev.CallID, ev.Type, err))
			continue
		}
		rows = append(rows, eventRow{call: ev.CallID, at: orNow(ev.Time).UnixMicro(), typ: ev.Type, step: pan.Redact(ev.Step), fields: fields})
	}
	if len(rows) == 0 {
		return w
	}
	// The calls in a fixed order: on PostgreSQL each call's row is locked while its numbers are
	// taken (two nodes may append to one call: a link paid on another node than the one that
	// took the call), and two batches that lock the same calls in the same order cannot
	// deadlock.
	calls := make([]string, 0, 8)
	for _, r := range rows {
		calls = append(calls, r.call)
	}
	slices.Sort(calls)
	calls = slices.Compact(calls)
	w.fn = func(ctx context.Context, tx *txn) error {
		next, err := lastEvents(ctx, tx, calls)
		if err != nil {
			return err
		}
		w.missing = w.missing[:0] // a write may run again (writer.go)
		for _, id := range calls {
			if _, ok := next[id]; !ok {
				w.missing = append(w.missing, id)
			}
		}
		return insertEvents(ctx, tx, rows, next)
	}
	return w
}

func (w *eventsWrite) finish(err error) error {
	if isForeignKey(err) {
		return fmt.Errorf("%w: a call of the batch was deleted while its events were written", ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: append events: %w", err)
	}
	if len(w.missing) > 0 {
		w.bad = append(w.bad, &notFoundCalls{calls: w.missing})
	}
	return errors.Join(w.bad...)
}

// lastEvents returns the number of each call's last event (0 for none) — calls that do not
// exist are not in the map — in two statements whatever the number of calls (the call ids go
// as one JSON array). On PostgreSQL the calls' rows are locked first, in id order, and the
// numbers read by a statement of its own: a statement's snapshot is taken when it starts, so
// numbers read together with a lock that had to wait for another node's commit would miss
// that node's events.
func lastEvents(ctx context.Context, tx *txn, calls []string) (map[string]int64, error) {
	ids, err := json.Marshal(calls)
	if err != nil {
		return nil, err
	}
	next := make(map[string]int64, len(calls))
	in := `(SELECT value FROM json_each(?))`
	if tx.d == postgresDialect {
		in = `(SELECT jsonb_array_elements_text(?::jsonb))`
		locked, err := tx.QueryContext(ctx, `SELECT id FROM calls WHERE id IN `+in+` ORDER BY id FOR UPDATE`, string(ids))
		if err != nil {
			return nil, err
		}
		for locked.Next() { // every row read is every row locked
		}
		locked.Close()
		if err := locked.Err(); err != nil {
			return nil, err
		}
	}
	q := `SELECT c.id, COALESCE((SELECT MAX(seq) FROM call_events e WHERE e.call_id = c.id), 0) FROM calls c WHERE c.id IN ` + in
	rows, err := tx.QueryContext(ctx, q, string(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, err
		}
		next[id] = seq
	}
	return next, rows.Err()
}

// eventRow is one masked event ready for call_events.
type eventRow struct {
	call      string
	at        int64
	typ, step string
	fields    string
	seq       int64
}

// insertEvents numbers rows after next (the last number of each call; calls not in next do
// not exist and their events are skipped) and inserts them in statements of eventRows, 8 and 1
// rows.
func insertEvents(ctx context.Context, tx *txn, rows []eventRow, next map[string]int64) error {
	args := make([]any, 0, eventRows*6)
	pending := rows[:0:0]
	for _, r := range rows {
		seq, ok := next[r.call]
		if !ok {
			continue
		}
		seq++
		next[r.call] = seq
		r.seq = seq
		pending = append(pending, r)
	}
	for len(pending) > 0 {
		n := 1
		switch {
		case len(pending) >= eventRows:
			n = eventRows
		case len(pending) >= 8:
			n = 8
		}
		args = args[:0]
		for _, r := range pending[:n] {
			args = append(args, r.call, r.seq, r.at, r.typ, r.step, r.fields)
		}
		if _, err := tx.tx.ExecContext(ctx, insertEventsSQL[tx.d][n], args...); err != nil {
			return err
		}
		pending = pending[n:]
	}
	return nil
}

// insertEventsSQL holds the INSERT of 1, 8 and eventRows events in each dialect, its
// placeholders rewritten once.
var insertEventsSQL = map[dialect]map[int]string{
	sqliteDialect:   insertEventsOf(sqliteDialect),
	postgresDialect: insertEventsOf(postgresDialect),
}

func insertEventsOf(d dialect) map[int]string {
	m := map[int]string{}
	for _, n := range []int{1, 8, eventRows} {
		m[n] = d.rebind(`INSERT INTO call_events (call_id, seq, at, type, step, fields) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?), ", n), ", "))
	}
	return m
}

// notFoundCalls is the error of events whose calls do not exist.
type notFoundCalls struct{ calls []string }

func (e *notFoundCalls) Error() string {
	return fmt.Sprintf("%v: calls %s (their events were not written)", ErrNotFound, strings.Join(e.calls, ", "))
}

func (e *notFoundCalls) Unwrap() error { return ErrNotFound }
