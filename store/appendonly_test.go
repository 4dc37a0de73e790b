package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/payment"
)

// The payment history and the audit log refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL)
// by the database itself (migration 0011), whoever sends them: here raw SQL on the store's
// own connection, as a script or a person at a psql prompt would. The control: the same
// statements on tables that are not append-only (operations, provider events) work, so the
// refusals are the triggers', not a statement's mistake. Retention still runs beside them.
func TestHistoryAndAuditRefuseChangesInTheDatabase(t *testing.T) {
	eachDialect(t, func(t *testing.T) {
		s, _ := openTest(t)
		ctx := context.Background()
		authorizedPayment(t, s, "p", 5000)
		op, _ := begin(t, s, "p", payment.OpCapture, "cap", 2000)
		finish(t, s, op, payment.OpSucceeded)
		must(t, s.AppendAudit(ctx, "admin-token@127.0.0.1", "payments.capture", "p"))
		if _, err := s.RecordProviderEvent(ctx, "sandbox", "evt_1", "capture.settled", t0); err != nil {
			t.Fatal(err)
		}
		before, err := s.History(ctx, "p")
		if err != nil || len(before) < 2 {
			t.Fatalf("history before: %d lines, %v", len(before), err)
		}
		exec := func(q string) error {
			_, err := s.w.ExecContext(ctx, s.d.rebind(q))
			return err
		}
		refused := []string{
			`UPDATE payment_history SET amount_minor = 1 WHERE payment_id = 'p'`,
			`UPDATE payment_history SET detail = 'tampered'`,
			`DELETE FROM payment_history WHERE payment_id = 'p'`,
			`DELETE FROM payment_history`,
			`UPDATE audit_log SET actor = 'someone else'`,
			`DELETE FROM audit_log`,
		}
		if onPostgres(t) {
			refused = append(refused, `TRUNCATE payment_history`, `TRUNCATE audit_log`)
		}
		for _, q := range refused {
			err := exec(q)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v, want refused as append-only", q, err)
			}
		}
		controls := []string{
			`UPDATE payment_ops SET reason = 'edited' WHERE payment_id = 'p'`,
			`DELETE FROM provider_events WHERE source = 'sandbox'`,
			`DELETE FROM payment_ops WHERE payment_id = 'p'`,
		}
		if onPostgres(t) {
			controls = append(controls, `TRUNCATE provider_events`)
		}
		for _, q := range controls {
			if err := exec(q); err != nil {
				t.Errorf("the control %s: %v", q, err)
			}
		}
		after, err := s.History(ctx, "p")
		if err != nil || len(after) != len(before) {
			t.Fatalf("history after: %d lines (was %d), %v", len(after), len(before), err)
		}
		for i := range after {
			if after[i] != before[i] {
				t.Errorf("history line %d changed: %+v → %+v", i, before[i], after[i])
			}
		}
		if audit, err := s.ListAudit(ctx, 10); err != nil || len(audit) != 1 || audit[0].Actor != "admin-token@127.0.0.1" {
			t.Fatalf("audit after: %+v %v", audit, err)
		}
		// Retention purges everything it may, keeps the history and the audit log, and records
		// itself in the audit log.
		if _, err := s.Purge(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Fatalf("purge beside the triggers: %v", err)
		}
		must(t, s.AppendAudit(ctx, "retention", "store.purge", "everything"))
		if h, _ := s.History(ctx, "p"); len(h) != len(before) {
			t.Fatalf("purge removed history: %d lines, was %d", len(h), len(before))
		}
	})
}
