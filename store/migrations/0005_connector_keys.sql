-- paybridge schema, version 5: whatever outlives a call names the connector it was made with
-- by its key (plan and spec, see gateway.ConnectorKey), not by the connector's name, which two
-- plans may share. Rows written before this version keep '' and are resolved by name only
-- where that name is unambiguous. payment_attempts.channel says whether the attempt came from
-- a call (voice) or a payment link's page (link), for reconciliation to complete the record.

ALTER TABLE payment_sessions ADD COLUMN connector_key TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_attempts ADD COLUMN connector_key TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_attempts ADD COLUMN channel       TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_links    ADD COLUMN connector_key TEXT NOT NULL DEFAULT '';
