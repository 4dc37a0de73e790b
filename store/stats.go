package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Stats summarises activity since a time, for the console's headline figures.
type Stats struct {
	Since       time.Time        `json:"since"`
	Calls       int              `json:"calls"`        // calls started since
	ActiveCalls int              `json:"active_calls"` // calls not ended (whenever started)
	Payments    map[string]int   `json:"payments"`     // payment sessions created since, by result ("" = in progress)
	Collected   map[string]int64 `json:"collected"`    // amounts charged (payments completed since), minor units by currency
	LinksSent   int              `json:"links_sent"`
	SMSFailed   int              `json:"sms_failed"`

	// What the operator watches (docs/operations.md, "The console"):
	Conversion  []PlanConversion  `json:"conversion"`   // per plan, busiest first
	EntryErrors []EntryErrorCount `json:"entry_errors"` // where callers fail: per Pay field and error type, most first
	TimeToPay   TimeToPay         `json:"time_to_pay"`
	Links       LinkConversion    `json:"links"`
	Providers   []ProviderStats   `json:"providers"` // per connector
}

// PlanConversion is how a plan's calls turned into payments: Calls started, ReachedPay of
// them got to a Pay step (a voice payment record, whatever its result), PaidVoice paid in the
// call, PaidLink paid later through a link the call sent.
type PlanConversion struct {
	Plan       string `json:"plan"`
	Calls      int    `json:"calls"`
	ReachedPay int    `json:"reached_pay"`
	PaidVoice  int    `json:"paid_voice"`
	PaidLink   int    `json:"paid_link"`
}

// EntryErrorCount is how often callers' entries of one Pay field failed one way.
type EntryErrorCount struct {
	Field     string `json:"field"`
	ErrorType string `json:"error_type"`
	Count     int    `json:"count"`
}

// TimeToPay is the average time to a successful payment: by voice from the call's answer, by
// link from the link being sent; N counts the payments averaged.
type TimeToPay struct {
	VoiceN  int   `json:"voice_n"`
	VoiceMS int64 `json:"voice_ms"`
	LinkN   int   `json:"link_n"`
	LinkMS  int64 `json:"link_ms"`
}

// LinkConversion is what became of the links sent since: paid, or still open, failed or expired.
type LinkConversion struct {
	Sent int `json:"sent"`
	Paid int `json:"paid"`
}

// ProviderStats is one connector's provider attempts since: how many, how many the provider
// declined, how many got no usable answer (errors), how many are still pending, and the
// average time to an answer.
type ProviderStats struct {
	Connector    string `json:"connector"`
	Attempts     int    `json:"attempts"`
	Declined     int    `json:"declined"`
	Errors       int    `json:"errors"`
	Pending      int    `json:"pending"`
	AvgLatencyMS int64  `json:"avg_latency_ms"`
}

// Stats counts calls, payments by result, money collected per currency, links and failed SMS
// since the given time.
func (s *Store) Stats(ctx context.Context, since time.Time) (Stats, error) {
	db, err := s.reader()
	if err != nil {
		return Stats{}, err
	}
	st := Stats{Since: since.UTC(), Payments: map[string]int{}, Collected: map[string]int64{}}
	t := since.UnixMicro()
	q := func(dst *int, stmt string, args ...any) error {
		return db.QueryRowContext(ctx, stmt, args...).Scan(dst)
	}
	if err := q(&st.Calls, `SELECT COUNT(*) FROM calls WHERE started_at >= ?`, t); err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	if err := q(&st.ActiveCalls, `SELECT COUNT(*) FROM calls WHERE state <> ?`, CallEnded); err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	if err := q(&st.LinksSent, `SELECT COUNT(*) FROM payment_links WHERE created_at >= ?`, t); err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	if err := q(&st.SMSFailed, `SELECT COUNT(*) FROM sms_outbox WHERE created_at >= ? AND status = ?`, t, SMSFailed); err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT result, COUNT(*) FROM payment_sessions WHERE created_at >= ? GROUP BY result`, t)
	if err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	for rows.Next() {
		var r string
		var n int
		if err := rows.Scan(&r, &n); err != nil {
			rows.Close()
			return Stats{}, fmt.Errorf("store: stats: %w", err)
		}
		st.Payments[r] = n
	}
	rows.Close()
	// Money counts when it was collected: a link paid today for a call of last week counts today.
	rows, err = db.QueryContext(ctx, `SELECT currency, CAST(SUM(amount_minor) AS BIGINT) FROM payment_sessions
		WHERE COALESCE(completed_at, created_at) >= ? AND result = ? AND currency <> '' GROUP BY currency`, t, ResultSuccess)
	if err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	for rows.Next() {
		var c string
		var sum int64
		if err := rows.Scan(&c, &sum); err != nil {
			rows.Close()
			return Stats{}, fmt.Errorf("store: stats: %w", err)
		}
		st.Collected[c] = sum
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	for _, f := range []func(context.Context, *reads, int64, *Stats) error{statsConversion, statsEntryErrors, statsTimeToPay, statsLinks, statsProviders} {
		if err := f(ctx, db, t, &st); err != nil {
			return Stats{}, fmt.Errorf("store: stats: %w", err)
		}
	}
	return st, nil
}

func statsConversion(ctx context.Context, db *reads, since int64, st *Stats) error {
	paid := func(channel string) string {
		return `SUM(CASE WHEN EXISTS (SELECT 1 FROM payment_sessions p WHERE p.call_id = c.id AND p.channel = '` + channel +
			`' AND p.result = '` + ResultSuccess + `') THEN 1 ELSE 0 END)`
	}
	rows, err := db.QueryContext(ctx, `SELECT c.plan, COUNT(*),
		SUM(CASE WHEN EXISTS (SELECT 1 FROM payment_sessions p WHERE p.call_id = c.id AND p.channel = 'voice') THEN 1 ELSE 0 END),
		`+paid("voice")+`, `+paid("link")+`
		FROM calls c WHERE c.started_at >= ? GROUP BY c.plan ORDER BY COUNT(*) DESC, c.plan LIMIT 100`, since)
	if err != nil {
		return err
	}
	defer rows.Close()
	st.Conversion = []PlanConversion{}
	for rows.Next() {
		var pc PlanConversion
		if err := rows.Scan(&pc.Plan, &pc.Calls, &pc.ReachedPay, &pc.PaidVoice, &pc.PaidLink); err != nil {
			return err
		}
		st.Conversion = append(st.Conversion, pc)
	}
	return rows.Err()
}

// statsEntryErrors counts the failed entries of Pay fields from the calls' timelines (the
// pay.progress events that ended an entry with an error type).
func statsEntryErrors(ctx context.Context, db *reads, since int64, st *Stats) error {
	rows, err := db.QueryContext(ctx, `SELECT fields FROM call_events WHERE type = 'pay.progress' AND at >= ?
		AND fields LIKE '%"phase":"entered"%' AND fields NOT LIKE '%"errorType":""%'`, since)
	if err != nil {
		return err
	}
	defer rows.Close()
	counts := map[[2]string]int{}
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return err
		}
		var f struct {
			Phase     string `json:"phase"`
			For       string `json:"for"`
			ErrorType string `json:"errorType"`
		}
		if json.Unmarshal([]byte(raw), &f) != nil || f.Phase != "entered" || f.ErrorType == "" {
			continue
		}
		counts[[2]string{f.For, f.ErrorType}]++
	}
	st.EntryErrors = []EntryErrorCount{}
	for k, n := range counts {
		st.EntryErrors = append(st.EntryErrors, EntryErrorCount{Field: k[0], ErrorType: k[1], Count: n})
	}
	sort.Slice(st.EntryErrors, func(i, j int) bool {
		a, b := st.EntryErrors[i], st.EntryErrors[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Field+a.ErrorType < b.Field+b.ErrorType
	})
	return rows.Err()
}

func statsTimeToPay(ctx context.Context, db *reads, since int64, st *Stats) error {
	var n int
	var sum int64
	err := db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(p.completed_at - c.answered_at), 0)
		FROM payment_sessions p JOIN calls c ON c.id = p.call_id
		WHERE p.channel = 'voice' AND p.result = ? AND p.completed_at >= ? AND c.answered_at IS NOT NULL AND p.completed_at >= c.answered_at`,
		ResultSuccess, since).Scan(&n, &sum)
	if err != nil {
		return err
	}
	if n > 0 {
		st.TimeToPay.VoiceN, st.TimeToPay.VoiceMS = n, sum/int64(n)/1000
	}
	err = db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(used_at - created_at), 0) FROM payment_links
		WHERE used_at IS NOT NULL AND used_at >= ? AND used_at >= created_at`, since).Scan(&n, &sum)
	if err != nil {
		return err
	}
	if n > 0 {
		st.TimeToPay.LinkN, st.TimeToPay.LinkMS = n, sum/int64(n)/1000
	}
	return nil
}

func statsLinks(ctx context.Context, db *reads, since int64, st *Stats) error {
	return db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN used_at IS NOT NULL OR state = ? THEN 1 ELSE 0 END), 0)
		FROM payment_links WHERE created_at >= ?`, LinkUsed, since).Scan(&st.Links.Sent, &st.Links.Paid)
}

func statsProviders(ctx context.Context, db *reads, since int64, st *Stats) error {
	rows, err := db.QueryContext(ctx, `SELECT connector, COUNT(*),
		COALESCE(SUM(CASE WHEN result = 'declined' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN result = 'error' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN completed_at IS NOT NULL THEN completed_at - created_at ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN completed_at IS NOT NULL THEN 1 ELSE 0 END), 0)
		FROM payment_attempts WHERE created_at >= ? GROUP BY connector ORDER BY connector LIMIT 100`, AttemptPending, since)
	if err != nil {
		return err
	}
	defer rows.Close()
	st.Providers = []ProviderStats{}
	for rows.Next() {
		var p ProviderStats
		var sum, done int64
		if err := rows.Scan(&p.Connector, &p.Attempts, &p.Declined, &p.Errors, &p.Pending, &sum, &done); err != nil {
			return err
		}
		if done > 0 {
			p.AvgLatencyMS = sum / done / 1000
		}
		st.Providers = append(st.Providers, p)
	}
	return rows.Err()
}
