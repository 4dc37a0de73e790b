package store

import "errors"

// Sentinel errors of the store. Callers test them with errors.Is; the store wraps them with
// the operation and the record id (never with card data).
var (
	// ErrNotFound: no record has that id, key or hash.
	ErrNotFound = errors.New("store: not found")
	// ErrDuplicate: a record with that id or idempotency key already exists.
	ErrDuplicate = errors.New("store: already exists")
	// ErrNotPending: the payment attempt was already completed.
	ErrNotPending = errors.New("store: attempt is not pending")
	// ErrSchemaTooNew: the database was migrated by a newer paybridge than this binary.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this binary")
	// ErrBadCursor: a paging cursor was not produced by this store.
	ErrBadCursor = errors.New("store: invalid paging cursor")
	// ErrCardData: a value that must be a mask (masked card) is not one.
	ErrCardData = errors.New("store: value is not a card mask")
	// ErrInvalid: a record misses a required field or has an impossible value.
	ErrInvalid = errors.New("store: invalid record")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrLinkUsed: the payment link was already used (or failed for good).
	ErrLinkUsed = errors.New("store: payment link already used")
	// ErrLinkBusy: a submission of the payment link is with the provider right now.
	ErrLinkBusy = errors.New("store: payment link is being paid")
	// ErrLinkExpired: the payment link is past its expiry.
	ErrLinkExpired = errors.New("store: payment link expired")
	// ErrCapReached: a per-number limit (the SMS daily cap) is reached across every node.
	ErrCapReached = errors.New("store: limit reached")
	// ErrNodeLive: the node id is held by a live node (its lease is taken), so it cannot be
	// registered again or taken over.
	ErrNodeLive = errors.New("store: node id is in use by a live node")
	// ErrUnsupported: the operation does not exist for this database (Backup of PostgreSQL).
	ErrUnsupported = errors.New("store: not supported on this database")
)
