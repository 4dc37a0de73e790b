-- paybridge schema, version 13: what a payment link's page does beyond charging a card — an
-- authorisation hold, a bank account (ach-debit), backup connectors — as JSON (payment.LinkTerms;
-- '' = charge a card through the link's connector).

ALTER TABLE payment_links ADD COLUMN terms TEXT NOT NULL DEFAULT '';
