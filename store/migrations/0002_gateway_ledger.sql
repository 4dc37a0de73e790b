-- paybridge schema, version 2: what the gateway's write-ahead attempt log, single-use link
-- claims and webhook deliveries need beyond version 1. Still no column for a PAN or a code:
-- masked_card holds the canonical mask (last four) only.

ALTER TABLE payment_attempts ADD COLUMN connector_type TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_attempts ADD COLUMN method         TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_attempts ADD COLUMN reference      TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_attempts ADD COLUMN masked_card    TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_attempts ADD COLUMN card_brand     TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_attempts ADD COLUMN token          TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_attempts ADD COLUMN last_error     TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_attempts ADD COLUMN updated_at     INTEGER;

-- A link is active, claimed (a submission is with the provider), used or failed.
ALTER TABLE payment_links ADD COLUMN state        TEXT NOT NULL DEFAULT 'active';
ALTER TABLE payment_links ADD COLUMN claimed_at   INTEGER;
ALTER TABLE payment_links ADD COLUMN confirmation TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_links ADD COLUMN message_id   TEXT NOT NULL DEFAULT '';
CREATE INDEX payment_links_to ON payment_links (to_number, created_at);

-- One event goes to several endpoints as several deliveries sharing its event id.
ALTER TABLE webhooks ADD COLUMN event_id    TEXT NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN endpoint    TEXT NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN last_status INTEGER NOT NULL DEFAULT 0;
