-- paybridge schema, version 10: the life of a payment after the Pay step (issue 15).
--
-- A payment record now carries its money: what was authorised (a hold, with the time it
-- lapses), captured and refunded, in minor units, and the amounts reserved by operations in
-- flight. Each capture, void and refund is a row of payment_ops with its own idempotency key;
-- an operation reserves its amount on the payment row in the same transaction that records it,
-- with one conditional UPDATE, so two operations on two nodes can never capture more than was
-- authorised nor refund more than was captured. payment_history is the append-only history of
-- every change (who, what, when, how much); provider_events the inbound provider events
-- already applied (a replay is refused). Still no column for a PAN, a security code or a bank
-- account number: masked_account holds the mask (last four of 8+ digits) only.

ALTER TABLE payment_sessions ADD COLUMN method                 TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_sessions ADD COLUMN payment_method         TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_sessions ADD COLUMN bank_account_type      TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_sessions ADD COLUMN masked_account         TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_sessions ADD COLUMN lifecycle              TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_sessions ADD COLUMN holding                INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payment_sessions ADD COLUMN closed_as              TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_sessions ADD COLUMN charged_back           INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payment_sessions ADD COLUMN authorized_minor       INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payment_sessions ADD COLUMN captured_minor         INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payment_sessions ADD COLUMN refunded_minor         INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payment_sessions ADD COLUMN capture_reserved_minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payment_sessions ADD COLUMN refund_reserved_minor  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payment_sessions ADD COLUMN authorized_until       INTEGER;
ALTER TABLE payment_sessions ADD COLUMN invoice                TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_sessions ADD COLUMN routes                 TEXT NOT NULL DEFAULT '';
CREATE INDEX payment_sessions_provider_payment ON payment_sessions (provider_payment_id);
CREATE INDEX payment_sessions_holding ON payment_sessions (holding, authorized_until);

ALTER TABLE payment_links ADD COLUMN invoice TEXT NOT NULL DEFAULT '';

ALTER TABLE payment_attempts ADD COLUMN payment_method TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_attempts ADD COLUMN masked_account TEXT NOT NULL DEFAULT '';

CREATE TABLE payment_ops (
    id              TEXT PRIMARY KEY,
    payment_id      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    amount_minor    INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    final_capture   INTEGER NOT NULL DEFAULT 0,
    single_capture  INTEGER NOT NULL DEFAULT 0,
    reason          TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,
    provider_id     TEXT NOT NULL DEFAULT '',
    error_code      TEXT NOT NULL DEFAULT '',
    error_message   TEXT NOT NULL DEFAULT '',
    actor_kind      TEXT NOT NULL DEFAULT '',
    actor           TEXT NOT NULL DEFAULT '',
    call_id         TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    completed_at    INTEGER,
    settled_at      INTEGER
);
CREATE INDEX payment_ops_payment ON payment_ops (payment_id, created_at);
CREATE INDEX payment_ops_state ON payment_ops (state, created_at);

CREATE TABLE payment_history (
    id           TEXT PRIMARY KEY,
    payment_id   TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor        TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL,
    amount_minor INTEGER NOT NULL DEFAULT 0,
    currency     TEXT NOT NULL DEFAULT '',
    op_id        TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT '',
    UNIQUE (payment_id, seq)
);
CREATE INDEX payment_history_at ON payment_history (at, id);

CREATE TABLE provider_events (
    source      TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (source, event_id)
);
