package console

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/store"
)

// The life of a payment in the admin API (docs/gateway.md "Capture, void, refund"):
//
//	POST /api/payments/{id}/capture   {"amount":"12.34","final":false}  (amount absent: all that is left)
//	POST /api/payments/{id}/void
//	POST /api/payments/{id}/refunds   {"amount":"5.00","reason":"requested_by_customer"}  (absent: all that is left)
//	GET  /api/payments/{id}/history   the append-only history, oldest first
//	GET  /api/payments/{id}/history.csv
//	GET  /api/history.csv?since=&until=   every payment's history (export)
//
// Each POST may carry an Idempotency-Key header: the same key returns the same operation (200
// with "replayed": true) and never a second one. The actor recorded is the admin token and the
// client's address. Answers: 200 with the operation and the record; 202 when the provider gave
// no answer (the operation stays pending, reserved, until reconciliation settles it); 409 when
// the payment's state does not allow it; 422 for an amount over what is left, a key reused
// for another operation, or an operation the provider does not offer.

// maxOpBody bounds an operation request body.
const maxOpBody = 4 << 10

// opBody is the JSON of an operation request.
type opBody struct {
	Amount string `json:"amount"`
	Final  bool   `json:"final"`
	Reason string `json:"reason"`
}

// OpAnswer is the answer of an operation request.
type OpAnswer struct {
	Operation *payment.OpResult     `json:"operation"`
	Payment   *store.PaymentSession `json:"payment"`
}

func (s *Server) capture(w http.ResponseWriter, r *http.Request) { s.operate(w, r, payment.OpCapture) }
func (s *Server) void(w http.ResponseWriter, r *http.Request)    { s.operate(w, r, payment.OpVoid) }
func (s *Server) refund(w http.ResponseWriter, r *http.Request)  { s.operate(w, r, payment.OpRefund) }

// AdminActor is who the admin API records as having asked: the admin token, from the
// client's address.
func (s *Server) adminActor(r *http.Request) payment.Actor {
	return payment.Actor{Kind: payment.ActorAdmin, ID: "admin-token@" + s.cfg.ClientIP(r)}
}

func (s *Server) operate(w http.ResponseWriter, r *http.Request, kind string) {
	if s.cfg.Payments == nil {
		writeError(w, http.StatusServiceUnavailable, "payment operations are not configured on this node")
		return
	}
	id := r.PathValue("id")
	p, _, err := s.cfg.Store.GetPayment(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var body opBody
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOpBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	if len(strings.TrimSpace(string(raw))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			writeError(w, http.StatusBadRequest, "body must be {\"amount\":\"12.34\",\"final\":false,\"reason\":\"…\"}: "+err.Error())
			return
		}
	}
	req := &payment.OpRequest{PaymentID: id, Final: body.Final, Reason: strings.TrimSpace(body.Reason),
		IdempotencyKey: strings.TrimSpace(r.Header.Get("Idempotency-Key")), Actor: s.adminActor(r)}
	if len(req.IdempotencyKey) > 255 || len(req.Reason) > 500 {
		writeError(w, http.StatusBadRequest, "Idempotency-Key is at most 255 characters, reason at most 500")
		return
	}
	if kind == payment.OpVoid && (body.Amount != "" || body.Reason != "" || body.Final) {
		writeError(w, http.StatusBadRequest, "a void releases the whole hold: it takes no amount, reason or final")
		return
	}
	if body.Amount != "" {
		a, err := payment.ParseAmount(body.Amount, p.Currency)
		if err != nil || a.Minor <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("amount %q is not a positive decimal amount in %s", body.Amount, p.Currency))
			return
		}
		req.Amount = a
	}
	var res *payment.OpResult
	switch kind {
	case payment.OpCapture:
		res, err = s.cfg.Payments.Capture(r.Context(), req)
	case payment.OpVoid:
		res, err = s.cfg.Payments.Void(r.Context(), req)
	default:
		res, err = s.cfg.Payments.Refund(r.Context(), req)
	}
	detail := kind + " " + id
	if err == nil {
		detail += fmt.Sprintf(" %s %s %s", payment.FormatAmount(res.Amount), res.Amount.Currency, res.State)
	} else {
		detail += " refused: " + err.Error()
	}
	if aerr := s.cfg.Store.AppendAudit(r.Context(), req.Actor.ID, "payment."+kind, detail); aerr != nil {
		s.log.Error("console: audit", "err", aerr)
	}
	if err != nil {
		code := http.StatusBadGateway
		switch {
		case errors.Is(err, payment.ErrPaymentState):
			code = http.StatusConflict
		case errors.Is(err, payment.ErrAmountExceeds), errors.Is(err, payment.ErrKeyReused), errors.Is(err, payment.ErrUnsupported):
			code = http.StatusUnprocessableEntity
		case errors.Is(err, store.ErrNotFound):
			code = http.StatusNotFound
		}
		if code == http.StatusBadGateway {
			s.log.Error("console: payment operation failed", "payment", id, "kind", kind, "err", pan.Redact(err.Error()))
		}
		writeError(w, code, err.Error())
		return
	}
	stored, _, _ := s.cfg.Store.GetPayment(r.Context(), id)
	code := http.StatusOK
	if res.State == payment.OpPending && res.ProviderID == "" {
		code = http.StatusAccepted // no answer yet: reconciliation will settle it
	}
	writeJSON(w, code, OpAnswer{Operation: res, Payment: stored})
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, _, err := s.cfg.Store.GetPayment(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := s.cfg.Store.History(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": h})
}

func (s *Server) historyCSV(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, _, err := s.cfg.Store.GetPayment(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := s.cfg.Store.ListHistory(r.Context(), store.HistoryFilter{PaymentID: id})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeHistoryCSV(w, "payment-"+safeName(id)+"-history.csv", h)
}

func (s *Server) allHistoryCSV(w http.ResponseWriter, r *http.Request) {
	p := params{q: r.URL.Query()}
	f := store.HistoryFilter{Since: p.time("since"), Until: p.time("until")}
	if err := p.done(); err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := s.cfg.Store.ListHistory(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeHistoryCSV(w, "payment-history.csv", h)
}

// HistoryCSVHeader is the header row of the history export.
var HistoryCSVHeader = []string{"at", "payment_id", "seq", "actor_kind", "actor", "action", "amount", "currency",
	"operation_id", "state", "detail"}

// writeHistoryCSV writes history lines as CSV (RFC 4180). A cell that a spreadsheet would run
// as a formula (starting with = + - @, a tab or a carriage return) is prefixed with '.
func writeHistoryCSV(w http.ResponseWriter, filename string, h []store.HistoryEntry) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write(HistoryCSVHeader)
	for _, e := range h {
		_ = cw.Write([]string{e.At.UTC().Format(time.RFC3339Nano), cell(e.PaymentID), strconv.Itoa(e.Seq), cell(e.Actor.Kind),
			cell(e.Actor.ID), cell(e.Action), payment.FormatAmount(payment.Amount{Minor: e.AmountMinor, Currency: e.Currency}),
			cell(e.Currency), cell(e.OpID), cell(e.State), cell(pan.Redact(e.Detail))})
	}
	cw.Flush()
}

func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// safeName keeps the letters, digits, '-' and '_' of s (a file name from an id).
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return -1
	}, s)
}
