// Package store is paybridge's durable record: one SQLite file for a single node, or one
// PostgreSQL database shared by several nodes, migrated on start, with the repository API that
// is the only SQL in the project. Open takes a file path or a postgres:// URL; everything else
// is the same API on both.
//
// # Model
//
// A Call is one inbound call; its timeline is a list of masked EventRecords (the events the
// call-plan engine emits). A PaymentSession is the masked summary of one payment — amount,
// reference, state, result, masked card and brand, token or confirmation, provider ids — and
// its Attempts are the individual charge requests, each written pending with a unique
// idempotency key before it is sent and completed with the provider's answer; PendingAttempts
// lists what a crash left unanswered, for reconciliation with the provider. A Link is an SMS
// payment link, stored by the hash of its token: ConsumeLink spends it atomically, or the
// payment page claims it (ClaimLink: active → claimed, one winner) while the provider answers
// and finishes it (FinishLink: used, failed, or back to active). SMS is the outbox, Webhook a
// result notification with its retry schedule, and the audit log records admin actions and
// retention purges. The payment ledger (lifecycle.go) keeps each payment's operations and its
// history; the history and the audit log are append-only in the database itself (migration
// 0011: triggers refuse UPDATE and DELETE on both dialects), and ClaimExpiredHolds gives each
// lapsed authorisation to one node at a time. Stats sums recent activity; Backup copies the
// live database.
//
// # Durability
//
// The database runs in WAL mode with synchronous=FULL: a write that returned has reached the
// disk and survives a power cut. All writes go through one connection in BEGIN IMMEDIATE
// transactions, so writers never deadlock on lock upgrades; concurrent writes are group
// committed (one fsync per batch, each caller answered when the commit holding its write is
// durable, a failing write's error its own through a savepoint; under load the writer waits up
// to 10 ms for a batch to fill — see writer.go), and every
// connection keeps the statements it ran prepared (_stmt_cache_size). A call's timeline is
// written in batches (AppendEvents, timeline.go: one transaction for a tick's events of every
// call, from serve's event recorder; AppendEventsAndPayments puts the payment records the
// tick derives in the same commit, each still a write of its own with its own error, acknowledged
// only once that commit is on disk — writeGroup in writer.go); what the product acts on — a payment attempt before the
// provider is called, a ledger operation — never waits for such a batch: it is its own write
// (group commit may put it in the same commit as other writes, never behind the recorder's
// tick), committed when it returns. The writer keeps its statement journals (a multi-row
// statement's undo of itself, not crash recovery) in memory rather than in temporary files
// (temp_store = MEMORY, store.go). Reads use a small pool of read-only connections beside it.
// busy_timeout covers a second process (a CLI) touching the same file; secure_delete
// overwrites purged rows.
//
// On PostgreSQL (postgres.go) writes are each their own transaction on a pgx connection pool
// (the server flushes concurrent commits' WAL together itself),
// bounded in time, and run again on a fresh connection when theirs broke before committing.
// Several nodes write at once, so what must not interleave takes a row lock (a call's event
// numbering, link claims) or an advisory lock (migrations, the SMS cap of one number,
// retention); webhook deliveries are claimed FOR UPDATE SKIP LOCKED with a lease (webhooks.go).
// nodes.go holds the node ids and their leases (a session advisory lock per live node) and the
// takeover of a dead node's leftovers; feed.go the live feed between nodes (LISTEN/NOTIFY);
// copy.go moves the records between databases.
//
// # Schema
//
// migrations/NNNN_name.sql are embedded and applied in order on Open, each in a transaction
// with its schema_migrations row (on PostgreSQL all pending ones in one transaction, under an
// advisory lock, so nodes starting together migrate once). A database whose schema is newer than
// the binary is refused (ErrSchemaTooNew) rather than misread. The SQL is portable (TEXT/INTEGER
// columns, times as UTC microseconds, ON CONFLICT upserts, no database functions); what differs
// between the dialects — placeholders, INTEGER as BIGINT, row and advisory locks, constraint
// codes — is in dialect.go and nowhere else. The tests run the suite on both (dialect_test.go).
//
// # Card data
//
// No column can hold a PAN or a security code. Masked cards are checked to be the canonical
// mask (pan.ValidMask: last four only) and refused otherwise (ErrCardData). Every free-text
// value — event fields, references, provider messages, webhook payloads, SMS bodies, audit
// details — passes through paybridge's one redactor on write (pan.Redact, pan.RedactJSON; the
// rule is in pan/doc.go), so a card number that leaks upstream still never reaches the disk.
//
// # Paging
//
// List functions return newest first. Each row type has a Cursor method; pass the last row's
// cursor in the filter to get the next page. Cursors are opaque and stable under inserts.
package store
