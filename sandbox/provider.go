package sandbox

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paybridge/paybridge/internal/cardsafe"
)

// Provider is the sandbox payment provider: a real http.Handler serving the server side of the
// session, generic and Stripe-shaped APIs, the OAuth2 token endpoint, an SMS Messages API, a
// demo billing API, its ledger and an admin endpoint for fault injection. Paths are relative to
// where it is mounted (serve uses http.StripPrefix("/sandbox", …)).
type Provider struct {
	cfg Config
	mux *http.ServeMux
	now func() time.Time
	log *slog.Logger

	mu            sync.Mutex
	faults        Faults
	tokens        map[string]*accessToken
	sessions      map[string]*paySession
	lineAttempts  int                      // cards keyed on the capture line (their idempotency keys)
	idem          map[string]*storedAnswer // api + ":" + idempotency key → first answer
	charges       []*Charge
	byID          map[string]*Charge // charge (transaction) id → charge
	events        []*SentEvent
	cardToks      map[string]*cardToken
	stripeCharges []*chargeObject
	messages      []Message
	stats         Stats
	rnd           *rand.Rand
	ops           int // writes since start, for sweepLocked
	sweepEvery    int

	webhookClient *http.Client
	timersMu      sync.Mutex
	timers        map[*time.Timer]struct{}
	closed        bool
}

// Stats counts requests, for tests and the admin endpoint.
type Stats struct {
	TokenRequests int            `json:"token_requests"`
	Requests      map[string]int `json:"requests"` // by route pattern
	FaultsServed  int            `json:"faults_served"`
}

// storedAnswer is a stored answer to an idempotent request.
type storedAnswer struct {
	fingerprint string
	status      int
	body        []byte
	at          time.Time
}

// New returns a sandbox provider configured by cfg.
func New(cfg Config) *Provider {
	if cfg.DefaultCurrency == "" {
		cfg.DefaultCurrency = "GBP"
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 7 * 24 * time.Hour
	}
	if cfg.Accounts == nil {
		cfg.Accounts = DemoAccounts()
	}
	if cfg.AuthorizationTTL == 0 {
		cfg.AuthorizationTTL = 7 * 24 * time.Hour
	}
	if cfg.ShortAuthorizationTTL == 0 {
		cfg.ShortAuthorizationTTL = 2 * time.Second
	}
	if cfg.SettleAfter == 0 {
		cfg.SettleAfter = time.Second
	}
	if cfg.WebhookDelay == 0 {
		cfg.WebhookDelay = 200 * time.Millisecond
	}
	cfg.Accounts = slices.Clone(cfg.Accounts)
	s := &Provider{
		cfg:      cfg,
		mux:      http.NewServeMux(),
		now:      cfg.Now,
		log:      cfg.Logger,
		faults:   cfg.Faults,
		tokens:   map[string]*accessToken{},
		sessions: map[string]*paySession{},
		idem:     map[string]*storedAnswer{},
		cardToks: map[string]*cardToken{},
		byID:     map[string]*Charge{},
		timers:   map[*time.Timer]struct{}{},
		webhookClient: &http.Client{Timeout: 5 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		stats:      Stats{Requests: map[string]int{}},
		sweepEvery: sweepOps,
		rnd:        rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x9e3779b97f4a7c15)),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.routes()
	return s
}

func (s *Provider) routes() {
	api := func(pattern string, h http.HandlerFunc) {
		s.mux.Handle(pattern, s.instrument(pattern, func(w http.ResponseWriter, r *http.Request, _ []byte) { h(w, r) }, false))
	}
	cardAPI := func(pattern string, h cardHandler) {
		s.mux.Handle(pattern, s.instrument(pattern, h, true))
	}
	api("POST /auth/connect/token", s.handleToken)
	api("POST /globalpci/v1/selfservicesession", s.handleCreateSession(false))
	api("POST /globalpci/v1/selfservicesession/", s.handleCreateSession(false))
	api("POST /globalpci/v1/digitalselfservicesession", s.handleCreateSession(true))
	api("POST /globalpci/v1/digitalselfservicesession/", s.handleCreateSession(true))
	api("GET /globalpci/v1/session/{id}", s.handleGetSession)
	cardAPI("POST /globalpci/v1/session/{id}/capture", s.handleCapture)
	api("POST /globalpci/v1/session/{id}/result", s.handleSessionResult)
	api("POST /globalpci/v1/session/{id}/cancel", s.handleSessionCancel)
	api("GET /globalpci/v1/transaction/{id}", s.handleGetTransaction)
	api("POST /globalpci/v1/transaction/{id}/capture", s.handleTransactionOp("capture"))
	api("POST /globalpci/v1/transaction/{id}/void", s.handleTransactionOp("void"))
	api("POST /globalpci/v1/transaction/{id}/refund", s.handleTransactionOp("refund"))
	cardAPI("POST /generic", s.handleGeneric)
	cardAPI("POST /generic/", s.handleGeneric)
	cardAPI("POST /v1/tokens", s.handleStripeToken)
	api("POST /v1/charges", s.handleStripeCharge)
	api("GET /v1/charges/search", s.handleStripeSearch)
	api("GET /v1/charges/{id}", s.handleStripeGetCharge)
	api("POST /v1/charges/{id}/capture", s.handleStripeCapture)
	api("POST /v1/refunds", s.handleStripeRefund)
	api("GET /v1/refunds", s.handleStripeListRefunds)
	api("POST /sms/Messages", s.handleSendSMS)
	api("POST /sms/Messages.json", s.handleSendSMS)
	api("GET /sms/Messages", s.inspect(s.handleListSMS))
	api("GET /billing/accounts/{id}/balance", s.inspect(s.handleBalance))
	// Test and operator endpoints: never subject to faults.
	s.mux.HandleFunc("GET /ledger", s.inspect(s.handleLedger))
	s.mux.HandleFunc("GET /admin/faults", s.admin(s.handleGetFaults))
	s.mux.HandleFunc("PUT /admin/faults", s.admin(s.handlePutFaults))
	s.mux.HandleFunc("GET /admin/stats", s.admin(s.handleStats))
	s.mux.HandleFunc("GET /admin/events", s.admin(s.handleEvents))
	s.mux.HandleFunc("GET /{$}", s.handleIndex)
}

// ServeHTTP implements http.Handler.
func (s *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// instrument counts the request, applies the injected faults, and logs method, path and status.
// The body of a card route is read first, into a buffer wiped when the request is done
// (cardfields.go), so that no fault path leaves it unread in net/http's buffers.
func (s *Provider) instrument(pattern string, h cardHandler, card bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		var body []byte // nil for a card route whose body could not be read
		if card {
			body, _ = cardsafe.ReadBody(w, r, maxBody)
			defer cardsafe.Wipe(body)
		}
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		start := time.Now()
		s.mu.Lock()
		s.stats.Requests[pattern]++
		plan := s.faults.plan(r.URL.Path, s.rnd)
		if plan.fail || plan.lose || plan.hang || plan.decline != "" {
			s.stats.FaultsServed++
		}
		s.mu.Unlock()
		defer func() {
			s.log.Info("sandbox request", "method", r.Method, "route", pattern, "status", rec.status,
				"fault", plan.String(), "duration", time.Since(start))
		}()
		if card && plan.latency > 0 {
			// The body of a card route has been read, so net/http watches the connection and
			// cancels the request's context when the client goes: a provider that has received
			// a payment processes it anyway (the crash tests depend on that), so wait it out.
			time.Sleep(plan.latency)
		} else if plan.latency > 0 && !sleepCtx(r, plan.latency) {
			return
		}
		switch {
		case plan.hang:
			// Drain the body so the server watches the connection and notices the client
			// giving up; then hang until it does.
			if !card {
				_, _ = io.Copy(io.Discard, r.Body)
			}
			sleepCtx(r, plan.hangFor)
			rec.status = http.StatusGatewayTimeout
			writeJSON(rec, http.StatusGatewayTimeout, map[string]string{"error": "sandbox: injected timeout"})
			return
		case plan.fail:
			rec.status = plan.status
			writeJSON(rec, plan.status, map[string]string{"error": "sandbox: injected fault"})
			return
		case plan.lose:
			// The request takes effect, then its answer is lost.
			h(&discardWriter{header: http.Header{}}, r, body)
			writeJSON(rec, plan.status, map[string]string{"error": "sandbox: injected fault after commit"})
			return
		}
		if plan.decline != "" {
			r = r.WithContext(context.WithValue(r.Context(), declineKey{}, plan.decline))
		}
		h(rec, r, body)
	})
}

// admin guards the admin endpoints with cfg.AdminToken when one is set.
func (s *Provider) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.AdminToken != "" && !s.adminOK(r) {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "admin token required"})
			return
		}
		h(w, r)
	}
}

// inspect guards the routes that show other people's data: the admin token or the inspection
// key, when an admin token is set.
func (s *Provider) inspect(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.AdminToken != "" && !s.adminOK(r) && !secretEqual(r.Header.Get(InspectKeyHeader), s.cfg.InspectKey) {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "admin token required"})
			return
		}
		h(w, r)
	}
}

func (s *Provider) adminOK(r *http.Request) bool {
	tok, ok := bearer(r)
	return ok && secretEqual(tok, s.cfg.AdminToken)
}

// secretEqual compares in constant time; an empty secret never matches.
func secretEqual(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func sleepCtx(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "sandbox: encoding failed", http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// readBody reads a request body without card data (bounded by instrument's MaxBytesReader).
func readBody(r *http.Request) ([]byte, error) { return io.ReadAll(r.Body) }

// Stats returns a copy of the request counters.
func (s *Provider) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.stats
	c.Requests = make(map[string]int, len(s.stats.Requests))
	for k, v := range s.stats.Requests {
		c.Requests[k] = v
	}
	return c
}

func (s *Provider) handleStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Provider) handleIndex(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, strings.TrimSpace(sandboxIndex)+"\n")
}

const sandboxIndex = `
paybridge sandbox payment provider — no real money moves here.

POST /auth/connect/token                       OAuth2 client credentials
POST /globalpci/v1/selfservicesession          start a voice self-service session
POST /globalpci/v1/digitalselfservicesession   start a digital (link) session
GET  /globalpci/v1/session/{id}                session state
POST /globalpci/v1/session/{id}/capture        submit the card of a session
POST /globalpci/v1/session/{id}/result         signed result posted from outside (payment key)
POST /globalpci/v1/session/{id}/cancel         end a session that has taken no payment
GET  /globalpci/v1/transaction/{id}            a payment: amounts, hold, operations
POST /globalpci/v1/transaction/{id}/capture    capture (part of) an authorisation
POST /globalpci/v1/transaction/{id}/void       release an authorisation
POST /globalpci/v1/transaction/{id}/refund     refund (part of) what was captured
POST /generic                                  Twilio Generic Pay Connector shape
POST /v1/tokens, /v1/charges                   Stripe shape (capture=false holds); GET /v1/charges/search, /v1/charges/{id}
POST /v1/charges/{id}/capture, /v1/refunds     Stripe capture and refunds; GET /v1/refunds?charge=
POST /sms/Messages, GET /sms/Messages          SMS Messages shape
GET  /billing/accounts/{id}/balance            demo billing (12345678, 87654321, 11112222) *
GET  /ledger                                   every charge with its idempotency key *
GET|PUT /admin/faults, GET /admin/stats        fault injection and counters *
GET  /admin/events                             events sent to the merchant, with delivery state *

* with an admin token configured (serve), these need Authorization: Bearer <admin token>.

Test cards: 4242424242424242 5555555555554444 2223003122003222 378282246310005 approve;
4000000000000002 card_declined; 4000000000009995 insufficient_funds; 4000000000000069 expired_card;
4000000000000127 incorrect_cvc; 4000000000000119 processing_error (retryable); other Luhn-valid numbers approve.
Lifecycle: 4000000000003006 authorisation expires after 2s; 4000000000003402 capture declined;
4000000000005126 refunds fail; 4000000000000259 chargeback after capture.
Bank (ach-debit): routing 110000000; account 000123456789 approves, 000111111116 no_account,
000222222227 insufficient_funds, 000333333335 debit_not_authorized, 000555555559 refunds fail.
`
