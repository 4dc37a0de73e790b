-- paybridge schema, version 4: every payment record carries its facts. error_code is the
-- provider's decline code (card_declined, insufficient_funds, …) or the connector error of a
-- payment that got no answer, beside error_type (the caller's entry error).

ALTER TABLE payment_sessions ADD COLUMN error_code TEXT NOT NULL DEFAULT '';
CREATE INDEX payment_sessions_completed ON payment_sessions (completed_at);
