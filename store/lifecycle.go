package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// The payment ledger (migration 0006): each payment's money, the operations on it and its
// append-only history. internal/app adapts these functions to the gateway's LifecycleStore.
//
// Operations never take more than there is, whichever node runs them: BeginOp reserves the
// operation's amount with one conditional UPDATE of the payment row — "add the amount to what
// is reserved WHERE what is left is at least the amount" — in the same transaction that
// records the operation. A second operation that would exceed what is left finds the first
// one's reservation and changes no row. SQLite serialises writers (BEGIN IMMEDIATE, across
// processes too); PostgreSQL re-evaluates the WHERE of an UPDATE on the row the first one
// locked. No lock in any process is involved.

// Sentinels of the ledger.
var (
	// ErrExceeds: more than the payment has left to capture or refund.
	ErrExceeds = errors.New("store: amount exceeds what is left")
	// ErrState: the payment's state does not allow the operation.
	ErrState = errors.New("store: the payment's state does not allow it")
	// ErrKeyReused: an operation's idempotency key given again with another operation.
	ErrKeyReused = errors.New("store: idempotency key reused for another operation")
)

// Op is one capture, void or refund of a payment.
type Op struct {
	ID             string        `json:"id"`
	PaymentID      string        `json:"payment_id"`
	Kind           string        `json:"kind"` // capture | void | refund
	IdempotencyKey string        `json:"idempotency_key"`
	AmountMinor    int64         `json:"amount_minor"`
	Currency       string        `json:"currency"`
	Final          bool          `json:"final,omitempty"`
	Single         bool          `json:"-"`
	Reason         string        `json:"reason,omitempty"`
	State          string        `json:"state"` // pending | succeeded | failed
	ProviderID     string        `json:"provider_id,omitempty"`
	ErrorCode      string        `json:"error_code,omitempty"`
	ErrorMessage   string        `json:"error_message,omitempty"`
	Actor          payment.Actor `json:"actor"`
	CallID         string        `json:"call_id,omitempty"`
	CreatedAt      time.Time     `json:"created_at"`
	CompletedAt    time.Time     `json:"completed_at,omitzero"`
	SettledAt      time.Time     `json:"settled_at,omitzero"`
}

// OpOutcome is how an operation ended, or that it is pending at the provider.
type OpOutcome struct {
	State        string
	ProviderID   string
	ErrorCode    string
	ErrorMessage string
	Actor        payment.Actor
	At           time.Time
	Expired      bool // a capture refused because the hold lapsed: the hold ends
}

// HistoryEntry is one line of a payment's history.
type HistoryEntry struct {
	ID          string        `json:"id"`
	PaymentID   string        `json:"payment_id"`
	Seq         int           `json:"seq"`
	At          time.Time     `json:"at"`
	Actor       payment.Actor `json:"actor"`
	Action      string        `json:"action"`
	AmountMinor int64         `json:"amount_minor"`
	Currency    string        `json:"currency"`
	OpID        string        `json:"op_id,omitempty"`
	State       string        `json:"state"` // the payment's lifecycle state after the change
	Detail      string        `json:"detail,omitempty"`
}

// money is a payment row's money columns.
type money struct {
	f              payment.PaymentFacts
	holding        bool
	closedAs       string
	chargedBack    bool
	capRes, refRes int64
}

const moneyCols = `id, call_id, connector, connector_key, provider_payment_id, method, payment_method, currency,
	authorized_minor, captured_minor, refunded_minor, authorized_until, lifecycle, holding, closed_as, charged_back,
	capture_reserved_minor, refund_reserved_minor`

func scanMoney(sc scanner) (*money, error) {
	var m money
	var until sql.NullInt64
	var holding, cb int
	err := sc.Scan(&m.f.ID, &m.f.CallID, &m.f.Connector, &m.f.ConnectorKey, &m.f.ProviderPaymentID, &m.f.Method,
		&m.f.PaymentMethod, &m.f.Currency, &m.f.AuthorizedMinor, &m.f.CapturedMinor, &m.f.RefundedMinor, &until,
		&m.f.State, &holding, &m.closedAs, &cb, &m.capRes, &m.refRes)
	m.f.AuthorizedUntil = fromMicros(until)
	m.holding, m.chargedBack = holding == 1, cb == 1
	return &m, err
}

// loadMoney reads a payment's money. Inside a write it locks the payment's row until the write
// commits (PostgreSQL, where writers on several nodes run at once; SQLite has one writer): every
// write that changes a payment's money or history reads it first, so they queue per payment
// and the history's seq is never taken twice.
func loadMoney(ctx context.Context, db querier, id string) (*money, error) {
	lock := ""
	if tx, ok := db.(*txn); ok {
		lock = tx.d.forUpdate()
	}
	m, err := scanMoney(db.QueryRowContext(ctx, `SELECT `+moneyCols+` FROM payment_sessions WHERE id = ?`+lock, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: payment %s", ErrNotFound, id)
	}
	return m, err
}

// derive recomputes and writes the payment's lifecycle state (in tx).
func derive(ctx context.Context, tx *txn, id string) (*money, error) {
	m, err := loadMoney(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	st := payment.DeriveState(m.holding, m.closedAs, m.f.CapturedMinor, m.f.RefundedMinor, m.chargedBack)
	if st != m.f.State {
		if _, err := tx.ExecContext(ctx, `UPDATE payment_sessions SET lifecycle = ? WHERE id = ?`, st, id); err != nil {
			return nil, err
		}
		m.f.State = st
	}
	return m, nil
}

// historyRow is a history entry about to be written.
type historyRow struct {
	paymentID string
	at        time.Time
	actor     payment.Actor
	action    string
	amount    int64
	currency  string
	opID      string
	state     string
	detail    string
}

// appendHistory writes one history line (in tx); seq counts the payment's lines from 1.
func appendHistory(ctx context.Context, tx *txn, h historyRow) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO payment_history (id, payment_id, seq, at, actor_kind, actor, action, amount_minor,
		currency, op_id, state, detail)
		VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM payment_history WHERE payment_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		newID(), h.paymentID, h.paymentID, orNow(h.at).UnixMicro(), h.actor.Kind, pan.Redact(h.actor.ID), h.action, h.amount,
		h.currency, h.opID, h.state, pan.Redact(h.detail))
	return err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// jsonText is v's JSON, redacted, or "" for a nil pointer.
func jsonText[T any](v *T) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(pan.RedactJSON(b))
}

const opCols = `id, payment_id, kind, idempotency_key, amount_minor, currency, final_capture, single_capture, reason, state,
	provider_id, error_code, error_message, actor_kind, actor, call_id, created_at, completed_at, settled_at`

func scanOp(sc scanner) (*Op, error) {
	var o Op
	var final, single int
	var created, completed, settled sql.NullInt64
	err := sc.Scan(&o.ID, &o.PaymentID, &o.Kind, &o.IdempotencyKey, &o.AmountMinor, &o.Currency, &final, &single, &o.Reason,
		&o.State, &o.ProviderID, &o.ErrorCode, &o.ErrorMessage, &o.Actor.Kind, &o.Actor.ID, &o.CallID, &created, &completed, &settled)
	o.Final, o.Single = final == 1, single == 1
	o.CreatedAt, o.CompletedAt, o.SettledAt = fromMicros(created), fromMicros(completed), fromMicros(settled)
	return &o, err
}

func opByKey(ctx context.Context, db querier, key string) (*Op, error) {
	o, err := scanOp(db.QueryRowContext(ctx, `SELECT `+opCols+` FROM payment_ops WHERE idempotency_key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: operation with key %s", ErrNotFound, key)
	}
	return o, err
}

// ensurePayment inserts the payment known describes unless it exists (in tx), with its first
// history line.
func ensurePayment(ctx context.Context, tx *txn, k *payment.PaymentFacts, at time.Time) error {
	holding := k.Method == payment.MethodAuthorize && k.CapturedMinor < k.AuthorizedMinor
	captured := k.CapturedMinor
	if k.Method != payment.MethodAuthorize && captured == 0 {
		captured = k.AuthorizedMinor
	}
	st := payment.DeriveState(holding, "", captured, 0, false)
	res, err := tx.ExecContext(ctx, `INSERT INTO payment_sessions (id, call_id, connector, connector_key, provider_payment_id,
		confirmation, provider_session_id, method, payment_method, currency, amount_minor, authorized_minor, captured_minor,
		authorized_until, lifecycle, holding, state, result, created_at, updated_at, completed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		k.ID, k.CallID, k.Connector, k.ConnectorKey, pan.Redact(k.ProviderPaymentID), pan.Redact(k.ProviderPaymentID), k.ID,
		k.Method, k.PaymentMethod, k.Currency, k.AuthorizedMinor, k.AuthorizedMinor, captured, micros(k.AuthorizedUntil), st,
		boolInt(holding), PaymentCompleted, ResultSuccess, at.UnixMicro(), at.UnixMicro(), at.UnixMicro())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	action := "charged"
	if holding {
		action = "authorized"
	}
	return appendHistory(ctx, tx, historyRow{paymentID: k.ID, at: at, actor: payment.Actor{Kind: payment.ActorPlan, ID: k.CallID},
		action: action, amount: k.AuthorizedMinor, currency: k.Currency, state: st})
}

// BeginOp records op pending and reserves its amount on the payment (docs above). An
// operation with the same idempotency key is returned as it is with ErrDuplicate
// (ErrKeyReused when it is another operation). known, when given, describes a payment the
// ledger may not have yet (it is created first).
func (s *Store) BeginOp(ctx context.Context, op Op, known *payment.PaymentFacts) (*Op, *payment.PaymentFacts, error) {
	if op.IdempotencyKey == "" || op.PaymentID == "" || op.AmountMinor < 0 {
		return nil, nil, fmt.Errorf("%w: operation without key, payment or with a negative amount", ErrInvalid)
	}
	var out *Op
	var facts *payment.PaymentFacts
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		out, facts = nil, nil
		if old, err := opByKey(ctx, tx, op.IdempotencyKey); err == nil {
			m, err := loadMoney(ctx, tx, old.PaymentID)
			if err != nil {
				return err
			}
			out, facts = old, &m.f
			if old.Kind != op.Kind || old.PaymentID != op.PaymentID || op.AmountMinor != 0 && op.AmountMinor != old.AmountMinor {
				return fmt.Errorf("%w: key %s", ErrKeyReused, op.IdempotencyKey)
			}
			return fmt.Errorf("%w: operation %s", ErrDuplicate, old.ID)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		now := now()
		if known != nil && known.ID == op.PaymentID {
			if err := ensurePayment(ctx, tx, known, now); err != nil {
				return err
			}
		}
		m, err := loadMoney(ctx, tx, op.PaymentID)
		if err != nil {
			return err
		}
		if op.Currency != "" && op.Currency != m.f.Currency {
			return fmt.Errorf("%w: the payment is in %s, not %s", ErrInvalid, m.f.Currency, op.Currency)
		}
		amt := op.AmountMinor
		var res sql.Result
		switch op.Kind {
		case payment.OpCapture:
			if !m.holding {
				return fmt.Errorf("%w: payment %s holds nothing to capture (it is %s)", ErrState, m.f.ID, m.f.State)
			}
			if op.Single && (m.f.CapturedMinor > 0 || m.capRes > 0) {
				return fmt.Errorf("%w: the provider takes one capture per authorisation", ErrState)
			}
			if amt == 0 {
				amt = m.f.AuthorizedMinor - m.f.CapturedMinor - m.capRes
			}
			res, err = tx.ExecContext(ctx, `UPDATE payment_sessions SET capture_reserved_minor = capture_reserved_minor + ?
				WHERE id = ? AND holding = 1 AND ? > 0 AND authorized_minor - captured_minor - capture_reserved_minor >= ?
				AND (? = 0 OR (captured_minor = 0 AND capture_reserved_minor = 0))`,
				amt, op.PaymentID, amt, amt, boolInt(op.Single))
		case payment.OpVoid:
			amt = m.f.AuthorizedMinor - m.f.CapturedMinor
			res, err = tx.ExecContext(ctx, `UPDATE payment_sessions SET capture_reserved_minor = capture_reserved_minor + ?
				WHERE id = ? AND holding = 1 AND capture_reserved_minor = 0 AND authorized_minor - captured_minor = ?`,
				amt, op.PaymentID, amt)
		case payment.OpRefund:
			if m.chargedBack {
				return fmt.Errorf("%w: payment %s was charged back", ErrState, m.f.ID)
			}
			if amt == 0 {
				amt = m.f.CapturedMinor - m.refRes
			}
			res, err = tx.ExecContext(ctx, `UPDATE payment_sessions SET refund_reserved_minor = refund_reserved_minor + ?
				WHERE id = ? AND charged_back = 0 AND ? > 0 AND captured_minor - refund_reserved_minor >= ?`,
				amt, op.PaymentID, amt, amt)
		default:
			return fmt.Errorf("%w: operation %q", ErrInvalid, op.Kind)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			if op.Kind == payment.OpVoid {
				return fmt.Errorf("%w: payment %s has no hold to release, or a capture is in flight", ErrState, m.f.ID)
			}
			return fmt.Errorf("%w: %d asked, less is left", ErrExceeds, amt)
		}
		o := op
		o.ID, o.AmountMinor, o.Currency, o.State, o.CreatedAt = "op_"+newID()[:20], amt, m.f.Currency, payment.OpPending, now
		_, err = tx.ExecContext(ctx, `INSERT INTO payment_ops (`+opCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', '', ?, ?, ?, ?, NULL, NULL)`,
			o.ID, o.PaymentID, o.Kind, o.IdempotencyKey, o.AmountMinor, o.Currency, boolInt(o.Final), boolInt(o.Single),
			pan.Redact(o.Reason), o.State, o.Actor.Kind, pan.Redact(o.Actor.ID), o.CallID, now.UnixMicro())
		if err != nil {
			return err
		}
		if err := appendHistory(ctx, tx, historyRow{paymentID: o.PaymentID, at: now, actor: o.Actor, action: o.Kind + ".requested",
			amount: amt, currency: o.Currency, opID: o.ID, state: m.f.State, detail: o.Reason}); err != nil {
			return err
		}
		out, facts = &o, &m.f
		return nil
	})
	return out, facts, err
}

// FinishOp records how an operation ended (see the gateway's LifecycleStore). changed is true
// only for the call that changed the operation — moved it out of pending, or recorded it
// pending at the provider — so that of two paths finishing it at once (on one node or two)
// exactly one reports the outcome: the conditional UPDATE … WHERE state = 'pending' decides,
// SQLite's single writer or PostgreSQL's row lock serialising the two.
func (s *Store) FinishOp(ctx context.Context, opID string, o OpOutcome) (op *Op, facts *payment.PaymentFacts, changed bool, err error) {
	var out *Op
	err = s.write(ctx, func(ctx context.Context, tx *txn) error {
		out, facts, changed = nil, nil, false
		// The operation's row is locked until the write commits (PostgreSQL): a second path
		// finishing it waits here and then reads it finished.
		op, err := scanOp(tx.QueryRowContext(ctx, `SELECT `+opCols+` FROM payment_ops WHERE id = ?`+tx.d.forUpdate(), opID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: operation %s", ErrNotFound, opID)
		}
		if err != nil {
			return err
		}
		at := orNow(o.At)
		unchanged := func() error {
			m, err := loadMoney(ctx, tx, op.PaymentID)
			if err == nil {
				out, facts = op, &m.f
			}
			return err
		}
		if op.State != payment.OpPending || o.State == payment.OpPending && op.ProviderID != "" {
			return unchanged()
		}
		if o.ProviderID != "" {
			op.ProviderID = pan.Redact(o.ProviderID)
		}
		if o.State == payment.OpPending {
			if _, err := tx.ExecContext(ctx, `UPDATE payment_ops SET provider_id = ? WHERE id = ?`, op.ProviderID, op.ID); err != nil {
				return err
			}
			m, err := loadMoney(ctx, tx, op.PaymentID)
			if err != nil {
				return err
			}
			out, facts, changed = op, &m.f, true
			return appendHistory(ctx, tx, historyRow{paymentID: op.PaymentID, at: at, actor: o.Actor, action: op.Kind + ".pending",
				amount: op.AmountMinor, currency: op.Currency, opID: op.ID, state: m.f.State})
		}
		res, err := tx.ExecContext(ctx, `UPDATE payment_ops SET state = ?, provider_id = ?, error_code = ?, error_message = ?,
			completed_at = ? WHERE id = ? AND state = ?`, o.State, op.ProviderID, pan.Redact(o.ErrorCode), pan.Redact(o.ErrorMessage),
			at.UnixMicro(), op.ID, payment.OpPending)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return unchanged()
		}
		var stmt, action string
		var args []any
		amt := op.AmountMinor
		switch {
		case o.State == payment.OpSucceeded && op.Kind == payment.OpCapture:
			stmt, action = `UPDATE payment_sessions SET capture_reserved_minor = capture_reserved_minor - ?, captured_minor = captured_minor + ?,
				holding = CASE WHEN captured_minor + ? >= authorized_minor OR ? = 1 THEN 0 ELSE holding END WHERE id = ?`, "captured"
			args = []any{amt, amt, amt, boolInt(op.Final || op.Single), op.PaymentID}
		case o.State == payment.OpSucceeded && op.Kind == payment.OpVoid:
			stmt, action = `UPDATE payment_sessions SET capture_reserved_minor = capture_reserved_minor - ?, holding = 0,
				closed_as = 'voided' WHERE id = ?`, "voided"
			args = []any{amt, op.PaymentID}
		case o.State == payment.OpSucceeded && op.Kind == payment.OpRefund:
			stmt, action = `UPDATE payment_sessions SET refunded_minor = refunded_minor + ? WHERE id = ?`, "refunded"
			args = []any{amt, op.PaymentID}
		case o.State == payment.OpFailed && op.Kind == payment.OpRefund:
			stmt, action = `UPDATE payment_sessions SET refund_reserved_minor = refund_reserved_minor - ? WHERE id = ?`, "refund.failed"
			args = []any{amt, op.PaymentID}
		case o.State == payment.OpFailed:
			stmt, action = `UPDATE payment_sessions SET capture_reserved_minor = capture_reserved_minor - ?,
				holding = CASE WHEN ? = 1 THEN 0 ELSE holding END, closed_as = CASE WHEN ? = 1 THEN 'expired' ELSE closed_as END
				WHERE id = ?`, op.Kind+".failed"
			args = []any{amt, boolInt(o.Expired), boolInt(o.Expired), op.PaymentID}
		default:
			return fmt.Errorf("%w: outcome %q", ErrInvalid, o.State)
		}
		if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
			return err
		}
		m, err := derive(ctx, tx, op.PaymentID)
		if err != nil {
			return err
		}
		op.State, op.ErrorCode, op.ErrorMessage, op.CompletedAt = o.State, pan.Redact(o.ErrorCode), pan.Redact(o.ErrorMessage), at
		out, facts, changed = op, &m.f, true
		return appendHistory(ctx, tx, historyRow{paymentID: op.PaymentID, at: at, actor: o.Actor, action: action,
			amount: op.AmountMinor, currency: op.Currency, opID: op.ID, state: m.f.State, detail: o.ErrorCode})
	})
	if err != nil {
		return nil, nil, false, err
	}
	return out, facts, changed, nil
}

// NoteOpSettled records the provider's word that a capture's money settled (once).
func (s *Store) NoteOpSettled(ctx context.Context, opID string, actor payment.Actor, at time.Time) error {
	return s.write(ctx, func(ctx context.Context, tx *txn) error {
		op, err := scanOp(tx.QueryRowContext(ctx, `SELECT `+opCols+` FROM payment_ops WHERE id = ?`, opID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: operation %s", ErrNotFound, opID)
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE payment_ops SET settled_at = ? WHERE id = ? AND settled_at IS NULL`, orNow(at).UnixMicro(), opID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		m, err := loadMoney(ctx, tx, op.PaymentID)
		if err != nil {
			return err
		}
		return appendHistory(ctx, tx, historyRow{paymentID: op.PaymentID, at: at, actor: actor, action: op.Kind + ".settled",
			amount: op.AmountMinor, currency: op.Currency, opID: op.ID, state: m.f.State})
	})
}

// MarkPayment records an expiry (mark "expired": the hold ends) or a chargeback (mark
// "charged_back") with its history line; ErrState when the payment cannot take it.
func (s *Store) MarkPayment(ctx context.Context, id, mark string, e HistoryEntry) (*payment.PaymentFacts, error) {
	var facts *payment.PaymentFacts
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		var res sql.Result
		var err error
		switch mark {
		case payment.StateExpired:
			res, err = tx.ExecContext(ctx, `UPDATE payment_sessions SET holding = 0, closed_as = 'expired'
				WHERE id = ? AND holding = 1 AND capture_reserved_minor = 0`, id)
		case payment.StateChargedBack:
			res, err = tx.ExecContext(ctx, `UPDATE payment_sessions SET charged_back = 1 WHERE id = ? AND charged_back = 0 AND captured_minor > 0`, id)
		default:
			return fmt.Errorf("%w: mark %q", ErrInvalid, mark)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			if _, err := loadMoney(ctx, tx, id); err != nil {
				return err
			}
			return fmt.Errorf("%w: payment %s cannot be marked %s now", ErrState, id, mark)
		}
		m, err := derive(ctx, tx, id)
		if err != nil {
			return err
		}
		facts = &m.f
		return appendHistory(ctx, tx, historyRow{paymentID: id, at: orNow(e.At), actor: e.Actor, action: e.Action,
			amount: e.AmountMinor, currency: m.f.Currency, state: m.f.State, detail: e.Detail})
	})
	return facts, err
}

// OpByKey returns the operation with an idempotency key, or ErrNotFound.
func (s *Store) OpByKey(ctx context.Context, key string) (*Op, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	return opByKey(ctx, db, key)
}

// ListOps returns a payment's operations, oldest first.
func (s *Store) ListOps(ctx context.Context, paymentID string) ([]Op, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	return listOps(ctx, db, `WHERE payment_id = ? ORDER BY created_at, id`, paymentID)
}

// PendingOps lists operations still pending created before before, oldest first.
func (s *Store) PendingOps(ctx context.Context, before time.Time) ([]Op, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	return listOps(ctx, db, `WHERE state = ? AND created_at < ? ORDER BY created_at, id`, payment.OpPending, before.UnixMicro())
}

func listOps(ctx context.Context, db querier, where string, args ...any) ([]Op, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+opCols+` FROM payment_ops `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list operations: %w", err)
	}
	defer rows.Close()
	out := []Op{}
	for rows.Next() {
		o, err := scanOp(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list operations: %w", err)
		}
		out = append(out, *o)
	}
	return out, rows.Err()
}

// PaymentFacts returns a payment's money, or ErrNotFound.
func (s *Store) PaymentFacts(ctx context.Context, id string) (*payment.PaymentFacts, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	m, err := loadMoney(ctx, db, id)
	if err != nil {
		return nil, err
	}
	return &m.f, nil
}

// PaymentByProviderID finds a payment by the provider's payment id.
func (s *Store) PaymentByProviderID(ctx context.Context, pid string) (*payment.PaymentFacts, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	if pid == "" {
		return nil, fmt.Errorf("%w: payment without a provider id", ErrNotFound)
	}
	m, err := scanMoney(db.QueryRowContext(ctx, `SELECT `+moneyCols+` FROM payment_sessions WHERE provider_payment_id = ?
		ORDER BY created_at DESC LIMIT 1`, pid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: payment with provider id %s", ErrNotFound, pid)
	}
	if err != nil {
		return nil, err
	}
	return &m.f, nil
}

// ClaimExpiredHolds claims for node, for lease, up to limit payments still holding money whose
// hold lapsed before at, oldest expiry first, and returns them. A claimed payment is returned
// to no other claim until the lease has passed: one node at a time releases each hold at the
// provider and records it expired (MarkPayment ends the hold, and with it the claim's
// purpose); when that node dies mid-way, another claims the payment once the lease is over.
// A payment with a capture or void in flight is left alone (its outcome decides). On
// PostgreSQL concurrent claims skip each other's rows (FOR UPDATE SKIP LOCKED) — and rows a
// lifecycle write holds.
func (s *Store) ClaimExpiredHolds(ctx context.Context, node string, at time.Time, lease time.Duration, limit int) ([]payment.PaymentFacts, error) {
	if lease <= 0 || node == "" {
		return nil, fmt.Errorf("%w: hold claim without a node or a lease", ErrInvalid)
	}
	at = orNow(at)
	var out []payment.PaymentFacts
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		out = nil
		rows, err := tx.QueryContext(ctx, `UPDATE payment_sessions SET expiry_claimed_by = ?, expiry_claimed_until = ?
			WHERE id IN (SELECT id FROM payment_sessions WHERE holding = 1 AND capture_reserved_minor = 0
				AND authorized_until IS NOT NULL AND authorized_until < ?
				AND (expiry_claimed_until IS NULL OR expiry_claimed_until <= ?)
				ORDER BY authorized_until, id LIMIT ?`+tx.d.skipLocked()+`)
			RETURNING `+moneyCols,
			node, at.Add(lease).UnixMicro(), at.UnixMicro(), at.UnixMicro(), clampLimit(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMoney(rows)
			if err != nil {
				return err
			}
			out = append(out, m.f)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim expired holds: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].AuthorizedUntil.Equal(out[j].AuthorizedUntil) {
			return out[i].AuthorizedUntil.Before(out[j].AuthorizedUntil)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// ReleaseHoldClaims ends the expiry claims node holds on payments still holding money, so that
// another node expires them at once rather than when the lease ends: a dead node's, on
// takeover, or a node's own of a previous run. It returns how many it freed.
func (s *Store) ReleaseHoldClaims(ctx context.Context, node string) (int, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE payment_sessions SET expiry_claimed_until = NULL
			WHERE expiry_claimed_by = ? AND holding = 1 AND expiry_claimed_until IS NOT NULL`, node)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: release hold claims of %s: %w", node, err)
	}
	return int(n), nil
}

// ProviderEventSeen reports whether an inbound provider event was recorded.
func (s *Store) ProviderEventSeen(ctx context.Context, source, id string) (bool, error) {
	db, err := s.reader()
	if err != nil {
		return false, err
	}
	var n int
	err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM provider_events WHERE source = ? AND event_id = ?`, source, id).Scan(&n)
	return n > 0, err
}

// RecordProviderEvent records an inbound provider event once; seen reports it was already.
func (s *Store) RecordProviderEvent(ctx context.Context, source, id, typ string, at time.Time) (bool, error) {
	seen := false
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO provider_events (source, event_id, type, received_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (source, event_id) DO NOTHING`, source, id, typ, orNow(at).UnixMicro())
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		seen = n == 0
		return nil
	})
	return seen, err
}

// History returns a payment's history, oldest first.
func (s *Store) History(ctx context.Context, paymentID string) ([]HistoryEntry, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	return listHistory(ctx, db, `WHERE payment_id = ? ORDER BY seq`, paymentID)
}

// HistoryFilter selects history lines for export.
type HistoryFilter struct {
	PaymentID string
	Since     time.Time
	Until     time.Time
	Limit     int // 0: up to 100 000
}

// ListHistory returns history lines, oldest first (the CSV export): one payment's in the order
// they were written (seq; two operations that ran at once may carry times out of that
// order), every payment's by time.
func (s *Store) ListHistory(ctx context.Context, f HistoryFilter) ([]HistoryEntry, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	var w query
	if f.PaymentID != "" {
		w.add("payment_id = ?", f.PaymentID)
	}
	if !f.Since.IsZero() {
		w.add("at >= ?", f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		w.add("at < ?", f.Until.UnixMicro())
	}
	limit := f.Limit
	if limit <= 0 || limit > 100_000 {
		limit = 100_000
	}
	order := ` ORDER BY at, payment_id, seq LIMIT ?`
	if f.PaymentID != "" {
		order = ` ORDER BY seq LIMIT ?`
	}
	return listHistory(ctx, db, w.sql()+order, append(w.args, limit)...)
}

func listHistory(ctx context.Context, db querier, where string, args ...any) ([]HistoryEntry, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, payment_id, seq, at, actor_kind, actor, action, amount_minor, currency, op_id, state, detail
		FROM payment_history `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}
	defer rows.Close()
	out := []HistoryEntry{}
	for rows.Next() {
		var h HistoryEntry
		var at sql.NullInt64
		if err := rows.Scan(&h.ID, &h.PaymentID, &h.Seq, &at, &h.Actor.Kind, &h.Actor.ID, &h.Action, &h.AmountMinor,
			&h.Currency, &h.OpID, &h.State, &h.Detail); err != nil {
			return nil, fmt.Errorf("store: history: %w", err)
		}
		h.At = fromMicros(at)
		out = append(out, h)
	}
	return out, rows.Err()
}
