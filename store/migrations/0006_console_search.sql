-- paybridge schema, version 6: a webhook delivery names what it is about (subject: the payment
-- record's id), so a payment's page lists its deliveries with their answers; and the indexes
-- the console's filters use beside the time order of each list.

ALTER TABLE webhooks ADD COLUMN subject TEXT NOT NULL DEFAULT '';
CREATE INDEX webhooks_subject ON webhooks (subject, created_at);
CREATE INDEX calls_plan ON calls (plan, started_at);
CREATE INDEX payment_links_session ON payment_links (session_id);
CREATE INDEX sms_outbox_call ON sms_outbox (call_id);
CREATE INDEX call_events_type ON call_events (type, at);
