-- paybridge schema, version 11: the records paybridge promises never to change are refused a
-- change by the database itself, not only by the store's code: the payment history
-- (payment_history, the ledger of every state change of a payment — who, what, when, how
-- much) and the audit log (audit_log, every admin action and retention purge). An UPDATE or a
-- DELETE of either — by paybridge, a script, or a person with psql or sqlite3 — fails with
-- "… is append-only"; rows are only ever inserted.
--
-- Nothing of paybridge needs more: retention (store.Purge) never deletes a payment, its
-- operations, its history, nor the audit log (docs/operations.md, "Retention"), and
-- `paybridge migrate --from-sqlite` (store.Copy) only inserts. An operator whose law requires
-- erasing payment records after their retention period (years, for finance) does so as a
-- deliberate act of the database's owner, outside paybridge: docs/operations.md says how.

-- dialect: sqlite
CREATE TRIGGER payment_history_no_update BEFORE UPDATE ON payment_history
BEGIN
    SELECT RAISE(ABORT, 'payment_history is append-only: a line of a payment''s history is never updated');
END;
CREATE TRIGGER payment_history_no_delete BEFORE DELETE ON payment_history
BEGIN
    SELECT RAISE(ABORT, 'payment_history is append-only: a line of a payment''s history is never deleted');
END;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: an audit entry is never updated');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: an audit entry is never deleted');
END;

-- dialect: postgres
-- One statement-level trigger per table refuses UPDATE, DELETE and TRUNCATE (which skips row
-- triggers) for every role, the table's owner included — paybridge's nodes usually connect as
-- that owner, so revoking privileges would not hold.
CREATE OR REPLACE FUNCTION paybridge_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'paybridge only ever inserts into this table (docs/operations.md, "Retention")';
END
$$;
CREATE TRIGGER payment_history_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON payment_history
    FOR EACH STATEMENT EXECUTE FUNCTION paybridge_append_only();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION paybridge_append_only();
