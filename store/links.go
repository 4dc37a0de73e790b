package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// Link is a payment link sent by SMS. The store keeps only the hash of the link's secret token
// (the gateway hashes it; a stolen database cannot pay anything), the session it completes and
// its expiry. A link is single use: ConsumeLink flips UsedAt atomically.
type Link struct {
	ID        string `json:"id"`         // public link id (safe to show)
	TokenHash string `json:"-"`          // hash of the secret token; never served
	SessionID string `json:"session_id"` // payment session the link completes
	CallID    string `json:"call_id,omitempty"`
	Connector string `json:"connector,omitempty"`
	// ConnectorKey names the connector (plan and spec) the link's session was started with;
	// the link's page pays through that one only.
	ConnectorKey string    `json:"connector_key,omitempty"`
	To           string    `json:"to,omitempty"`
	AmountMinor  int64     `json:"amount_minor"`
	Currency     string    `json:"currency"`
	Reference    string    `json:"reference,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	UsedAt       time.Time `json:"used_at,omitzero"`
	Attempts     int       `json:"attempts"` // payment tries on the link's page
	LastAttempt  time.Time `json:"last_attempt_at,omitzero"`
	LastResult   string    `json:"last_result,omitempty"`
	// Status is active, claimed (a submission is with the provider), used or failed.
	Status       string    `json:"status,omitempty"`
	ClaimedAt    time.Time `json:"claimed_at,omitzero"`
	Confirmation string    `json:"confirmation,omitempty"`
	MessageID    string    `json:"message_id,omitempty"`
	// Invoice is the merchant's invoice the link pays (shown on its page).
	Invoice *payment.Invoice `json:"invoice,omitempty"`
	// Terms is what the link's page does beyond charging a card: authorize, a bank account,
	// a route of backup connectors (docs/pay.md).
	Terms *payment.LinkTerms `json:"terms,omitempty"`
}

// Cursor returns the paging cursor that continues a list after l.
func (l Link) Cursor() string { return encodeCursor(l.CreatedAt, l.ID) }

// State is the link's state at the given time: "used", "failed", "claimed" (a submission is
// with the provider), "expired" or "active".
func (l Link) State(at time.Time) string {
	switch {
	case !l.UsedAt.IsZero() || l.Status == LinkUsed:
		return LinkUsed
	case l.Status == LinkFailed:
		return LinkFailed
	case l.Status == LinkClaimed:
		return LinkClaimed
	case !at.Before(l.ExpiresAt):
		return "expired"
	}
	return LinkActive
}

// LinkFilter selects links for ListLinks. Zero fields do not filter.
type LinkFilter struct {
	SessionID string
	CallID    string
	Number    string    // texted to a number containing these digits
	Reference string    // containing (any case)
	State     string    // active, claimed, used, failed or expired — as Link.State says at Now
	Plan      string    // its call's plan
	Node      string    // its call's node
	Since     time.Time // created at or after
	Until     time.Time // created before
	Now       time.Time // for State active/expired; zero = now
	Limit     int
	Cursor    string
}

const linkCols = `id, token_hash, session_id, call_id, connector, to_number, amount_minor, currency, reference,
	created_at, expires_at, used_at, attempts, last_attempt_at, last_result, state, claimed_at, confirmation, message_id,
	connector_key, invoice, terms`

// CreateLink records a new link. ID defaults to a random id, CreatedAt to now; TokenHash and
// ExpiresAt are required.
func (s *Store) CreateLink(ctx context.Context, l Link) error {
	if l.TokenHash == "" || l.ExpiresAt.IsZero() {
		return fmt.Errorf("%w: link needs a token hash and an expiry", ErrInvalid)
	}
	if l.ID == "" {
		l.ID = newID()
	}
	err := s.write(ctx, func(ctx context.Context, tx *txn) error { return insertLink(ctx, tx, l) })
	if isUnique(err) {
		return fmt.Errorf("%w: link %s", ErrDuplicate, l.ID)
	}
	if err != nil {
		return fmt.Errorf("store: create link %s: %w", l.ID, err)
	}
	return nil
}

// CreateLinkCapped is CreateLink under a per-number cap: it counts the links created for l.To
// at or after since and creates l only if there are fewer than max, as one step across every
// node sharing the database (an advisory lock on the number serialises the nodes'
// count-and-insert on PostgreSQL; SQLite's single writer already does). At the cap it returns
// ErrCapReached and creates nothing.
func (s *Store) CreateLinkCapped(ctx context.Context, l Link, since time.Time, max int) error {
	if l.TokenHash == "" || l.ExpiresAt.IsZero() {
		return fmt.Errorf("%w: link needs a token hash and an expiry", ErrInvalid)
	}
	if l.ID == "" {
		l.ID = newID()
	}
	to := pan.Redact(l.To)
	var have int
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		if err := tx.lockKey(ctx, "links-to:"+to); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM payment_links WHERE to_number = ? AND created_at >= ?`,
			to, since.UnixMicro()).Scan(&have); err != nil {
			return err
		}
		if have >= max {
			return ErrCapReached
		}
		return insertLink(ctx, tx, l)
	})
	switch {
	case errors.Is(err, ErrCapReached):
		return fmt.Errorf("%w: %d links to this number since %s", ErrCapReached, have, since.UTC().Format(time.RFC3339))
	case isUnique(err):
		return fmt.Errorf("%w: link %s", ErrDuplicate, l.ID)
	case err != nil:
		return fmt.Errorf("store: create link %s: %w", l.ID, err)
	}
	return nil
}

func insertLink(ctx context.Context, tx *txn, l Link) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO payment_links (`+linkCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, NULL, '', ?, NULL, '', ?, ?, ?, ?)`,
		l.ID, l.TokenHash, l.SessionID, l.CallID, l.Connector, pan.Redact(l.To), l.AmountMinor, l.Currency,
		pan.Redact(l.Reference), orNow(l.CreatedAt).UnixMicro(), l.ExpiresAt.UnixMicro(), orDefault(l.Status, LinkActive),
		l.MessageID, l.ConnectorKey, jsonText(l.Invoice), jsonText(l.Terms))
	return err
}

func scanLink(sc scanner) (Link, error) {
	var l Link
	var created, expires, used, last, claimed sql.NullInt64
	var invoice, terms string
	err := sc.Scan(&l.ID, &l.TokenHash, &l.SessionID, &l.CallID, &l.Connector, &l.To, &l.AmountMinor, &l.Currency,
		&l.Reference, &created, &expires, &used, &l.Attempts, &last, &l.LastResult, &l.Status, &claimed,
		&l.Confirmation, &l.MessageID, &l.ConnectorKey, &invoice, &terms)
	if terms != "" {
		l.Terms = new(payment.LinkTerms)
		if json.Unmarshal([]byte(terms), l.Terms) != nil {
			l.Terms = nil
		}
	}
	if invoice != "" {
		l.Invoice = new(payment.Invoice)
		if json.Unmarshal([]byte(invoice), l.Invoice) != nil {
			l.Invoice = nil
		}
	}
	l.CreatedAt, l.ExpiresAt, l.UsedAt, l.LastAttempt = fromMicros(created), fromMicros(expires), fromMicros(used), fromMicros(last)
	l.ClaimedAt = fromMicros(claimed)
	return l, err
}

// LinkByHash finds a link by its token hash (the payment page's lookup).
func (s *Store) LinkByHash(ctx context.Context, hash string) (*Link, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	l, err := scanLink(db.QueryRowContext(ctx, `SELECT `+linkCols+` FROM payment_links WHERE token_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: link", ErrNotFound) // the hash is a secret's digest: not echoed
	}
	if err != nil {
		return nil, fmt.Errorf("store: link by hash: %w", err)
	}
	return &l, nil
}

// ConsumeLink marks the link used at `at` if it is unused and unexpired, in one statement, so
// of two concurrent payers exactly one gets ok. A used or expired link gives ok=false and no
// error; an unknown hash gives ErrNotFound.
func (s *Store) ConsumeLink(ctx context.Context, hash string, at time.Time) (bool, error) {
	at = orNow(at)
	var ok bool
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE payment_links SET used_at = ?, state = ?
			WHERE token_hash = ? AND used_at IS NULL AND state = ? AND expires_at > ?`,
			at.UnixMicro(), LinkUsed, hash, LinkActive, at.UnixMicro())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			ok = true
			return nil
		}
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM payment_links WHERE token_hash = ?`, hash).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: link", ErrNotFound)
		} else {
			return err
		}
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, fmt.Errorf("store: consume link: %w", err)
	}
	return ok, err
}

// RecordLinkAttempt counts one payment try on a link's page and keeps its result (approved,
// declined, error, invalid-input, …), for the console and for rate limiting.
func (s *Store) RecordLinkAttempt(ctx context.Context, hash string, at time.Time, result string) error {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE payment_links SET attempts = attempts + 1, last_attempt_at = ?, last_result = ?
			WHERE token_hash = ?`, orNow(at).UnixMicro(), pan.Redact(result), hash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: link", ErrNotFound)
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("store: record link attempt: %w", err)
	}
	return err
}

// ListLinks returns one page of links, newest first.
func (s *Store) ListLinks(ctx context.Context, f LinkFilter) ([]Link, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	var q query
	if f.SessionID != "" {
		q.add("session_id = ?", f.SessionID)
	}
	if f.CallID != "" {
		q.add("call_id = ?", f.CallID)
	}
	if f.Number != "" {
		q.addContains("to_number", numberDigits(f.Number))
	}
	if f.Reference != "" {
		q.addContains("reference", f.Reference)
	}
	q.callFacts(f.Plan, f.Node, "")
	now := orNow(f.Now).UnixMicro()
	switch f.State {
	case "":
	case LinkUsed:
		q.add("(used_at IS NOT NULL OR state = ?)", LinkUsed)
	case LinkFailed, LinkClaimed:
		q.add("used_at IS NULL AND state = ?", f.State)
	case LinkActive:
		q.add("used_at IS NULL AND state = ? AND expires_at > ?", LinkActive, now)
	case "expired":
		q.add("used_at IS NULL AND state = ? AND expires_at <= ?", LinkActive, now)
	default:
		return nil, fmt.Errorf("%w: link state %q (want active, claimed, used, failed or expired)", ErrInvalid, f.State)
	}
	if !f.Since.IsZero() {
		q.add("created_at >= ?", f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		q.add("created_at < ?", f.Until.UnixMicro())
	}
	if err := q.page("created_at", "id", f.Cursor); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT `+linkCols+` FROM payment_links`+q.sql()+
		` ORDER BY created_at DESC, id DESC LIMIT ?`, append(q.args, clampLimit(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("store: list links: %w", err)
	}
	defer rows.Close()
	out := []Link{}
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list links: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
