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

// Attempt statuses.
const (
	AttemptPending  = "pending"
	AttemptComplete = "complete"
)

// Payment states: a payment is completed (paid or tokenized) or failed (it ended without
// paying: declined, abandoned, no answer). A failed payment becomes completed when a later
// attempt on the same session (a payment link) pays it.
const (
	PaymentCompleted = "completed"
	PaymentFailed    = "failed"
)

// ResultSuccess is the Result of a completed payment.
const ResultSuccess = "success"

// PaymentSession is the masked summary of one payment: a provider self-service session that a
// voice capture or a payment link completes. It never holds card data: the card is stored as
// its canonical mask ("************4242") and brand only, the security code not at all.
type PaymentSession struct {
	ID                string    `json:"id"` // paybridge's session id (the provider's when it names it)
	CallID            string    `json:"call_id,omitempty"`
	Connector         string    `json:"connector"`
	ConnectorKey      string    `json:"connector_key,omitempty"` // the connector it was made with (plan and spec)
	Channel           string    `json:"channel,omitempty"`       // voice | link
	AmountMinor       int64     `json:"amount_minor"`
	Currency          string    `json:"currency"`
	Reference         string    `json:"reference,omitempty"`
	State             string    `json:"state"`            // completed | failed
	Result            string    `json:"result,omitempty"` // Pay.Result: success, too-many-failed-attempts, …; declined (link)
	ErrorType         string    `json:"error_type,omitempty"`
	ErrorCode         string    `json:"error_code,omitempty"`  // provider decline code or connector error
	MaskedCard        string    `json:"masked_card,omitempty"` // canonical mask only
	CardType          string    `json:"card_type,omitempty"`
	Token             string    `json:"token,omitempty"`
	Confirmation      string    `json:"confirmation,omitempty"`
	ProviderSessionID string    `json:"provider_session_id,omitempty"`
	ProviderPaymentID string    `json:"provider_payment_id,omitempty"`
	Attempts          int       `json:"attempts"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
	CompletedAt       time.Time `json:"completed_at,omitzero"`

	// The life of the payment (lifecycle.go). The money columns are written when the payment
	// first moves money (an authorisation or a charge) and afterwards only by operations.
	Method          string           `json:"method,omitempty"`         // charge | authorize | tokenize
	PaymentMethod   string           `json:"payment_method,omitempty"` // credit-card | ach-debit
	BankAccountType string           `json:"bank_account_type,omitempty"`
	MaskedAccount   string           `json:"masked_account,omitempty"` // pan.MaskAccount only
	Lifecycle       string           `json:"lifecycle,omitempty"`      // payment.State*: authorized, captured, refunded, …
	AuthorizedMinor int64            `json:"authorized_minor"`
	CapturedMinor   int64            `json:"captured_minor"`
	RefundedMinor   int64            `json:"refunded_minor"`
	AuthorizedUntil time.Time        `json:"authorized_until,omitzero"`
	Invoice         *payment.Invoice `json:"invoice,omitempty"`
	Routes          *Routes          `json:"routes,omitempty"`
}

// Routes are the connectors a payment was offered to, in order (routing).
type Routes []payment.Route

// Cursor returns the paging cursor that continues a list after p.
func (p PaymentSession) Cursor() string { return encodeCursor(p.CreatedAt, p.ID) }

// Attempt is one charge or tokenize request to a provider. It is written pending before the
// request is sent and completed with the answer, so a crash in between leaves a pending row
// that startup reconciles by asking the provider with the same idempotency key.
type Attempt struct {
	IdempotencyKey string    `json:"idempotency_key"`
	SessionID      string    `json:"session_id,omitempty"`
	CallID         string    `json:"call_id,omitempty"`
	Connector      string    `json:"connector"`
	ConnectorKey   string    `json:"connector_key,omitempty"` // the connector it was sent through (plan and spec)
	Channel        string    `json:"channel,omitempty"`       // voice | link
	Attempt        int       `json:"attempt"`
	AmountMinor    int64     `json:"amount_minor"`
	Currency       string    `json:"currency"`
	Status         string    `json:"status"`                   // pending | complete (set by the store)
	ConnectorType  string    `json:"connector_type,omitempty"` // session | generic | stripe
	Method         string    `json:"method,omitempty"`         // charge | tokenize
	Reference      string    `json:"reference,omitempty"`
	MaskedCard     string    `json:"masked_card,omitempty"` // canonical mask only
	CardBrand      string    `json:"card_brand,omitempty"`
	LastError      string    `json:"last_error,omitempty"`     // the last connector error while pending
	Node           string    `json:"node,omitempty"`           // the node that sent it (and settles it unless it dies)
	PaymentMethod  string    `json:"payment_method,omitempty"` // credit-card | ach-debit
	MaskedAccount  string    `json:"masked_account,omitempty"` // a bank account's mask only
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at,omitzero"`
	AttemptResult
}

// AttemptResult is the provider's answer to an attempt.
type AttemptResult struct {
	Result         string    `json:"result,omitempty"` // approved | declined | error
	ProviderStatus int       `json:"provider_status,omitempty"`
	ErrorCode      string    `json:"error_code,omitempty"`
	ErrorMessage   string    `json:"error_message,omitempty"`
	Confirmation   string    `json:"confirmation,omitempty"`
	Token          string    `json:"token,omitempty"` // token id when tokenizing
	SessionID      string    `json:"-"`               // the provider's session id, when it named one only now
	CompletedAt    time.Time `json:"completed_at,omitzero"`
}

// PaymentFilter selects payments for ListPayments. Zero fields do not filter; the ones given
// must all hold.
type PaymentFilter struct {
	CallID    string
	Connector string
	State     string
	Result    string
	Channel   string // voice | link
	Reference string // containing (any case)
	ErrorType string // the caller's last entry error (invalid-card-number, …)
	CardType  string // visa, mastercard, …
	Last4     string // the card's last four digits (exactly 4)
	Number    string // the caller's or dialled number of its call, or the number its link was texted to, containing these digits
	Plan      string // its call's plan
	Node      string // its call's node
	Since     time.Time
	Until     time.Time
	Limit     int
	Cursor    string // PaymentSession.Cursor of the last row of the previous page
}

const paymentCols = `id, call_id, connector, channel, amount_minor, currency, reference, state, result, error_type,
	masked_card, card_type, token, confirmation, provider_session_id, provider_payment_id, attempts,
	created_at, updated_at, completed_at, error_code, connector_key,
	method, payment_method, bank_account_type, masked_account, lifecycle, holding, authorized_minor, captured_minor,
	refunded_minor, authorized_until, invoice, routes`

// UpsertPaymentSession creates the session or updates it. On update, empty strings and zero
// numbers keep the stored value, so each writer (engine, link page, webhook) sets only what it
// knows — except that a successful result clears the error type and code an earlier failed
// attempt left, and a completed payment stays completed (a late failure of another attempt on
// the same session does not undo it). MaskedCard must be a canonical mask or the write is
// refused with ErrCardData.
func (s *Store) UpsertPaymentSession(ctx context.Context, p PaymentSession) error {
	_, err := s.upsertPaymentSession(ctx, p, false)
	return err
}

// UpsertPaymentSessionStored is UpsertPaymentSession that also returns the record as this
// write left it (what GetPayment would read right after, without the attempts): the upsert
// returns its row (RETURNING, both dialects), so there is no second read — serve's recorder
// sends the stored record as the payment's webhook.
func (s *Store) UpsertPaymentSessionStored(ctx context.Context, p PaymentSession) (*PaymentSession, error) {
	return s.upsertPaymentSession(ctx, p, true)
}

func (s *Store) upsertPaymentSession(ctx context.Context, p PaymentSession, stored bool) (*PaymentSession, error) {
	w, err := preparePayment(p, stored)
	if err != nil {
		return nil, err
	}
	return w.finish(s.write(ctx, w.fn))
}

// paymentWrite is upsertPaymentSession's write, made ready (and the record checked) outside
// the writer; finish returns its result.
type paymentWrite struct {
	id  string
	fn  func(ctx context.Context, tx *txn) error
	out *PaymentSession // the stored record (stored writes), set by fn
}

func (w *paymentWrite) finish(err error) (*PaymentSession, error) {
	if err != nil {
		return nil, fmt.Errorf("store: upsert payment session %s: %w", w.id, err)
	}
	return w.out, nil
}

func preparePayment(p PaymentSession, stored bool) (*paymentWrite, error) {
	if p.ID == "" {
		return nil, fmt.Errorf("%w: payment session without id", ErrInvalid)
	}
	if !pan.ValidMask(p.MaskedCard) {
		return nil, fmt.Errorf("%w: payment session %s: masked_card must be the canonical mask (last four)", ErrCardData, p.ID)
	}
	if !pan.ValidAccountMask(p.MaskedAccount) {
		return nil, fmt.Errorf("%w: payment session %s: masked_account must be a bank account's mask (last four)", ErrCardData, p.ID)
	}
	if p.AmountMinor < 0 || p.AuthorizedMinor < 0 || p.CapturedMinor < 0 {
		return nil, fmt.Errorf("%w: payment session %s: negative amount", ErrInvalid, p.ID)
	}
	t := orNow(p.UpdatedAt).UnixMicro()
	created := t
	if !p.CreatedAt.IsZero() {
		created = p.CreatedAt.UnixMicro()
	}
	// The money, when this write is the payment's first that moves any: held (authorize) or
	// captured (charge).
	holding := p.Method == payment.MethodAuthorize && p.AuthorizedMinor > p.CapturedMinor
	if p.AuthorizedMinor > 0 && p.Method != payment.MethodAuthorize && p.CapturedMinor == 0 {
		p.CapturedMinor = p.AuthorizedMinor
	}
	p.Lifecycle = ""
	if p.AuthorizedMinor > 0 {
		p.Lifecycle = payment.DeriveState(holding, "", p.CapturedMinor, 0, false)
	}
	invoice, routes := jsonText(p.Invoice), jsonText(p.Routes)
	w := &paymentWrite{id: p.ID}
	w.fn = func(ctx context.Context, tx *txn) error {
		w.out = nil // a write may run again (writer.go)
		var before int64
		err := tx.QueryRowContext(ctx, `SELECT authorized_minor FROM payment_sessions WHERE id = ?`+tx.d.forUpdate(), p.ID).Scan(&before)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		q := `INSERT INTO payment_sessions (` + paymentCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET
				method = CASE WHEN excluded.method <> '' THEN excluded.method ELSE payment_sessions.method END,
				payment_method = CASE WHEN excluded.payment_method <> '' THEN excluded.payment_method ELSE payment_sessions.payment_method END,
				bank_account_type = CASE WHEN excluded.bank_account_type <> '' THEN excluded.bank_account_type ELSE payment_sessions.bank_account_type END,
				masked_account = CASE WHEN excluded.masked_account <> '' THEN excluded.masked_account ELSE payment_sessions.masked_account END,
				invoice = CASE WHEN excluded.invoice <> '' THEN excluded.invoice ELSE payment_sessions.invoice END,
				routes = CASE WHEN excluded.routes <> '' THEN excluded.routes ELSE payment_sessions.routes END,
				lifecycle = CASE WHEN payment_sessions.authorized_minor = 0 THEN excluded.lifecycle ELSE payment_sessions.lifecycle END,
				holding = CASE WHEN payment_sessions.authorized_minor = 0 THEN excluded.holding ELSE payment_sessions.holding END,
				captured_minor = CASE WHEN payment_sessions.authorized_minor = 0 THEN excluded.captured_minor ELSE payment_sessions.captured_minor END,
				authorized_until = CASE WHEN payment_sessions.authorized_minor = 0 THEN excluded.authorized_until ELSE payment_sessions.authorized_until END,
				authorized_minor = CASE WHEN payment_sessions.authorized_minor = 0 THEN excluded.authorized_minor ELSE payment_sessions.authorized_minor END,
				connector_key = CASE WHEN excluded.connector_key <> '' THEN excluded.connector_key ELSE payment_sessions.connector_key END,
				call_id = CASE WHEN excluded.call_id <> '' THEN excluded.call_id ELSE payment_sessions.call_id END,
				connector = CASE WHEN excluded.connector <> '' THEN excluded.connector ELSE payment_sessions.connector END,
				channel = CASE WHEN excluded.channel <> '' THEN excluded.channel ELSE payment_sessions.channel END,
				amount_minor = CASE WHEN excluded.amount_minor <> 0 THEN excluded.amount_minor ELSE payment_sessions.amount_minor END,
				currency = CASE WHEN excluded.currency <> '' THEN excluded.currency ELSE payment_sessions.currency END,
				reference = CASE WHEN excluded.reference <> '' THEN excluded.reference ELSE payment_sessions.reference END,
				state = CASE WHEN payment_sessions.state = 'completed' AND excluded.state <> 'completed' THEN payment_sessions.state
					WHEN excluded.state <> '' THEN excluded.state ELSE payment_sessions.state END,
				result = CASE WHEN payment_sessions.state = 'completed' AND excluded.state <> 'completed' THEN payment_sessions.result
					WHEN excluded.result <> '' THEN excluded.result ELSE payment_sessions.result END,
				error_type = CASE WHEN excluded.result = 'success' THEN '' WHEN payment_sessions.state = 'completed' THEN payment_sessions.error_type
					WHEN excluded.error_type <> '' THEN excluded.error_type ELSE payment_sessions.error_type END,
				error_code = CASE WHEN excluded.result = 'success' THEN '' WHEN payment_sessions.state = 'completed' THEN payment_sessions.error_code
					WHEN excluded.error_code <> '' THEN excluded.error_code ELSE payment_sessions.error_code END,
				masked_card = CASE WHEN excluded.masked_card <> '' THEN excluded.masked_card ELSE payment_sessions.masked_card END,
				card_type = CASE WHEN excluded.card_type <> '' THEN excluded.card_type ELSE payment_sessions.card_type END,
				token = CASE WHEN excluded.token <> '' THEN excluded.token ELSE payment_sessions.token END,
				confirmation = CASE WHEN excluded.confirmation <> '' THEN excluded.confirmation ELSE payment_sessions.confirmation END,
				provider_session_id = CASE WHEN excluded.provider_session_id <> '' THEN excluded.provider_session_id ELSE payment_sessions.provider_session_id END,
				provider_payment_id = CASE WHEN excluded.provider_payment_id <> '' THEN excluded.provider_payment_id ELSE payment_sessions.provider_payment_id END,
				attempts = CASE WHEN excluded.attempts <> 0 THEN excluded.attempts ELSE payment_sessions.attempts END,
				updated_at = excluded.updated_at,
				completed_at = CASE WHEN payment_sessions.state = 'completed' AND excluded.state <> 'completed' THEN payment_sessions.completed_at
					ELSE COALESCE(excluded.completed_at, payment_sessions.completed_at) END`
		args := []any{p.ID, p.CallID, p.Connector, p.Channel, p.AmountMinor, p.Currency, pan.Redact(p.Reference),
			p.State, p.Result, p.ErrorType, p.MaskedCard, p.CardType, pan.Redact(p.Token), pan.Redact(p.Confirmation),
			pan.Redact(p.ProviderSessionID), pan.Redact(p.ProviderPaymentID), p.Attempts, created, t, micros(p.CompletedAt),
			pan.Redact(p.ErrorCode), p.ConnectorKey,
			p.Method, p.PaymentMethod, p.BankAccountType, p.MaskedAccount, p.Lifecycle, boolInt(holding), p.AuthorizedMinor,
			p.CapturedMinor, int64(0), micros(p.AuthorizedUntil), invoice, routes}
		if stored {
			row, err := scanPayment(tx.QueryRowContext(ctx, q+` RETURNING `+paymentCols, args...))
			if err != nil {
				return err
			}
			w.out = &row
		} else if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		if before != 0 || p.AuthorizedMinor == 0 {
			return nil
		}
		// The payment's first money: the first line of its history.
		action := "charged"
		if holding {
			action = "authorized"
		}
		kind := payment.ActorPlan
		switch p.Channel {
		case "link":
			kind = payment.ActorCustomer
		case "agent":
			kind = payment.ActorAgent
		}
		return appendHistory(ctx, tx, historyRow{paymentID: p.ID, at: orNow(p.UpdatedAt), actor: payment.Actor{Kind: kind, ID: p.CallID},
			action: action, amount: p.AuthorizedMinor, currency: p.Currency, state: p.Lifecycle})
	}
	return w, nil
}

func scanPayment(sc scanner) (PaymentSession, error) {
	var p PaymentSession
	var created, updated, completed, until sql.NullInt64
	var holding int
	var invoice, routes string
	err := sc.Scan(&p.ID, &p.CallID, &p.Connector, &p.Channel, &p.AmountMinor, &p.Currency, &p.Reference, &p.State,
		&p.Result, &p.ErrorType, &p.MaskedCard, &p.CardType, &p.Token, &p.Confirmation, &p.ProviderSessionID,
		&p.ProviderPaymentID, &p.Attempts, &created, &updated, &completed, &p.ErrorCode, &p.ConnectorKey,
		&p.Method, &p.PaymentMethod, &p.BankAccountType, &p.MaskedAccount, &p.Lifecycle, &holding, &p.AuthorizedMinor,
		&p.CapturedMinor, &p.RefundedMinor, &until, &invoice, &routes)
	p.CreatedAt, p.UpdatedAt, p.CompletedAt = fromMicros(created), fromMicros(updated), fromMicros(completed)
	p.AuthorizedUntil = fromMicros(until)
	if invoice != "" {
		p.Invoice = new(payment.Invoice)
		if json.Unmarshal([]byte(invoice), p.Invoice) != nil {
			p.Invoice = nil
		}
	}
	if routes != "" {
		p.Routes = new(Routes)
		if json.Unmarshal([]byte(routes), p.Routes) != nil {
			p.Routes = nil
		}
	}
	return p, err
}

// ListPayments returns one page of payment sessions, newest first.
func (s *Store) ListPayments(ctx context.Context, f PaymentFilter) ([]PaymentSession, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	var q query
	if f.CallID != "" {
		q.add("call_id = ?", f.CallID)
	}
	if f.Connector != "" {
		q.add("connector = ?", f.Connector)
	}
	if f.State != "" {
		q.add("state = ?", f.State)
	}
	if err := q.paymentFacts(f.Reference, f.Result, f.ErrorType, f.CardType, f.Last4); err != nil {
		return nil, err
	}
	if f.Channel != "" {
		q.add("channel = ?", f.Channel)
	}
	q.callFacts(f.Plan, f.Node, "")
	if f.Number != "" {
		d := numberDigits(f.Number)
		var cq, lq query
		cq.addAnyContains([]string{"caller", "callee"}, d)
		lq.addContains("to_number", d)
		q.add("(call_id IN (SELECT id FROM calls"+cq.sql()+") OR id IN (SELECT session_id FROM payment_links"+lq.sql()+"))",
			append(cq.args, lq.args...)...)
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
	rows, err := db.QueryContext(ctx, `SELECT `+paymentCols+` FROM payment_sessions`+q.sql()+
		` ORDER BY created_at DESC, id DESC LIMIT ?`, append(q.args, clampLimit(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("store: list payments: %w", err)
	}
	defer rows.Close()
	out := []PaymentSession{}
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list payments: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// GetPayment returns a payment session and its attempts, oldest attempt first.
func (s *Store) GetPayment(ctx context.Context, id string) (*PaymentSession, []Attempt, error) {
	db, err := s.reader()
	if err != nil {
		return nil, nil, err
	}
	p, err := scanPayment(db.QueryRowContext(ctx, `SELECT `+paymentCols+` FROM payment_sessions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("%w: payment %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: get payment %s: %w", id, err)
	}
	atts, err := s.attempts(ctx, db, `WHERE session_id = ? ORDER BY created_at, attempt`, id)
	if err != nil {
		return nil, nil, fmt.Errorf("store: get payment %s: %w", id, err)
	}
	return &p, atts, nil
}

const attemptCols = `idempotency_key, session_id, call_id, connector, attempt, amount_minor, currency, status, result,
	provider_status, error_code, error_message, confirmation, created_at, completed_at,
	connector_type, method, reference, masked_card, card_brand, token, last_error, updated_at, connector_key, channel, node,
	payment_method, masked_account`

func (s *Store) attempts(ctx context.Context, db querier, where string, args ...any) ([]Attempt, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+attemptCols+` FROM payment_attempts `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Attempt{}
	for rows.Next() {
		var a Attempt
		var created, completed, updated sql.NullInt64
		if err := rows.Scan(&a.IdempotencyKey, &a.SessionID, &a.CallID, &a.Connector, &a.Attempt, &a.AmountMinor,
			&a.Currency, &a.Status, &a.Result, &a.ProviderStatus, &a.ErrorCode, &a.ErrorMessage, &a.Confirmation,
			&created, &completed, &a.ConnectorType, &a.Method, &a.Reference, &a.MaskedCard, &a.CardBrand, &a.Token,
			&a.LastError, &updated, &a.ConnectorKey, &a.Channel, &a.Node, &a.PaymentMethod, &a.MaskedAccount); err != nil {
			return nil, err
		}
		a.CreatedAt, a.CompletedAt, a.UpdatedAt = fromMicros(created), fromMicros(completed), fromMicros(updated)
		out = append(out, a)
	}
	return out, rows.Err()
}

// CreateAttempt records a pending attempt before it is sent. The idempotency key is unique: a
// second attempt with the same key fails with ErrDuplicate (the caller retries with the same
// key only through the connector, never by creating a new row).
func (s *Store) CreateAttempt(ctx context.Context, a Attempt) error {
	if a.IdempotencyKey == "" {
		return fmt.Errorf("%w: attempt without idempotency key", ErrInvalid)
	}
	if !pan.ValidMask(a.MaskedCard) {
		return fmt.Errorf("%w: attempt %s: masked_card must be the canonical mask (last four)", ErrCardData, a.IdempotencyKey)
	}
	if !pan.ValidAccountMask(a.MaskedAccount) {
		return fmt.Errorf("%w: attempt %s: masked_account must be a bank account's mask", ErrCardData, a.IdempotencyKey)
	}
	created := orNow(a.CreatedAt).UnixMicro()
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO payment_attempts (`+attemptCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', 0, '', '', '', ?, NULL, ?, ?, ?, ?, ?, '', '', ?, ?, ?, ?, ?, ?)`,
			a.IdempotencyKey, a.SessionID, a.CallID, a.Connector, a.Attempt, a.AmountMinor, a.Currency,
			AttemptPending, created, a.ConnectorType, a.Method, pan.Redact(a.Reference), a.MaskedCard, a.CardBrand, created,
			a.ConnectorKey, a.Channel, a.Node, a.PaymentMethod, a.MaskedAccount)
		return err
	})
	if isUnique(err) {
		return fmt.Errorf("%w: attempt %s", ErrDuplicate, a.IdempotencyKey)
	}
	if err != nil {
		return fmt.Errorf("store: create attempt %s: %w", a.IdempotencyKey, err)
	}
	return nil
}

// CompleteAttempt records the provider's answer. Completing an unknown key is ErrNotFound,
// completing twice ErrNotPending (the first answer stands).
func (s *Store) CompleteAttempt(ctx context.Context, key string, r AttemptResult) error {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		done := orNow(r.CompletedAt).UnixMicro()
		res, err := tx.ExecContext(ctx, `UPDATE payment_attempts SET status = ?, result = ?, provider_status = ?,
			error_code = ?, error_message = ?, confirmation = ?, completed_at = ?, token = ?, updated_at = ?,
			session_id = CASE WHEN ? <> '' THEN ? ELSE session_id END
			WHERE idempotency_key = ? AND status = ?`,
			AttemptComplete, r.Result, r.ProviderStatus, pan.Redact(r.ErrorCode), pan.Redact(r.ErrorMessage),
			pan.Redact(r.Confirmation), done, pan.Redact(r.Token), done, r.SessionID, r.SessionID, key, AttemptPending)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var st string
		err = tx.QueryRowContext(ctx, `SELECT status FROM payment_attempts WHERE idempotency_key = ?`, key).Scan(&st)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: attempt %s", ErrNotFound, key)
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: attempt %s", ErrNotPending, key)
	})
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrNotPending) {
		return fmt.Errorf("store: complete attempt %s: %w", key, err)
	}
	return err
}

// PendingAttempts returns every attempt still waiting for its answer, oldest first: after a
// crash these are the payments whose outcome must be fetched from the provider. On a shared
// database use NodePendingAttempts: another node's pending attempts may be in flight.
func (s *Store) PendingAttempts(ctx context.Context) ([]Attempt, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	out, err := s.attempts(ctx, db, `WHERE status = ? ORDER BY created_at, idempotency_key`, AttemptPending)
	if err != nil {
		return nil, fmt.Errorf("store: pending attempts: %w", err)
	}
	return out, nil
}

// NodePendingAttempts is PendingAttempts for the attempts one node sent.
func (s *Store) NodePendingAttempts(ctx context.Context, node string) ([]Attempt, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	out, err := s.attempts(ctx, db, `WHERE status = ? AND node = ? ORDER BY created_at, idempotency_key`, AttemptPending, node)
	if err != nil {
		return nil, fmt.Errorf("store: pending attempts of node %s: %w", node, err)
	}
	return out, nil
}
