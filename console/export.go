package console

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/store"
)

// MaxExportRows bounds one CSV export (narrow the filter for more).
const MaxExportRows = 100_000

// export is GET /api/export/{calls,payments,links,sms}.csv with the list's own filter
// parameters (limit and cursor excepted): every matching row, newest first, as CSV — the
// console's "Export CSV" of what it shows. A cell that a spreadsheet would run as a formula
// (starting with =, +, -, @, a tab or a carriage return: a caller ID such as
// "=HYPERLINK(…)" is attacker-controlled) is written with a leading apostrophe, which
// spreadsheets show as text. Card data is masked as everywhere.
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	what, ok := strings.CutSuffix(r.PathValue("what"), ".csv")
	if !ok {
		writeError(w, http.StatusNotFound, "export: want calls.csv, payments.csv, links.csv or sms.csv")
		return
	}
	q := r.URL.Query()
	for _, k := range []string{"limit", "cursor"} {
		if q.Has(k) {
			s.fail(w, r, fmt.Errorf("%w: %s: an export has every matching row (narrow the filter instead)", ErrBadFilter, k))
			return
		}
	}
	var header []string
	var rows func(ctx context.Context, emit func([]string) error) error
	switch what {
	case "calls":
		f, err := parseCallFilter(q)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		header = []string{"id", "started_at", "answered_at", "ended_at", "from", "to", "plan", "node", "state", "hangup_cause", "rtp_foreign"}
		rows = func(ctx context.Context, emit func([]string) error) error {
			return pages(func(c string) ([]store.Call, error) {
				f.Limit, f.Cursor = store.MaxLimit, c
				return s.cfg.Store.ListCalls(ctx, f)
			}, store.Call.Cursor, func(c store.Call) error {
				return emit([]string{c.ID, csvTime(c.StartedAt), csvTime(c.AnsweredAt), csvTime(c.EndedAt), c.From, c.To, c.Plan,
					c.Node, c.State, c.HangupCause, strconv.FormatInt(c.RTPForeign, 10)})
			})
		}
	case "payments":
		f, err := parsePaymentFilter(q)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		header = []string{"id", "created_at", "completed_at", "call_id", "channel", "connector", "amount", "currency", "reference",
			"state", "result", "error_type", "error_code", "card_type", "masked_card", "confirmation", "provider_session_id", "attempts"}
		rows = func(ctx context.Context, emit func([]string) error) error {
			return pages(func(c string) ([]store.PaymentSession, error) {
				f.Limit, f.Cursor = store.MaxLimit, c
				return s.cfg.Store.ListPayments(ctx, f)
			}, store.PaymentSession.Cursor, func(p store.PaymentSession) error {
				return emit([]string{p.ID, csvTime(p.CreatedAt), csvTime(p.CompletedAt), p.CallID, p.Channel, p.Connector,
					csvAmount(p.AmountMinor, p.Currency), p.Currency, p.Reference, p.State, p.Result, p.ErrorType, p.ErrorCode,
					p.CardType, p.MaskedCard, p.Confirmation, p.ProviderSessionID, strconv.Itoa(p.Attempts)})
			})
		}
	case "links":
		f, err := parseLinkFilter(q, s.cfg.Now())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		now := s.cfg.Now()
		header = []string{"id", "created_at", "expires_at", "used_at", "state", "to", "amount", "currency", "reference",
			"session_id", "call_id", "attempts", "last_result"}
		rows = func(ctx context.Context, emit func([]string) error) error {
			return pages(func(c string) ([]store.Link, error) {
				f.Limit, f.Cursor = store.MaxLimit, c
				return s.cfg.Store.ListLinks(ctx, f)
			}, store.Link.Cursor, func(l store.Link) error {
				return emit([]string{l.ID, csvTime(l.CreatedAt), csvTime(l.ExpiresAt), csvTime(l.UsedAt), l.State(now), l.To,
					csvAmount(l.AmountMinor, l.Currency), l.Currency, l.Reference, l.SessionID, l.CallID, strconv.Itoa(l.Attempts), l.LastResult})
			})
		}
	case "sms":
		f, err := parseSMSFilter(q)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		header = []string{"id", "created_at", "sent_at", "to", "status", "error", "call_id", "link_id", "body"}
		rows = func(ctx context.Context, emit func([]string) error) error {
			return pages(func(c string) ([]store.SMS, error) {
				f.Limit, f.Cursor = store.MaxLimit, c
				return s.cfg.Store.ListSMS(ctx, f)
			}, store.SMS.Cursor, func(m store.SMS) error {
				return emit([]string{m.ID, csvTime(m.CreatedAt), csvTime(m.SentAt), m.To, smsStatusText(m), m.Error, m.CallID, m.LinkID, m.Body})
			})
		}
	default:
		writeError(w, http.StatusNotFound, "export: want calls.csv, payments.csv, links.csv or sms.csv")
		return
	}
	name := fmt.Sprintf("paybridge-%s-%s.csv", what, s.cfg.Now().UTC().Format("20060102T150405Z"))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write(header)
	n := 0
	err := rows(r.Context(), func(rec []string) error {
		if n++; n > MaxExportRows {
			return errExportFull
		}
		for i, v := range rec {
			rec[i] = csvCell(v)
		}
		return cw.Write(rec)
	})
	cw.Flush()
	if err != nil && err != errExportFull {
		// The header went out: say it in the file, where whoever opens it sees it.
		_ = cw.Write([]string{"# export stopped: " + pan.Redact(err.Error())})
		cw.Flush()
		s.log.Error("console: export", "what", what, "err", pan.Redact(err.Error()))
	}
	if err == errExportFull {
		_ = cw.Write([]string{fmt.Sprintf("# more than %d rows: narrow the filter", MaxExportRows)})
		cw.Flush()
	}
}

var errExportFull = fmt.Errorf("export full")

// pages reads a list page by page (store.MaxLimit rows each, page(cursor) asks for the page
// after cursor) and hands every row to each until the list ends or each fails.
func pages[T any](page func(cursor string) ([]T, error), next func(T) string, each func(T) error) error {
	cursor := ""
	for {
		got, err := page(cursor)
		if err != nil {
			return err
		}
		for _, row := range got {
			if err := each(row); err != nil {
				return err
			}
		}
		if len(got) < store.MaxLimit {
			return nil
		}
		cursor = next(got[len(got)-1])
	}
}

// csvCell makes a value safe to open in a spreadsheet (OWASP's CSV injection rule) and masks
// any card number.
func csvCell(v string) string {
	v = pan.Redact(v)
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// csvAmount writes minor units as the currency's decimal amount ("12.34"); an unknown currency
// keeps the minor units.
func csvAmount(minor int64, currency string) string {
	if _, ok := payment.CurrencyMinorUnits(currency); !ok {
		return strconv.FormatInt(minor, 10)
	}
	return payment.FormatAmount(payment.Amount{Minor: minor, Currency: currency})
}

// smsStatusText is a text's status as the console says it.
func smsStatusText(m store.SMS) string {
	if m.Status == store.SMSNotSent {
		return "not sent (no SMS provider configured)"
	}
	return m.Status
}
