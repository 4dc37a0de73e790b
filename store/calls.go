package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/paybridge/paybridge/pan"
)

// Call states.
const (
	CallRinging  = "ringing"
	CallAnswered = "answered"
	CallEnded    = "ended"
)

// Call is one inbound call: who called which number, which plan (and the hash of the plan's
// content at the time) handled it, and when it started, was answered and ended.
type Call struct {
	ID          string    `json:"id"`
	From        string    `json:"from"` // caller number or URI user
	To          string    `json:"to"`   // dialled number
	Plan        string    `json:"plan"`
	PlanHash    string    `json:"plan_hash,omitempty"`
	Node        string    `json:"node,omitempty"` // the paybridge node that took the call
	State       string    `json:"state"`          // ringing | answered | ended
	StartedAt   time.Time `json:"started_at"`
	AnsweredAt  time.Time `json:"answered_at,omitzero"`
	EndedAt     time.Time `json:"ended_at,omitzero"`
	HangupCause string    `json:"hangup_cause,omitempty"`
	// RTPForeign counts the datagrams the call's media port dropped because they came from an
	// address other than the caller's media address: an injection attempt when not zero.
	RTPForeign int64 `json:"rtp_foreign"`
	// RTPSocketDrops counts the datagrams the kernel dropped on the call's media socket because
	// its receive queue was full: media (keypresses among it) that never reached paybridge.
	RTPSocketDrops int64 `json:"rtp_socket_drops"`
	// SIPTransport is the transport the call's signalling came on: UDP, TCP or TLS.
	SIPTransport string `json:"sip_transport,omitempty"`
	// SRTP is the crypto suite of the call's media ("AES_CM_128_HMAC_SHA1_80"); "" for plain RTP.
	SRTP string `json:"srtp,omitempty"`
	// Encrypted: signalling over TLS and SRTP media, so neither the tones nor the keys that
	// decrypt them crossed the network in the clear (computed, not stored).
	Encrypted bool `json:"encrypted"`
	// SRTPAuthFailed counts SRTP packets of the call's media that failed authentication (a
	// wrong key, tampering), recorded when the call ends.
	SRTPAuthFailed int64 `json:"srtp_auth_failed"`
}

// Cursor returns the paging cursor that continues a list after c.
func (c Call) Cursor() string { return encodeCursor(c.StartedAt, c.ID) }

// EventRecord is one masked entry of a call's timeline: an event (package event) kept as a
// document, its fields the JSON of the event's data. The store does not interpret them.
type EventRecord struct {
	Seq    int64           `json:"seq"`
	Time   time.Time       `json:"time"`
	Type   string          `json:"type"`
	Step   string          `json:"step,omitempty"`
	Fields json.RawMessage `json:"fields,omitempty"`
}

// CallFilter selects calls for ListCalls. Zero fields do not filter; the ones given must all
// hold.
type CallFilter struct {
	State  string    // ringing | answered | ended | active (ringing or answered)
	From   string    // exact caller
	To     string    // exact dialled number
	Number string    // caller or dialled number containing these digits ("7700 900123")
	Plan   string    // exact plan name
	Node   string    // exact node id (the node that took the call)
	Result string    // how it ended: the hang-up cause or its first word (hangup, caller-hung-up, transferred, error, …)
	Since  time.Time // started at or after
	Until  time.Time // started before

	// Of the call's payments (any of them): reference containing, result, error type, card
	// brand, last four digits of the card.
	Reference, PayResult, ErrorType, CardType, Last4 string

	Limit  int    // page size, default DefaultLimit, at most MaxLimit
	Cursor string // from the last Call of the previous page (Call.Cursor)
}

const callCols = `id, caller, callee, plan, plan_hash, node, state, started_at, answered_at, ended_at, hangup_cause, rtp_foreign, rtp_socket_drops, sip_transport, srtp, srtp_auth_failed`

// CreateCall records a new call. StartedAt defaults to now; State to ringing.
func (s *Store) CreateCall(ctx context.Context, c Call) error {
	if c.ID == "" {
		return fmt.Errorf("%w: call without id", ErrInvalid)
	}
	if c.State == "" {
		c.State = CallRinging
	}
	if !validCallState(c.State) {
		return fmt.Errorf("%w: call %s: state %q", ErrInvalid, c.ID, c.State)
	}
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO calls (`+callCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, pan.Redact(c.From), pan.Redact(c.To), c.Plan, c.PlanHash, c.Node, c.State,
			orNow(c.StartedAt).UnixMicro(), micros(c.AnsweredAt), micros(c.EndedAt), pan.Redact(c.HangupCause), c.RTPForeign, c.RTPSocketDrops,
			c.SIPTransport, c.SRTP, c.SRTPAuthFailed)
		return err
	})
	if isUnique(err) {
		return fmt.Errorf("%w: call %s", ErrDuplicate, c.ID)
	}
	if err != nil {
		return fmt.Errorf("store: create call %s: %w", c.ID, err)
	}
	return nil
}

func validCallState(s string) bool {
	return s == CallRinging || s == CallAnswered || s == CallEnded
}

// MarkAnswered records the moment the call was answered.
func (s *Store) MarkAnswered(ctx context.Context, id string, at time.Time) error {
	return s.updateCall(ctx, id, "mark answered",
		`UPDATE calls SET state = ?, answered_at = ? WHERE id = ? AND state = ?`,
		CallAnswered, orNow(at).UnixMicro(), id, CallRinging)
}

// EndCall records the end of the call and why it ended (caller-hangup, plan-hangup,
// media-timeout, shutdown, …). Ending an ended call keeps the first end.
func (s *Store) EndCall(ctx context.Context, id, cause string, at time.Time) error {
	return s.updateCall(ctx, id, "end",
		`UPDATE calls SET state = ?, ended_at = ?, hangup_cause = ? WHERE id = ? AND state <> ?`,
		CallEnded, orNow(at).UnixMicro(), pan.Redact(cause), id, CallEnded)
}

// SetCallRTPForeign records how many foreign datagrams the call's media port dropped (the
// call-end path writes it with the hang-up).
func (s *Store) SetCallRTPForeign(ctx context.Context, id string, n int64) error {
	return s.updateCall(ctx, id, "record foreign RTP",
		`UPDATE calls SET rtp_foreign = ? WHERE id = ?`, n, id)
}

// SetCallSocketDrops records how many datagrams the kernel dropped on the call's media socket
// (the call-end path writes it with the hang-up).
func (s *Store) SetCallSocketDrops(ctx context.Context, id string, n int64) error {
	return s.updateCall(ctx, id, "record socket drops",
		`UPDATE calls SET rtp_socket_drops = ? WHERE id = ?`, n, id)
}

// SetCallSRTPAuthFailed records how many SRTP packets of the call's media failed
// authentication (the call-end path writes it with the hang-up).
func (s *Store) SetCallSRTPAuthFailed(ctx context.Context, id string, n int64) error {
	return s.updateCall(ctx, id, "record SRTP authentication failures",
		`UPDATE calls SET srtp_auth_failed = ? WHERE id = ?`, n, id)
}

// EndInterruptedCalls ends every call started before the given time that is not ended: calls
// a previous process was running when it stopped without hanging them up (kill -9, power
// loss). Their records would otherwise show them in progress forever. It returns how many it
// ended. On SQLite one node owns the file (serve locks its data directory), so every such call
// was this node's; on a shared database use EndNodeCalls.
func (s *Store) EndInterruptedCalls(ctx context.Context, before time.Time, cause string) (int, error) {
	return s.endCalls(ctx, "", false, before, cause)
}

// EndNodeCalls is EndInterruptedCalls for the calls of one node only: the node's own calls of
// its previous run, or those of a dead node another node has taken over (TakeOver).
func (s *Store) EndNodeCalls(ctx context.Context, node string, before time.Time, cause string) (int, error) {
	return s.endCalls(ctx, node, true, before, cause)
}

func (s *Store) endCalls(ctx context.Context, node string, byNode bool, before time.Time, cause string) (int, error) {
	var n int64
	stmt := `UPDATE calls SET state = ?, ended_at = ?, hangup_cause = ? WHERE state <> ? AND started_at < ?`
	args := []any{CallEnded, orNow(time.Time{}).UnixMicro(), pan.Redact(cause), CallEnded, before.UnixMicro()}
	if byNode {
		stmt += ` AND node = ?`
		args = append(args, node)
	}
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, stmt, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: end interrupted calls: %w", err)
	}
	return int(n), nil
}

// updateCall runs a guarded update; when no row changed it tells a missing call (ErrNotFound)
// from one already past that state (no error: the update is idempotent).
func (s *Store) updateCall(ctx context.Context, id, op, stmt string, args ...any) error {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, stmt, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM calls WHERE id = ?`, id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: call %s", ErrNotFound, id)
		} else {
			return err
		}
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("store: %s call %s: %w", op, id, err)
	}
	return err
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanCall(sc scanner) (Call, error) {
	var c Call
	var started, answered, ended sql.NullInt64
	err := sc.Scan(&c.ID, &c.From, &c.To, &c.Plan, &c.PlanHash, &c.Node, &c.State, &started, &answered, &ended, &c.HangupCause, &c.RTPForeign, &c.RTPSocketDrops,
		&c.SIPTransport, &c.SRTP, &c.SRTPAuthFailed)
	c.StartedAt, c.AnsweredAt, c.EndedAt = fromMicros(started), fromMicros(answered), fromMicros(ended)
	c.Encrypted = c.SIPTransport == "TLS" && c.SRTP != ""
	return c, err
}

// ListCalls returns one page of calls, newest first.
func (s *Store) ListCalls(ctx context.Context, f CallFilter) ([]Call, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	var q query
	switch f.State {
	case "":
	case "active":
		q.add("state <> ?", CallEnded)
	default:
		if !validCallState(f.State) {
			return nil, fmt.Errorf("%w: call state %q (want ringing, answered, ended or active)", ErrInvalid, f.State)
		}
		q.add("state = ?", f.State)
	}
	if f.From != "" {
		q.add("caller = ?", f.From)
	}
	if f.To != "" {
		q.add("callee = ?", f.To)
	}
	if f.Plan != "" {
		q.add("plan = ?", f.Plan)
	}
	if f.Number != "" {
		q.addAnyContains([]string{"caller", "callee"}, numberDigits(f.Number))
	}
	if f.Node != "" {
		q.add("node = ?", f.Node)
	}
	if f.Result != "" {
		q.add("(hangup_cause = ? OR hangup_cause LIKE ? ESCAPE '"+likeEscape+"')", f.Result,
			escapeLike(f.Result)+":%")
	}
	if !f.Since.IsZero() {
		q.add("started_at >= ?", f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		q.add("started_at < ?", f.Until.UnixMicro())
	}
	if f.Reference != "" || f.PayResult != "" || f.ErrorType != "" || f.CardType != "" || f.Last4 != "" {
		var pq query
		if err := pq.paymentFacts(f.Reference, f.PayResult, f.ErrorType, f.CardType, f.Last4); err != nil {
			return nil, err
		}
		q.add("id IN (SELECT call_id FROM payment_sessions"+pq.sql()+")", pq.args...)
	}
	if err := q.page("started_at", "id", f.Cursor); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT `+callCols+` FROM calls`+q.sql()+
		` ORDER BY started_at DESC, id DESC LIMIT ?`, append(q.args, clampLimit(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("store: list calls: %w", err)
	}
	defer rows.Close()
	out := []Call{}
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list calls: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// GetCall returns a call and its timeline in order.
func (s *Store) GetCall(ctx context.Context, id string) (*Call, []EventRecord, error) {
	db, err := s.reader()
	if err != nil {
		return nil, nil, err
	}
	c, err := scanCall(db.QueryRowContext(ctx, `SELECT `+callCols+` FROM calls WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("%w: call %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: get call %s: %w", id, err)
	}
	rows, err := db.QueryContext(ctx, `SELECT seq, at, type, step, fields FROM call_events WHERE call_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, nil, fmt.Errorf("store: get call %s events: %w", id, err)
	}
	defer rows.Close()
	evs := []EventRecord{}
	for rows.Next() {
		var ev EventRecord
		var at int64
		var fields string
		if err := rows.Scan(&ev.Seq, &at, &ev.Type, &ev.Step, &fields); err != nil {
			return nil, nil, fmt.Errorf("store: get call %s events: %w", id, err)
		}
		ev.Time = time.UnixMicro(at).UTC()
		if fields != "" {
			if !json.Valid([]byte(fields)) {
				return nil, nil, fmt.Errorf("store: call %s event %d: corrupt fields", id, ev.Seq)
			}
			ev.Fields = json.RawMessage(fields)
		}
		evs = append(evs, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	return &c, evs, nil
}
