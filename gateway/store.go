package gateway

import (
	"context"
	"time"

	"github.com/paybridge/paybridge/payment"
)

// What the gateway persists: four things, through the small interfaces below — the attempt log
// (AttemptLog), the payment links (LinkStore), the SMS outbox (SMSOutbox) and the webhook
// deliveries (WebhookStore); Store is all four. The store package (SQLite) implements them in
// production, adapted in internal/app; NewMemoryStore implements them in memory for
// `paybridge replay` and tests. None of the records
// holds card data: a card appears only as its mask, and a security code not at all.

// AttemptState is where a payment attempt stands.
type AttemptState string

const (
	// AttemptPending is written before the provider is called; an attempt that stays pending
	// (crash, timeout, 5xx) is resolved by Reconcile.
	AttemptPending  AttemptState = "pending"
	AttemptApproved AttemptState = "approved"
	AttemptDeclined AttemptState = "declined"
	// AttemptFailed: the provider refused the request outright (4xx): nothing was charged.
	AttemptFailed AttemptState = "failed"
	// AttemptUnknown: reconciliation could not learn the outcome (the provider has no lookup);
	// a human must check. It is never retried automatically.
	AttemptUnknown AttemptState = "unknown"
)

// Final reports whether the attempt has an outcome.
func (s AttemptState) Final() bool { return s != AttemptPending }

// Attempt is one payment attempt, keyed by its idempotency key.
type Attempt struct {
	Key           string // idempotency key: the same for every retry of this attempt
	CallID        string
	Connector     string // the plan's connector name
	ConnectorKey  string // the connector it was sent through (ConnectorKey): reconciliation asks that one
	Channel       string // voice | link
	ConnectorType string // session | generic | stripe
	Method        string // charge | authorize | tokenize
	PaymentMethod string // credit-card | ach-debit ("" = credit-card)
	SessionID     string
	AmountMinor   int64
	Currency      string
	Reference     string
	MaskedCard    string // pan mask, last four only
	MaskedAccount string // a bank account's mask (pan.MaskAccount), ach-debit only
	CardBrand     string
	State         AttemptState
	Result        AttemptResult // set once State is final
	LastError     string        // the last connector error (no card data), while pending
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// AttemptResult is the outcome recorded when an attempt completes.
type AttemptResult struct {
	State            AttemptState
	SessionID        string
	ConfirmationCode string
	Token            string
	ErrorCode        string
	ErrorMessage     string
	ProviderStatus   int
}

// AttemptLog is the write-ahead log of payment attempts.
type AttemptLog interface {
	// BeginAttempt records a pending attempt before the provider is called. When an attempt
	// with the same key exists it is returned unchanged (with ErrDuplicate) so the caller can
	// reuse its outcome or retry the provider with the same key.
	BeginAttempt(ctx context.Context, a *Attempt) (*Attempt, error)
	// CompleteAttempt records the outcome of the attempt with key.
	CompleteAttempt(ctx context.Context, key string, r AttemptResult) error
	// NoteAttemptError records a connector error on a pending attempt (it stays pending).
	NoteAttemptError(ctx context.Context, key string, msg string) error
	// GetAttempt returns the attempt with key, or ErrNotFound.
	GetAttempt(ctx context.Context, key string) (*Attempt, error)
	// PendingAttempts lists attempts still pending that were created before before.
	PendingAttempts(ctx context.Context, before time.Time) ([]*Attempt, error)
}

// LinkState is where a payment link stands.
type LinkState string

const (
	LinkActive  LinkState = "active"  // may be opened and submitted
	LinkClaimed LinkState = "claimed" // a submission is being processed
	LinkUsed    LinkState = "used"    // paid: single use is spent
	LinkFailed  LinkState = "failed"  // too many declined submissions
)

// Link is a payment link. The token itself is never stored: only its SHA-256 (hex).
type Link struct {
	ID           string // public id (shown in the console and in LinkResult)
	TokenHash    string // hex SHA-256 of the token
	SessionID    string
	Connector    string
	ConnectorKey string // the connector the link's session was started with (ConnectorKey)
	CallID       string
	To           string
	AmountMinor  int64
	Currency     string
	Reference    string
	State        LinkState
	Attempts     int // submissions that did not pay
	CreatedAt    time.Time
	ExpiresAt    time.Time
	UsedAt       time.Time
	Confirmation string // provider confirmation once paid
	MessageID    string
	Invoice      *payment.Invoice // the merchant's invoice the link pays (shown on its page)
	// Terms: authorize instead of charging, a bank account instead of a card, backup
	// connectors (nil: charge a card through Connector).
	Terms *payment.LinkTerms
}

// LinkOutcome is what a submission of a claimed link produced.
type LinkOutcome struct {
	Paid         bool      // the provider approved: the link becomes used
	Confirmation string    // when Paid
	Failed       bool      // no more tries: the link becomes failed
	Retry        bool      // the provider gave no answer: back to active, not counted
	At           time.Time // when
}

// LinkStore keeps payment links.
type LinkStore interface {
	CreateLink(ctx context.Context, l *Link) error
	// LinkByHash returns the link whose token hashes to hash, or ErrNotFound.
	LinkByHash(ctx context.Context, hash string) (*Link, error)
	// ClaimLink atomically moves an active, unexpired link to claimed and returns it:
	// ErrNotFound, ErrLinkExpired, ErrLinkUsed (used or failed) or ErrLinkBusy otherwise.
	// Exactly one of any number of concurrent claims succeeds.
	ClaimLink(ctx context.Context, hash string, now time.Time) (*Link, error)
	// FinishLink ends a claim: used when paid, failed when o.Failed, else back to active with
	// one more attempt counted.
	FinishLink(ctx context.Context, hash string, o LinkOutcome) error
	// SetLinkMessage records the SMS message id of a link.
	SetLinkMessage(ctx context.Context, id, messageID string) error
	// CountLinksTo counts links created for the number to since since (the daily cap).
	CountLinksTo(ctx context.Context, to string, since time.Time) (int, error)
}

// CappedLinkStore is a LinkStore that applies the daily cap and creates the link as one step
// for every process sharing it (the store on PostgreSQL takes a lock on the number in the
// database, so that nodes of a cluster cannot together overshoot the cap). SendPaymentLink uses
// it when its store has it; otherwise it counts and creates under a lock of its own process.
type CappedLinkStore interface {
	// CreateLinkCapped creates l unless max links to l.To were created at or after since, in
	// which case it returns an error wrapping ErrSMSCap and creates nothing.
	CreateLinkCapped(ctx context.Context, l *Link, since time.Time, max int) error
}

// SMS is one text message in the outbox. Its body never holds card data.
type SMS struct {
	ID        string
	CallID    string
	LinkID    string
	To        string
	From      string
	Body      string
	Status    string // queued | sent | failed | not-sent
	Error     string // why it failed or was not sent
	CreatedAt time.Time
}

// SMSOutbox keeps texts for the console (the default "sender") or a relay.
type SMSOutbox interface {
	EnqueueSMS(ctx context.Context, m *SMS) error
}

// DeliveryState is where a webhook delivery stands.
type DeliveryState string

const (
	DeliveryPending   DeliveryState = "pending"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryDead      DeliveryState = "dead" // gave up after the last retry
)

// Delivery is one webhook event bound for one endpoint, persisted before it is sent.
type Delivery struct {
	ID          string // delivery id
	EventID     string // the same for every endpoint of one event (receivers dedupe on it)
	EventType   string
	Subject     string // what the event is about (a payment record's id), for finding its deliveries
	Endpoint    string // endpoint name (its URL and secret come from configuration)
	URL         string
	Body        []byte // JSON; never card data
	State       DeliveryState
	Attempts    int
	NextAttempt time.Time
	LastStatus  int
	LastError   string
	CreatedAt   time.Time
	DeliveredAt time.Time
}

// WebhookStore keeps webhook deliveries.
type WebhookStore interface {
	EnqueueDelivery(ctx context.Context, d *Delivery) error
	// DueDeliveries returns up to limit pending deliveries whose NextAttempt ≤ now, oldest first.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]*Delivery, error)
	MarkDelivered(ctx context.Context, id string, status int, at time.Time) error
	// MarkFailed counts a failed try; next is the retry time, dead gives up for good.
	MarkFailed(ctx context.Context, id string, status int, msg string, next time.Time, dead bool) error
}

// Store is everything the gateway persists; MemoryStore and serve's adapter of the SQLite
// store implement it.
type Store interface {
	AttemptLog
	LinkStore
	SMSOutbox
	WebhookStore
}
