package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/store"
)

// page is the shape of every list response.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"` // pass as ?cursor= for the next page
}

func newPage[T any](items []T, limit int, cursor func(T) string) page[T] {
	p := page[T]{Items: items}
	if len(items) > 0 && len(items) == limit {
		p.NextCursor = cursor(items[len(items)-1])
	}
	return p
}

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request) {
	f, err := parseCallFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	calls, err := s.cfg.Store.ListCalls(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(calls, f.Limit, store.Call.Cursor))
}

// callDetail is GET /api/calls/{id}: the call, its readable timeline (one line per step,
// event.Timeline), every event of it, its payments and, while it runs, its live state.
type callDetail struct {
	Call     *store.Call            `json:"call"`
	Steps    []event.TimelineLine   `json:"steps"`
	Timeline []store.EventRecord    `json:"timeline"`
	Payments []store.PaymentSession `json:"payments"`
	Live     *LiveCall              `json:"live,omitempty"`
}

// timelineOf reads stored events back into typed events and folds them into readable lines.
func timelineOf(evs []store.EventRecord) []event.TimelineLine {
	typed := make([]event.Event, 0, len(evs))
	for _, e := range evs {
		d := event.New(e.Type)
		if len(e.Fields) > 0 && json.Unmarshal(e.Fields, d) != nil {
			continue
		}
		typed = append(typed, event.Event{Time: e.Time, Step: e.Step, Data: d})
	}
	lines := event.Timeline(typed)
	if lines == nil {
		lines = []event.TimelineLine{}
	}
	return lines
}

func (s *Server) getCall(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	c, evs, err := s.cfg.Store.GetCall(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pays, err := s.cfg.Store.ListPayments(r.Context(), store.PaymentFilter{CallID: id, Limit: store.MaxLimit})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := callDetail{Call: c, Steps: timelineOf(evs), Timeline: evs, Payments: pays}
	if s.cfg.Hub != nil {
		for _, lc := range s.cfg.Hub.Live() {
			if lc.CallID == id {
				d.Live = &lc
				break
			}
		}
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	calls := []LiveCall{}
	if s.cfg.Hub != nil {
		calls = s.cfg.Hub.Live()
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": calls})
}

func (s *Server) listPayments(w http.ResponseWriter, r *http.Request) {
	f, err := parsePaymentFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ps, err := s.cfg.Store.ListPayments(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(ps, f.Limit, store.PaymentSession.Cursor))
}

// paymentDetail is GET /api/payments/{id}: everything about one payment — the masked record
// (its provider session and payment ids, connector, channel), the call it came from, every
// provider attempt, the links that were sent for it with their texts, and the result webhooks
// delivered about it with what each receiver answered.
type paymentDetail struct {
	Payment  *store.PaymentSession `json:"payment"`
	Call     *store.Call           `json:"call,omitempty"`
	Attempts []store.Attempt       `json:"attempts"`
	Links    []linkView            `json:"links"`
	Texts    []store.SMS           `json:"texts"`
	Webhooks []webhookView         `json:"webhooks"`
	// The life of the payment: its operations (capture, void, refund) and its append-only history.
	Operations []store.Op           `json:"operations"`
	History    []store.HistoryEntry `json:"history"`
}

// webhookView is a delivery without its body (the record as it was: the payment shows it).
type webhookView struct {
	ID          string    `json:"id"`
	Event       string    `json:"event"`
	EventID     string    `json:"event_id,omitempty"`
	Endpoint    string    `json:"endpoint,omitempty"`
	URL         string    `json:"url"`
	Status      string    `json:"status"` // pending | delivered | dead
	Attempts    int       `json:"attempts"`
	LastStatus  int       `json:"last_status,omitempty"` // the receiver's last HTTP status
	LastError   string    `json:"last_error,omitempty"`  // and, when it failed, what it answered
	NextAt      time.Time `json:"next_at,omitzero"`
	CreatedAt   time.Time `json:"created_at"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
}

func (s *Server) getPayment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	p, atts, err := s.cfg.Store.GetPayment(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := paymentDetail{Payment: p, Attempts: atts, Texts: []store.SMS{}, Webhooks: []webhookView{}}
	links, err := s.cfg.Store.ListLinks(ctx, store.LinkFilter{SessionID: id, Limit: store.MaxLimit})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Links = s.linkViews(links)
	for _, l := range links {
		texts, err := s.cfg.Store.ListSMS(ctx, store.SMSFilter{LinkID: l.ID, Limit: store.MaxLimit})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Texts = append(d.Texts, texts...)
	}
	if p.CallID != "" {
		if c, _, err := s.cfg.Store.GetCall(ctx, p.CallID); err == nil {
			d.Call = c
		} else if !errors.Is(err, store.ErrNotFound) {
			s.fail(w, r, err)
			return
		}
	}
	hooks, err := s.cfg.Store.WebhooksAbout(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, h := range hooks {
		d.Webhooks = append(d.Webhooks, webhookView{ID: h.ID, Event: h.Event, EventID: h.EventID, Endpoint: h.Endpoint,
			URL: h.URL, Status: h.Status, Attempts: h.Attempts, LastStatus: h.LastStatus, LastError: h.LastError,
			NextAt: h.NextAt, CreatedAt: h.CreatedAt, DeliveredAt: h.DeliveredAt})
	}
	if d.Operations, err = s.cfg.Store.ListOps(ctx, id); err != nil {
		s.fail(w, r, err)
		return
	}
	if d.History, err = s.cfg.Store.History(ctx, id); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// linkView adds the link's state at the time of the request.
type linkView struct {
	store.Link
	State string `json:"state"` // active | used | expired
}

func (s *Server) linkViews(ls []store.Link) []linkView {
	now := s.cfg.Now()
	out := make([]linkView, len(ls))
	for i, l := range ls {
		out[i] = linkView{Link: l, State: l.State(now)}
	}
	return out
}

func (s *Server) listLinks(w http.ResponseWriter, r *http.Request) {
	f, err := parseLinkFilter(r.URL.Query(), s.cfg.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ls, err := s.cfg.Store.ListLinks(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := page[linkView]{Items: s.linkViews(ls)}
	if len(ls) > 0 && len(ls) == f.Limit {
		p.NextCursor = ls[len(ls)-1].Cursor()
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) listSMS(w http.ResponseWriter, r *http.Request) {
	f, err := parseSMSFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ms, err := s.cfg.Store.ListSMS(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(ms, f.Limit, store.SMS.Cursor))
}

func (s *Server) plans(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Plans == nil {
		writeError(w, http.StatusServiceUnavailable, ErrNoPlans.Error())
		return
	}
	ps := s.cfg.Plans.Plans()
	if ps == nil {
		ps = []PlanInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ps})
}

func (s *Server) reloadPlans(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Plans == nil {
		writeError(w, http.StatusServiceUnavailable, ErrNoPlans.Error())
		return
	}
	err := s.cfg.Plans.Reload()
	detail := "ok"
	if err != nil {
		detail = "failed: " + err.Error()
	}
	actor := "admin-token@" + s.cfg.ClientIP(r)
	if aerr := s.cfg.Store.AppendAudit(r.Context(), actor, "plans.reload", detail); aerr != nil {
		s.log.Error("console: audit", "err", aerr)
	}
	s.log.Info("plans reloaded", "actor", actor, "ok", err == nil)
	ps := s.cfg.Plans.Plans()
	if ps == nil {
		ps = []PlanInfo{}
	}
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": pan.Redact(err.Error()), "items": ps})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ps})
}

// readyz answers load balancers without the admin token: 200 {"ready":true} or 503
// {"ready":false}, nothing more. With the admin token it also says which check failed.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	admin := s.tokenHash != nil && tokenMatch(s.tokenHash, requestToken(r))
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	if err := s.cfg.Store.Ping(ctx); err != nil {
		checks["store"], ok = err.Error(), false
	} else {
		checks["store"] = "ok"
	}
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(); err != nil {
			checks["service"], ok = err.Error(), false
		} else {
			checks["service"] = "ok"
		}
	}
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	if !admin {
		writeJSON(w, code, map[string]any{"ready": ok})
		return
	}
	writeJSON(w, code, map[string]any{"ready": ok, "checks": checks})
}

// planSource is GET /api/plans/{name}/source?hash=: the plan's XML as loaded — the version a
// call ran when its hash is given and still known, else the one running now — for the plan
// view, which highlights the lines a call went through.
func (s *Server) planSource(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Plans == nil {
		writeError(w, http.StatusServiceUnavailable, ErrNoPlans.Error())
		return
	}
	p := params{q: r.URL.Query()}
	hash := p.text("hash")
	if err := p.done(); err != nil {
		s.fail(w, r, err)
		return
	}
	pt, ok := s.cfg.Plans.PlanText(r.PathValue("name"), hash)
	if !ok {
		writeError(w, http.StatusNotFound, "no plan "+r.PathValue("name"))
		return
	}
	pt.Source = pan.Redact(pt.Source)
	writeJSON(w, http.StatusOK, pt)
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	v, err := s.cfg.Store.Version(r.Context())
	if err != nil && !errors.Is(err, context.Canceled) {
		s.fail(w, r, err)
		return
	}
	out := map[string]any{"version": s.cfg.Version, "schema": v, "store": s.cfg.Store.Path(),
		"database": s.cfg.Store.Dialect(), "node": s.cfg.Node}
	if s.cfg.Hub != nil {
		out["hub"] = s.cfg.Hub.Stats()
	}
	writeJSON(w, http.StatusOK, out)
}

// nodeView is a node of the database with whether it looks alive now.
type nodeView struct {
	store.Node
	Alive bool `json:"alive"`
	Self  bool `json:"self,omitempty"` // the node serving this request
}

// listNodes is GET /api/nodes: every node that shares the database (one on SQLite).
func (s *Server) listNodes(w http.ResponseWriter, r *http.Request) {
	ns, err := s.cfg.Store.ListNodes(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.cfg.Now()
	out := make([]nodeView, 0, len(ns))
	for _, n := range ns {
		out = append(out, nodeView{Node: n, Alive: n.Alive(now, NodeDeadAfter), Self: n.ID == s.cfg.Node})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

// NodeDeadAfter is how long without a heartbeat before the console shows a node as not alive
// (serve's heartbeat runs every few seconds; serve takes over a node's calls and payments after
// the same time).
const NodeDeadAfter = 10 * time.Second

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	p := params{q: r.URL.Query()}
	limit := p.limit()
	if err := p.done(); err != nil {
		s.fail(w, r, err)
		return
	}
	es, err := s.cfg.Store.ListAudit(r.Context(), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": es})
}

// statsResponse is /api/stats: the store's figures and, when serve has a SIP endpoint, its
// admission figure.
type statsResponse struct {
	store.Stats
	Capacity *Capacity `json:"capacity,omitempty"`
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	p := params{q: r.URL.Query()}
	since := p.time("since")
	if err := p.done(); err != nil {
		s.fail(w, r, err)
		return
	}
	if since.IsZero() {
		since = s.cfg.Now().Add(-24 * time.Hour)
	}
	st, err := s.cfg.Store.Stats(r.Context(), since)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := statsResponse{Stats: st}
	if s.cfg.Capacity != nil {
		c := s.cfg.Capacity()
		out.Capacity = &c
	}
	writeJSON(w, http.StatusOK, out)
}

// capacity is /api/capacity: the admission figure alone (no store query), which the overview
// polls every few seconds — refusals publish no event to refresh it by. 404 when the process
// has no SIP endpoint.
func (s *Server) capacity(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Capacity == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no SIP endpoint: no admission figure"})
		return
	}
	writeJSON(w, http.StatusOK, s.cfg.Capacity())
}
