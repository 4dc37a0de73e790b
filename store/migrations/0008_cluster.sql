-- paybridge schema, version 8: several nodes on one database (PostgreSQL). Every payment
-- attempt names the node that sent it (calls already do), so that a node that dies leaves work
-- another node can find and settle; the nodes table says who is or was up; a webhook delivery
-- is claimed by one node for a lease, and another node retries it if that node dies.

ALTER TABLE payment_attempts ADD COLUMN node TEXT NOT NULL DEFAULT '';
CREATE INDEX payment_attempts_node ON payment_attempts (node, status);
CREATE INDEX calls_node ON calls (node, state);

ALTER TABLE webhooks ADD COLUMN claimed_by    TEXT NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN claimed_until INTEGER;

CREATE TABLE nodes (
    id         TEXT PRIMARY KEY,
    sip_addr   TEXT NOT NULL DEFAULT '',
    http_addr  TEXT NOT NULL DEFAULT '',
    version    TEXT NOT NULL DEFAULT '',
    state      TEXT NOT NULL DEFAULT '',
    started_at INTEGER NOT NULL,
    seen_at    INTEGER NOT NULL,
    stopped_at INTEGER
);
