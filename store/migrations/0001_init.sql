-- paybridge schema, version 1.
--
-- Portable SQL: types are TEXT and INTEGER (BIGINT in PostgreSQL), times are INTEGER
-- microseconds since the Unix epoch in UTC, NULL when unset. No column holds a PAN or a
-- security code: a card is stored only as its mask (last four) and its brand.

CREATE TABLE calls (
    id           TEXT PRIMARY KEY,
    caller       TEXT NOT NULL DEFAULT '',
    callee       TEXT NOT NULL DEFAULT '',
    plan         TEXT NOT NULL DEFAULT '',
    plan_hash    TEXT NOT NULL DEFAULT '',
    node         TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    answered_at  INTEGER,
    ended_at     INTEGER,
    hangup_cause TEXT NOT NULL DEFAULT ''
);
CREATE INDEX calls_started ON calls (started_at, id);
CREATE INDEX calls_state ON calls (state);

CREATE TABLE call_events (
    call_id TEXT NOT NULL REFERENCES calls (id),
    seq     INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    type    TEXT NOT NULL,
    step    TEXT NOT NULL DEFAULT '',
    fields  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (call_id, seq)
);

CREATE TABLE payment_sessions (
    id                  TEXT PRIMARY KEY,
    call_id             TEXT NOT NULL DEFAULT '',
    connector           TEXT NOT NULL DEFAULT '',
    channel             TEXT NOT NULL DEFAULT '',
    amount_minor        INTEGER NOT NULL DEFAULT 0,
    currency            TEXT NOT NULL DEFAULT '',
    reference           TEXT NOT NULL DEFAULT '',
    state               TEXT NOT NULL DEFAULT '',
    result              TEXT NOT NULL DEFAULT '',
    error_type          TEXT NOT NULL DEFAULT '',
    masked_card         TEXT NOT NULL DEFAULT '',
    card_type           TEXT NOT NULL DEFAULT '',
    token               TEXT NOT NULL DEFAULT '',
    confirmation        TEXT NOT NULL DEFAULT '',
    provider_session_id TEXT NOT NULL DEFAULT '',
    provider_payment_id TEXT NOT NULL DEFAULT '',
    attempts            INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    completed_at        INTEGER
);
CREATE INDEX payment_sessions_created ON payment_sessions (created_at, id);
CREATE INDEX payment_sessions_call ON payment_sessions (call_id);

CREATE TABLE payment_attempts (
    idempotency_key TEXT PRIMARY KEY,
    session_id      TEXT NOT NULL DEFAULT '',
    call_id         TEXT NOT NULL DEFAULT '',
    connector       TEXT NOT NULL DEFAULT '',
    attempt         INTEGER NOT NULL DEFAULT 0,
    amount_minor    INTEGER NOT NULL DEFAULT 0,
    currency        TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    result          TEXT NOT NULL DEFAULT '',
    provider_status INTEGER NOT NULL DEFAULT 0,
    error_code      TEXT NOT NULL DEFAULT '',
    error_message   TEXT NOT NULL DEFAULT '',
    confirmation    TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    completed_at    INTEGER
);
CREATE INDEX payment_attempts_session ON payment_attempts (session_id);
CREATE INDEX payment_attempts_status ON payment_attempts (status);

CREATE TABLE payment_links (
    id              TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    session_id      TEXT NOT NULL DEFAULT '',
    call_id         TEXT NOT NULL DEFAULT '',
    connector       TEXT NOT NULL DEFAULT '',
    to_number       TEXT NOT NULL DEFAULT '',
    amount_minor    INTEGER NOT NULL DEFAULT 0,
    currency        TEXT NOT NULL DEFAULT '',
    reference       TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_attempt_at INTEGER,
    last_result     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX payment_links_created ON payment_links (created_at, id);

CREATE TABLE sms_outbox (
    id          TEXT PRIMARY KEY,
    to_number   TEXT NOT NULL,
    from_number TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL,
    call_id     TEXT NOT NULL DEFAULT '',
    link_id     TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    provider_id TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER
);
CREATE INDEX sms_outbox_created ON sms_outbox (created_at, id);
CREATE INDEX sms_outbox_to ON sms_outbox (to_number, created_at);

CREATE TABLE webhooks (
    id           TEXT PRIMARY KEY,
    event        TEXT NOT NULL,
    url          TEXT NOT NULL,
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER
);
CREATE INDEX webhooks_due ON webhooks (status, next_at);

CREATE TABLE audit_log (
    id     TEXT PRIMARY KEY,
    at     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at, id);
