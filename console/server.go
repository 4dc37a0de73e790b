package console

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/store"
)

//go:embed web
var webFS embed.FS

// Config wires the console to the rest of paybridge.
type Config struct {
	Store      *store.Store        // required
	Hub        *Hub                // live feed; nil: /api/events answers 503
	Metrics    *Metrics            // optional
	Gatherer   prometheus.Gatherer // what /metrics exposes; default prometheus.DefaultGatherer
	AdminToken string              // required: the bearer token of the admin API
	Plans      PlanSource          // optional: /api/plans answers 503 without it
	Logger     *slog.Logger        // default slog.Default(); serve tags it component=console
	Ready      func() error        // extra readiness check (SIP listening, plans loaded…); nil: always
	Done       <-chan struct{}     // closed on shutdown: live-feed connections close with 1001
	Version    string              // shown in /api/info
	Node       string              // this node's id, shown in /api/info and /api/nodes
	// Draining reports that the node is shutting down (SIGTERM): /healthz answers 503 so a
	// load balancer stops sending it work, as SIP OPTIONS does for Kamailio. nil: never.
	Draining  func() bool
	Now       func() time.Time // clock for link states; default time.Now
	WebSocket *WebSocketConfig // live-feed timing; nil: defaults
	// AuthFailures failed authentications from one address within a minute block it (429) for
	// the rest of that minute; 0 means DefaultAuthFailures. A request carrying the valid token
	// is never refused: the lockout cannot lock the admin out.
	AuthFailures int
	// ClientIP names the client of a request for the lockout, the audit log and the request
	// log (serve: the peer, or what a trusted proxy says); nil = the peer address.
	ClientIP func(*http.Request) string
	// AgentTokens are the per-agent tokens (agent id → token, ParseAgentTokens): each reaches
	// the Payments API for the calls bridged to that agent only (agenttoken.go).
	AgentTokens map[string]string
	// Agents serves the Payments API on calls bridged to agents (payments.go); nil: its
	// requests answer 503.
	Agents Agents
	// Capacity reports the admission controller's figure for /api/stats and the overview
	// (nil: not shown).
	Capacity func() Capacity
	// Payments captures, voids and refunds (the gateway's Lifecycle); nil: those endpoints
	// answer 503.
	Payments payment.Lifecycle
}

// A client address with DefaultAuthFailures failed authentications within AuthFailureWindow
// is refused with 429 until the window has passed.
const (
	DefaultAuthFailures = 30
	AuthFailureWindow   = time.Minute
)

// Server is the console's HTTP handler. Mount it at "/" of the HTTP listener; serve mounts the
// payment pages (/pay/) and the sandbox (/sandbox/) beside it, outside the admin auth.
type Server struct {
	cfg       Config
	tokenHash []byte
	mux       *http.ServeMux
	log       *slog.Logger
	ws        WebSocketConfig
	limiter   *failLimiter
	// agentTokens are the hashes of Config.AgentTokens, by agent.
	agentTokens map[string][]byte
}

// NewServer builds the console handler:
//
//	GET  /                      the web console (static, no auth; it asks for the token)
//	GET  /assets/…              its CSS and JS (static, no auth)
//	GET  /healthz               ok, or 503 while draining (load-balancer probe), no auth
//	GET  /readyz                readiness (store + Config.Ready), no auth: ready or not only
//	GET  /api/info              version, schema, hub counters
//	GET  /api/calls             ?state=&from=&to=&number=&plan=&node=&result=&reference=&pay_result=
//	                            &error_type=&card_type=&last4=&since=&until=&limit=&cursor=
//	GET  /api/calls/{id}        the call, its readable timeline, its masked events, its payments
//	GET  /api/live              calls in progress
//	POST /api/calls/{id}/payments          open an agent payment (payments.go)
//	POST /api/calls/{id}/payments/{pid}    Capture=<field> | Status=complete|cancel
//	GET  /api/calls/{id}/payments[/{pid}]  their masked states
//	GET  /api/agent/calls                  the calls bridged now (the agent desk)
//	GET  /api/payments          ?call_id=&connector=&state=&result=&channel=&reference=&error_type=
//	                            &card_type=&last4=&number=&plan=&node=&since=&until=&limit=&cursor=
//	GET  /api/payments/{id}     everything about a payment: call, attempts, links, texts, webhooks
//	POST /api/payments/{id}/capture, …/void, …/refunds   capture, release, refund (operations.go)
//	GET  /api/payments/{id}/history, …/history.csv       the append-only history
//	GET  /api/history.csv       ?since=&until= every payment's history
//	GET  /api/plans             plans with validation messages
//	GET  /api/plans/{name}/source  ?hash=: the plan's XML (the version a call ran, when known)
//	POST /api/plans/reload      re-read the plans (audited)
//	GET  /api/sms               ?to=&number=&call_id=&status=&text=&since=&until=&limit=&cursor=
//	GET  /api/links             ?session_id=&call_id=&number=&reference=&state=&plan=&node=&since=&until=&limit=&cursor=
//	GET  /api/export/{what}.csv calls, payments, links or sms: every row of the list's filter, as CSV
//	GET  /api/audit             ?limit= (newest first)
//	GET  /api/nodes             the nodes sharing the database, with their state
//	GET  /api/stats             ?since= (default: the last 24 hours)
//	GET  /api/events            WebSocket live feed (an agent's token: its bridged calls only)
//	GET  /api/whoami            {"role":"admin"} or {"role":"agent","agent":…}: what the token is
//	GET  /metrics               Prometheus exposition
//
// Everything but /, /assets/, /healthz and /readyz requires the admin token (see auth.go);
// an agent's token (agenttoken.go) reaches the Payments API, /api/agent/calls, /api/whoami
// and the live feed, for the calls bridged to that agent only.
func NewServer(cfg Config) http.Handler {
	if cfg.Store == nil {
		panic("console: NewServer needs Config.Store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Gatherer == nil {
		cfg.Gatherer = prometheus.DefaultGatherer
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = remoteIP
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), log: cfg.Logger,
		limiter: newFailLimiter(cmp.Or(cfg.AuthFailures, DefaultAuthFailures), AuthFailureWindow)}
	if cfg.WebSocket != nil {
		s.ws = *cfg.WebSocket
	}
	s.ws.defaults()
	s.agentTokens = agentTokenHashes(cfg.AgentTokens)
	h := sha256.Sum256([]byte(cfg.AdminToken))
	s.tokenHash = h[:]
	if checkToken(cfg.AdminToken) != nil {
		// No usable token: every authenticated route refuses rather than opening up.
		s.tokenHash = nil
		s.log.Error("console: admin token missing or too short; the admin API refuses every request")
	}

	static, _ := fs.Sub(webFS, "web")
	s.mux.HandleFunc("GET /{$}", s.serveIndex(static))
	s.mux.Handle("GET /assets/", http.StripPrefix("/assets/", s.assets(static)))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if cfg.Draining != nil && cfg.Draining() {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("draining\n"))
			return
		}
		w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /api/info", s.auth(s.info))
	s.mux.Handle("GET /api/calls", s.auth(s.listCalls))
	s.mux.Handle("GET /api/calls/{id}", s.auth(s.getCall))
	s.mux.Handle("GET /api/live", s.auth(s.live))
	s.mux.Handle("POST /api/calls/{id}/payments", s.agentAuth(s.startAgentPayment))
	s.mux.Handle("POST /api/calls/{id}/payments/{pid}", s.agentAuth(s.updateAgentPayment))
	s.mux.Handle("GET /api/calls/{id}/payments", s.agentAuth(s.listAgentPayments))
	s.mux.Handle("GET /api/calls/{id}/payments/{pid}", s.agentAuth(s.getAgentPayment))
	s.mux.Handle("GET /api/agent/calls", s.agentAuth(s.bridgedCalls))
	s.mux.Handle("GET /api/payments", s.auth(s.listPayments))
	s.mux.Handle("GET /api/payments/{id}", s.auth(s.getPayment))
	s.mux.Handle("POST /api/payments/{id}/capture", s.auth(s.capture))
	s.mux.Handle("POST /api/payments/{id}/void", s.auth(s.void))
	s.mux.Handle("POST /api/payments/{id}/refunds", s.auth(s.refund))
	s.mux.Handle("GET /api/payments/{id}/history", s.auth(s.history))
	s.mux.Handle("GET /api/payments/{id}/history.csv", s.auth(s.historyCSV))
	s.mux.Handle("GET /api/history.csv", s.auth(s.allHistoryCSV))
	s.mux.Handle("GET /api/plans", s.auth(s.plans))
	s.mux.Handle("GET /api/plans/{name}/source", s.auth(s.planSource))
	s.mux.Handle("GET /api/export/{what}", s.auth(s.export))
	s.mux.Handle("POST /api/plans/reload", s.auth(s.reloadPlans))
	s.mux.Handle("/api/plans/reload", s.auth(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, "use POST to reload the plans")
	}))
	s.mux.Handle("GET /api/sms", s.auth(s.listSMS))
	s.mux.Handle("GET /api/links", s.auth(s.listLinks))
	s.mux.Handle("GET /api/audit", s.auth(s.listAudit))
	s.mux.Handle("GET /api/nodes", s.auth(s.listNodes))
	s.mux.Handle("GET /api/stats", s.auth(s.stats))
	s.mux.Handle("GET /api/capacity", s.auth(s.capacity))
	s.mux.Handle("GET /api/events", s.agentAuth(s.events))
	s.mux.Handle("GET /api/whoami", s.agentAuth(s.whoami))
	s.mux.Handle("/api/", s.auth(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path)
	}))
	metrics := promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{ErrorLog: slogPrinter{s.log}})
	s.mux.Handle("GET /metrics", s.auth(metrics.ServeHTTP))
	return s
}

// ServeHTTP adds the security headers, logs the request (path only: the query may carry a
// token) and dispatches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp(r.Host))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	lvl := slog.LevelDebug
	if rec.status >= 500 {
		lvl = slog.LevelWarn
	}
	s.log.Log(r.Context(), lvl, "http", "method", r.Method, "path", pan.Redact(r.URL.Path), "status", rec.status,
		"duration", time.Since(start), "remote", s.cfg.ClientIP(r))
}

// csp is a strict Content-Security-Policy: only our own scripts and styles, and WebSocket
// connections back to the host that served the page.
func csp(host string) string {
	connect := "'self'"
	if validHost(host) {
		connect += " ws://" + host + " wss://" + host
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src " + connect +
		"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController (and the WebSocket upgrade's Hijack) reach the original.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Hijack is needed by the WebSocket upgrader, which type-asserts http.Hijacker.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("console: response writer cannot hijack")
	}
	r.status = http.StatusSwitchingProtocols
	return h.Hijack()
}

// Flush supports streaming handlers.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// writeJSON writes v with status 200 (or code) and no caching.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// writeError writes {"error": msg}. Messages are redacted: a client echoing a card number in a
// query parameter does not get it reflected into logs or responses.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": pan.Redact(msg)})
}

// statusOf maps store and console errors to HTTP statuses.
func statusOf(err error) int {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrBadFilter), errors.Is(err, store.ErrBadCursor), errors.Is(err, store.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, context.Canceled):
		return 499
	case errors.Is(err, store.ErrClosed):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fail answers an error: client errors with their message, server errors with a generic one
// (the details go to the log).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	if code >= 500 {
		s.log.Error("console request failed", "path", pan.Redact(r.URL.Path), "err", pan.Redact(err.Error()))
		writeError(w, code, http.StatusText(code))
		return
	}
	writeError(w, code, err.Error())
}

// slogPrinter adapts slog to promhttp's error logger.
type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	p.l.Error("metrics", "err", pan.Redact(strings.TrimSpace(fmt.Sprint(v...))))
}

// serveIndex serves the console page. It is static and holds no data: everything it shows
// comes from the authenticated API.
func (s *Server) serveIndex(static fs.FS) http.HandlerFunc {
	page, err := fs.ReadFile(static, "index.html")
	return func(w http.ResponseWriter, r *http.Request) {
		if err != nil {
			writeError(w, http.StatusInternalServerError, "console page missing from the build")
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(page)
	}
}

// assets serves the embedded CSS and JS.
func (s *Server) assets(static fs.FS) http.Handler {
	files := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "index.html" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
