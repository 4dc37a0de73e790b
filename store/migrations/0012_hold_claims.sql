-- paybridge schema, version 12: one node at a time expires a lapsed authorisation. The node
-- that claims a payment whose hold lapsed (store.ClaimExpiredHolds) releases the hold at the
-- provider and records the payment expired; no other node takes the payment while the claim's
-- lease runs, and when the claimant dies mid-way another node claims it once the lease has
-- passed (and repeats the provider's request with the same idempotency key). The claimant
-- stays on the row: which node expired the hold.

ALTER TABLE payment_sessions ADD COLUMN expiry_claimed_by    TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_sessions ADD COLUMN expiry_claimed_until INTEGER;
