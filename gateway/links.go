package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/payment"
)

// LinksConfig configures payment links.
type LinksConfig struct {
	// BaseURL is the public URL the links start with (https://pay.example.com); links are
	// {BaseURL}/pay/{token}.
	BaseURL string
	// Store keeps the links (hashed tokens only).
	Store LinkStore
	// SMS texts the links (default: none; SendPaymentLink then fails).
	SMS SMSSender
	// From is the sender id or number of the texts.
	From string
	// Connectors completes the sessions; the plan's connector must have been opened.
	Connectors *Connectors
	// Guard is the SMS-pumping guard.
	Guard GuardConfig
	// Merchant is who the page and the text name when the link's connector has no
	// <Merchant> of its own (default name "paybridge", locale payment.DefaultLocale).
	Merchant payment.Merchant
	// DefaultTTL applies when a LinkRequest has none (default payment.DefaultLinkTTL); MaxTTL
	// caps it (default payment.MaxLinkTTL, the limit validate enforces on plans).
	DefaultTTL, MaxTTL time.Duration
	// MaxAttempts is how many declined submissions a link allows (default 3).
	MaxAttempts int
	// The limits of /pay/ (see paylimit.go). ClientLimit is how many requests for unknown or
	// malformed tokens one client may make per minute (default 30) before those get 429; a
	// valid link is never refused on that account, whoever else failed. ViewLimit is page views
	// per minute per link (default 60) and SubmitLimit submissions per minute per link
	// (default 5): only a holder of the link can spend them.
	ClientLimit, ViewLimit, SubmitLimit int
	// ClientIP names the client of a request for rate limiting (default: the remote address;
	// serve passes its trusted-proxy resolver).
	ClientIP func(*http.Request) string
	Logger   *slog.Logger
	Events   event.Sink
	Now      func() time.Time
}

// Links signs, texts and serves single-use payment links. It implements payment.LinkSender
// and is the http.Handler of GET/POST /pay/{token}.
type Links struct {
	cfg       LinksConfig
	mux       *http.ServeMux
	tmpl      *template.Template
	badTokens *rateLimiter // failed lookups per client
	perView   *rateLimiter // page views per link
	perLink   *rateLimiter // submissions per link
	xorigin   *http.CrossOriginProtection
	logos     logoCache
	sendMu    sync.Mutex // guard check and link creation happen as one step
	log       *slog.Logger
}

var _ payment.LinkSender = (*Links)(nil)

// NewLinks returns a Links with cfg's defaults filled in.
func NewLinks(cfg LinksConfig) *Links {
	cfg.Guard.withDefaults()
	if cfg.Merchant.Name == "" {
		cfg.Merchant.Name = "paybridge"
	}
	if cfg.DefaultTTL == 0 {
		cfg.DefaultTTL = payment.DefaultLinkTTL
	}
	if cfg.MaxTTL == 0 {
		cfg.MaxTTL = payment.MaxLinkTTL
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.ClientLimit == 0 {
		cfg.ClientLimit = 30
	}
	if cfg.SubmitLimit == 0 {
		cfg.SubmitLimit = 5
	}
	if cfg.ViewLimit == 0 {
		cfg.ViewLimit = 60
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = func(r *http.Request) string {
			h, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				return r.RemoteAddr
			}
			return h
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Links{cfg: cfg, mux: http.NewServeMux(), tmpl: payPageTemplate,
		badTokens: newRateLimiter(cfg.ClientLimit, time.Minute, cfg.Now),
		perView:   newRateLimiter(cfg.ViewLimit, time.Minute, cfg.Now),
		perLink:   newRateLimiter(cfg.SubmitLimit, time.Minute, cfg.Now),
		xorigin:   newCrossOriginCheck(cfg.BaseURL, cfg.Logger),
		log:       cfg.Logger}
	l.logos.warn = func(path string, err error) {
		l.log.Warn("payment page: the merchant's logo cannot be shown", "logo", path, "error", err)
	}
	l.mux.HandleFunc("GET /pay/{token}", l.handleGet)
	l.mux.HandleFunc("POST /pay/{token}", l.handlePost)
	l.mux.HandleFunc("/pay/", func(w http.ResponseWriter, r *http.Request) { l.render(w, http.StatusNotFound, pageInvalid) })
	return l
}

// linkTokenLen is the length of a token: 32 random bytes (256 bits) in unpadded base64url.
const linkTokenLen = 43

// newLinkToken returns a fresh token and its hash.
func newLinkToken() (token, hash string) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token)
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// ParseLinkToken checks a token's shape (43 characters of unpadded base64url, 256 bits) and
// returns the hash it is stored under. A malformed token is ErrBadToken.
func ParseLinkToken(token string) (string, error) {
	if len(token) != linkTokenLen {
		return "", ErrBadToken
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(b) != 32 {
		return "", ErrBadToken
	}
	return hashToken(token), nil
}

// SendPaymentLink implements payment.LinkSender: it applies the SMS guard, starts (or attaches
// to) the provider session, stores the link hashed, and texts it.
func (l *Links) SendPaymentLink(ctx context.Context, req *payment.LinkRequest) (*payment.LinkResult, error) {
	if l.cfg.Store == nil || l.cfg.SMS == nil || l.cfg.Connectors == nil || l.cfg.BaseURL == "" {
		return nil, fmt.Errorf("%w: payment links need a store, an SMS sender, connectors and a base URL", ErrConnectorConfig)
	}
	if req.SessionID == "" && (req.Amount.Minor <= 0 || len(req.Amount.Currency) != 3) {
		return nil, fmt.Errorf("%w: a payment link for a new session needs a positive amount and a currency", ErrBadAmount)
	}
	c, err := l.cfg.Connectors.Resolve(req.ConnectorKey, req.Connector)
	if err != nil {
		return nil, err
	}
	if err := l.checkTerms(c, req.Terms); err != nil {
		return nil, err
	}
	to := normalizeE164(req.To)
	now := l.cfg.Now()
	ttl := req.TTL
	if ttl <= 0 {
		ttl = l.cfg.DefaultTTL
	}
	if ttl > l.cfg.MaxTTL {
		ttl = l.cfg.MaxTTL
	}

	// Refuse early (before any provider call), then re-check the cap together with the insert
	// so concurrent sends to one number cannot overshoot it. The lock is not held across the
	// provider or SMS calls.
	if err := l.cfg.Guard.check(ctx, l.cfg.Store, to, req, now); err != nil {
		return nil, err
	}
	sess, err := c.StartSession(ctx, &payment.SessionRequest{CallID: req.CallID, SessionID: req.SessionID,
		Amount: req.Amount, Reference: req.Reference, Phone: to, Digital: req.SessionID == "", Invoice: req.Invoice})
	if err != nil {
		return nil, err
	}
	switch sess.State {
	case SessionCompleted, SessionFailed, SessionExpired:
		return nil, fmt.Errorf("%w: session %s is %s; no link sent", ErrProviderRejected, sess.ID, sess.State)
	}
	// Without an amount of its own the link pays the session's, as the provider knows it.
	amount, ref := req.Amount, req.Reference
	if amount.Minor == 0 {
		amount = sess.Amount
	}
	if ref == "" {
		ref = sess.Reference
	}
	if amount.Minor <= 0 || len(amount.Currency) != 3 {
		return nil, fmt.Errorf("%w: session %s has no amount to pay (give SendPaymentLink amount and currency)", ErrBadAmount, sess.ID)
	}
	token, hash := newLinkToken()
	link := &Link{ID: newID("lnk_"), TokenHash: hash, SessionID: sess.ID, Connector: req.Connector, ConnectorKey: c.Key(),
		CallID: req.CallID, To: to, AmountMinor: amount.Minor, Currency: amount.Currency,
		Reference: ref, State: LinkActive, CreatedAt: now, ExpiresAt: now.Add(ttl), Invoice: req.Invoice, Terms: req.Terms}
	if err = l.createLink(ctx, link, req, now); err != nil {
		return nil, err
	}
	url := strings.TrimRight(l.cfg.BaseURL, "/") + "/pay/" + token
	body := linkText(l.brandOf(link), amount, ref, url, link.ExpiresAt, req.Terms.MethodOf() == payment.MethodAuthorize)
	msgID, err := l.cfg.SMS.SendSMS(ctx, &SMS{CallID: req.CallID, LinkID: link.ID, To: to, From: l.cfg.From, Body: body, CreatedAt: now})
	if err != nil {
		return nil, err
	}
	if err := l.cfg.Store.SetLinkMessage(ctx, link.ID, msgID); err != nil {
		l.log.Warn("recording the link's SMS id failed", "link", link.ID, "error", err)
	}
	// The engine reports the link (event.LinkSent) with what this returns.
	return &payment.LinkResult{LinkID: link.ID, SessionID: sess.ID, Amount: amount, Reference: ref,
		ExpiresAt: link.ExpiresAt, MessageID: msgID}, nil
}

// checkTerms refuses, before any provider call or text, a link whose terms a connector of its
// route cannot carry (payment.CheckPayMethod: a stripe connector takes no bank account) or
// whose backup connectors are not open.
func (l *Links) checkTerms(c *Connector, t *payment.LinkTerms) error {
	if err := t.Check(); err != nil {
		return fmt.Errorf("%w: %w", ErrConnectorConfig, err)
	}
	if t == nil {
		return nil
	}
	conns := []*Connector{c}
	for _, h := range t.Route {
		hc, err := l.cfg.Connectors.Resolve(h.ConnectorKey, h.Connector)
		if err != nil {
			return err
		}
		conns = append(conns, hc)
	}
	for _, hc := range conns {
		if err := payment.CheckPayMethod(hc.Type(), t.MethodOf(), t.PaymentMethod); err != nil {
			return fmt.Errorf("%w: connector %s: %w", ErrConnectorConfig, hc.Name(), err)
		}
	}
	return nil
}

// linkText is the text that carries a link: the merchant, the amount written for its locale,
// the reference, the link and when it expires, and the merchant's support line.
func linkText(b brand, amount payment.Amount, ref, url string, expires time.Time, hold bool) string {
	var s strings.Builder
	verb := "pay"
	if hold {
		verb = "authorise"
	}
	fmt.Fprintf(&s, "%s: %s %s", b.Name, verb, b.price(amount.Minor, amount.Currency))
	if ref != "" {
		fmt.Fprintf(&s, " for %s", ref)
	}
	fmt.Fprintf(&s, " securely at %s (link expires %s).", url, expires.UTC().Format("2 Jan 15:04 MST"))
	if b.Support != "" {
		fmt.Fprintf(&s, " Questions: %s.", strings.TrimRight(b.Support, "."))
	}
	s.WriteString(" We will never ask for your card by text.")
	return payment.SMSText(s.String())
}

// createLink re-checks the daily cap together with the insert. A store shared by several
// processes does both in one step of its own (CappedLinkStore); otherwise the guard and the
// insert run under this process's lock.
func (l *Links) createLink(ctx context.Context, link *Link, req *payment.LinkRequest, now time.Time) error {
	if cs, ok := l.cfg.Store.(CappedLinkStore); ok {
		err := cs.CreateLinkCapped(ctx, link, now.Add(-24*time.Hour), l.cfg.Guard.DailyCap)
		if err != nil && !errors.Is(err, ErrSMSCap) {
			err = fmt.Errorf("gateway: storing the link: %w", err)
		}
		return err
	}
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	if err := l.cfg.Guard.check(ctx, l.cfg.Store, link.To, req, now); err != nil {
		return err
	}
	if err := l.cfg.Store.CreateLink(ctx, link); err != nil {
		return fmt.Errorf("gateway: storing the link: %w", err)
	}
	return nil
}

func (l *Links) emit(callID string, d event.Data) {
	if l.cfg.Events != nil {
		l.cfg.Events.Emit(event.Event{Time: l.cfg.Now(), CallID: callID, Data: d})
	}
}

// ServeHTTP serves GET and POST /pay/{token}.
func (l *Links) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mux.ServeHTTP(w, r)
}
