package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// RunRetention purges records older than age now and then every `every` until ctx ends
// (serve runs it with --retention). Each purge that removed something is written to the audit
// log as actor "retention", action "store.purge". age ≤ 0 disables retention and returns at
// once.
func (s *Store) RunRetention(ctx context.Context, age, every time.Duration, log *slog.Logger) {
	if age <= 0 {
		return
	}
	if every <= 0 {
		every = time.Hour
	}
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		st, err := s.Purge(ctx, time.Now().Add(-age))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("retention purge failed", "err", err)
		case err == nil && st != (PurgeStats{}):
			log.Info("retention purge", "older_than", age, "calls", st.Calls, "events", st.Events, "attempts", st.Attempts,
				"links", st.Links, "sms", st.SMS, "webhooks", st.Webhooks)
			detail := fmt.Sprintf("older than %s: %d calls, %d events, %d attempts, %d links, %d sms, %d webhooks",
				age, st.Calls, st.Events, st.Attempts, st.Links, st.SMS, st.Webhooks)
			if err := s.AppendAudit(ctx, "retention", "store.purge", detail); err != nil && ctx.Err() == nil {
				log.Error("retention audit failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
