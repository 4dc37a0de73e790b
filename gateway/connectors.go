package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// ConnectorsConfig configures the connectors a plan's <Connector> elements open.
type ConnectorsConfig struct {
	// SandboxURL is the embedded sandbox's base URL, which baseUrl="sandbox" resolves to.
	SandboxURL string
	// HTTPClient sends provider requests (default: a client with a redacting debug transport
	// over net/http's defaults that keeps up to 128 idle connections per provider host).
	// Requests that carry card data do not go through its RoundTripper: they are written on a
	// connection of their own through buffers the connector zeroes, dialled with the dialer,
	// TLS settings and proxy of its *http.Transport when it has one (docs/gateway.md).
	HTTPClient *http.Client
	// Attempts is the write-ahead log of payment attempts (nil: attempts are not logged and
	// cannot be reconciled; acceptable only in tests).
	Attempts AttemptLog
	// Logger receives connector logs (never bodies). Default: discard.
	Logger *slog.Logger
	// Events receives a connector.request event per provider request (may be nil).
	Events event.Sink
	// Timeout per provider request when the spec has none (default 15s).
	Timeout time.Duration
	// Tries for idempotent requests on timeouts, 429 and 5xx (default 3).
	Tries int
	// Backoff before the second try, doubling after (default 200ms).
	Backoff time.Duration
	// TokenSkew refreshes tokens this long before they expire (default 30s).
	TokenSkew time.Duration
	// Now is the clock for attempt records (default time.Now).
	Now func() time.Time
}

// Connectors opens and keeps the connectors of the loaded plans, by ConnectorKey (plan and
// spec), never by name alone. It implements payment.Connectors; Open with the same spec
// returns the same connector (and its token cache). A connector stays open after its plan is
// edited or removed, so links already sent keep reaching their provider until restart.
type Connectors struct {
	cfg  ConnectorsConfig
	wire *cardWire // card-bearing requests: own connection, owned and zeroed buffers
	mu   sync.Mutex
	open map[string]*Connector // ConnectorKey → connector
}

var _ payment.Connectors = (*Connectors)(nil)

// NewConnectors returns a Connectors with cfg's defaults filled in.
func NewConnectors(cfg ConnectorsConfig) *Connectors {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: &RedactingTransport{Base: providerTransport(), Logger: cfg.Logger}}
	} else {
		c := *cfg.HTTPClient
		cfg.HTTPClient = &c
	}
	// Never follow a redirect: a 307/308 would re-send the card body to wherever it points.
	cfg.HTTPClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.Tries == 0 {
		cfg.Tries = 3
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	if cfg.TokenSkew == 0 {
		cfg.TokenSkew = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Connectors{cfg: cfg, wire: newCardWire(cfg.HTTPClient, cfg.Logger), open: map[string]*Connector{}}
}

// providerIdlePerHost is how many idle keep-alive connections the default provider client keeps
// per provider host. net/http's default transport keeps 2: with hundreds of calls up, a burst
// of session starts or lookups to one provider dialled (and, for https, shook hands) a new
// connection for all but two of them and closed it again after one request
// (TestProviderConnectionsKeptForBursts, BenchmarkSessionStartBurst; docs/sip.md).
const providerIdlePerHost = 128

// providerTransport is the default provider client's transport: net/http's defaults (the
// environment's proxy, a 30 s dial timeout and keep-alive, HTTP/2 when offered) with an idle
// pool sized for a few providers and many concurrent calls. Card requests take its dialer,
// TLS settings and proxy (cardWire), not its connections.
func providerTransport() *http.Transport {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4 * providerIdlePerHost,
		MaxIdleConnsPerHost:   providerIdlePerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// Open implements payment.Connectors.
func (cs *Connectors) Open(spec *payment.ConnectorSpec) (payment.Connector, error) {
	c, err := cs.OpenConnector(spec)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// OpenConnector is Open returning the concrete type. What a spec needs to open is
// payment.CheckConnector's to decide — the rule set `paybridge validate` applies too — and
// its sandbox defaults are filled in here.
func (cs *Connectors) OpenConnector(in *payment.ConnectorSpec) (*Connector, error) {
	if in == nil {
		return nil, fmt.Errorf("%w: no connector", ErrConnectorConfig)
	}
	spec, probs := payment.CheckConnector(*in)
	if len(probs) > 0 {
		sentinel := ErrConnectorConfig
		msgs := make([]string, len(probs))
		for i, p := range probs {
			msgs[i] = p.Message
			if p.Attr == "type" {
				sentinel = ErrUnknownConnectorType
			}
		}
		return nil, fmt.Errorf("%w: %s", sentinel, strings.Join(msgs, "; "))
	}
	key := ConnectorKey(spec)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c, ok := cs.open[key]; ok && sameSpec(&c.spec, &spec) {
		c.merchant.Store(spec.Merchant) // a reloaded plan may have rebranded it
		return c, nil
	}
	// New, or the same provider account with a rotated secret: (re)build under the key.
	c, err := cs.build(&spec)
	if err != nil {
		return nil, err
	}
	c.key = key
	c.merchant.Store(spec.Merchant)
	cs.open[key] = c
	return c, nil
}

func sameSpec(a, b *payment.ConnectorSpec) bool {
	eqCC := (a.ClientCredentials == nil) == (b.ClientCredentials == nil) &&
		(a.ClientCredentials == nil || *a.ClientCredentials == *b.ClientCredentials)
	eqBA := (a.BasicAuth == nil) == (b.BasicAuth == nil) && (a.BasicAuth == nil || *a.BasicAuth == *b.BasicAuth)
	return a.Plan == b.Plan && a.Name == b.Name && a.Type == b.Type && a.BaseURL == b.BaseURL && a.Account == b.Account &&
		a.Timeout == b.Timeout && a.APIKey == b.APIKey && a.Capture == b.Capture && eqCC && eqBA
}

// build opens a spec that payment.CheckConnector has passed (defaults filled in).
func (cs *Connectors) build(spec *payment.ConnectorSpec) (*Connector, error) {
	base := strings.TrimRight(spec.BaseURL, "/")
	if spec.IsSandbox() {
		if cs.cfg.SandboxURL == "" {
			return nil, fmt.Errorf("%w: connector %q uses baseUrl=\"sandbox\" but no sandbox is running", ErrConnectorConfig, spec.Name)
		}
		base = strings.TrimRight(cs.cfg.SandboxURL, "/")
	}
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = cs.cfg.Timeout
	}
	d := &doer{name: spec.Name, hc: cs.cfg.HTTPClient, wire: cs.wire, auth: noAuth{}, timeout: timeout,
		tries: cs.cfg.Tries, backoff: cs.cfg.Backoff, log: cs.cfg.Logger, events: cs.cfg.Events}
	c := &Connector{spec: *spec, base: base, doer: d, attempts: cs.cfg.Attempts, now: cs.cfg.Now, log: cs.cfg.Logger}
	if cc := spec.ClientCredentials; cc != nil {
		tokenURL := cc.TokenURL
		if tokenURL == "" || spec.BaseURL == "sandbox" && strings.HasPrefix(tokenURL, "sandbox") {
			tokenURL = base + "/auth/connect/token"
		}
		c.tokens = NewTokenSource(TokenSourceConfig{TokenURL: tokenURL, ClientID: cc.ClientID,
			ClientSecret: cc.ClientSecret, Scope: cc.Scope, HTTPClient: cs.cfg.HTTPClient,
			Skew: cs.cfg.TokenSkew, Timeout: timeout, Tries: cs.cfg.Tries, Backoff: cs.cfg.Backoff})
		d.auth = oauthAuth{c.tokens}
	}
	switch spec.Type {
	case "session":
		c.api = &sessionAPI{c: c}
	case "generic":
		if spec.BasicAuth != nil {
			d.auth = basicAuth{spec.BasicAuth.Username, spec.BasicAuth.Password}
		}
		url := base
		if spec.IsSandbox() {
			url = base + "/generic"
		}
		c.api = &genericAPI{c: c, url: url}
	case "stripe":
		if spec.APIKey != "" {
			d.auth = bearerKey(spec.APIKey)
		}
		c.api = &stripeAPI{c: c}
	default:
		return nil, fmt.Errorf("%w: %q (want session, generic or stripe)", ErrUnknownConnectorType, spec.Type)
	}
	return c, nil
}

// providerAPI is what differs between the session, generic and stripe connectors: the three
// calls, and what the connector may count on around them.
type providerAPI interface {
	pay(ctx context.Context, req *payment.Request, key string) (*payment.Result, error)
	startSession(ctx context.Context, req *payment.SessionRequest) (*payment.Session, error)
	// lookup asks the provider what became of the attempt with a.Key. found=false means the
	// provider never received it (nothing was charged); errLookupUnsupported means it cannot say.
	lookup(ctx context.Context, a *Attempt) (r AttemptResult, found bool, err error)
	// paysIntoSession reports whether a payment goes into a provider session that must exist
	// before the attempt is written: the attempt names it, and lookup asks it.
	paysIntoSession() bool
	// canLookup reports whether lookup can ever say what became of an attempt.
	canLookup() bool
}

// errLookupUnsupported: the provider's API has no way to look an attempt up.
var errLookupUnsupported = errors.New("gateway: provider cannot look attempts up")

// errSessionGone: the provider does not know the attempt's session (any more).
var errSessionGone = errors.New("session gone")

// Connector is one opened <Connector>. It implements payment.Connector.
type Connector struct {
	spec     payment.ConnectorSpec
	key      string // ConnectorKey(spec)
	base     string
	doer     *doer
	tokens   *TokenSource // nil unless the spec has ClientCredentials
	api      providerAPI
	attempts AttemptLog
	now      func() time.Time
	log      *slog.Logger
	merchant atomic.Pointer[payment.Merchant] // its plan's <Merchant>, as last loaded
}

var _ payment.KeyedConnector = (*Connector)(nil)

// Name is the plan's name for the connector.
func (c *Connector) Name() string { return c.spec.Name }

// Key is the connector's ConnectorKey: what sessions, links and attempts made with it store.
func (c *Connector) Key() string { return c.key }

// Merchant is who the connector's payment pages and link texts name (nil: the default).
func (c *Connector) Merchant() *payment.Merchant { return c.merchant.Load() }

// Type is session, generic or stripe.
func (c *Connector) Type() string { return c.spec.Type }

// Tokens returns the connector's token source (nil without client credentials).
func (c *Connector) Tokens() *TokenSource { return c.tokens }

// Authorize implements payment.Connector: it fetches (or confirms the cached) token.
func (c *Connector) Authorize(ctx context.Context) error {
	if c.tokens == nil {
		return nil
	}
	_, err := c.tokens.Token(ctx)
	return err
}

// StartSession implements payment.Connector.
func (c *Connector) StartSession(ctx context.Context, req *payment.SessionRequest) (*payment.Session, error) {
	return c.api.startSession(ctx, req)
}

// Pay implements payment.Connector. It writes the pending attempt (with its idempotency key)
// before calling the provider and its outcome after; an attempt whose outcome is already known
// is answered from the log without calling the provider again. A connector error leaves the
// attempt pending for Reconcile.
func (c *Connector) Pay(ctx context.Context, req *payment.Request) (*payment.Result, error) {
	switch {
	case req == nil:
		return nil, fmt.Errorf("%w: no request: %w", ErrBadCard, payment.ErrNotCharged)
	case req.IsBank() && (req.Bank == nil || req.Bank.AccountNumber.Len() == 0 || req.Bank.RoutingNumber.Len() == 0):
		return nil, fmt.Errorf("%w: no bank account: %w", ErrBadCard, payment.ErrNotCharged)
	case !req.IsBank() && req.Card.Number.Len() == 0:
		return nil, fmt.Errorf("%w: no card number: %w", ErrBadCard, payment.ErrNotCharged)
	}
	if err := payment.CheckPayMethod(c.spec.Type, req.Method, req.PaymentMethod); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConnectorConfig, err)
	}
	key := req.IdempotencyKey
	if key == "" {
		key = newID("pb_")
	}
	method := req.MethodOf()
	if c.api.paysIntoSession() && req.SessionID == "" {
		// Start the session first so the attempt record names it: Reconcile looks it up there.
		sess, err := c.api.startSession(ctx, &payment.SessionRequest{CallID: req.CallID, Amount: req.Amount, Reference: req.Reference, Invoice: req.Invoice})
		if err != nil {
			// No session, no payment: nothing can have been charged.
			return nil, fmt.Errorf("%w: %w", err, payment.ErrNotCharged)
		}
		r := *req // copies the buffer pointers, not the digits
		r.SessionID = sess.ID
		req = &r
	}
	retried := false
	if c.attempts != nil {
		a := &Attempt{Key: key, CallID: req.CallID, Connector: c.spec.Name, ConnectorKey: c.key, Channel: req.Channel, ConnectorType: c.spec.Type,
			Method: method, PaymentMethod: req.PaymentMethod, SessionID: req.SessionID, AmountMinor: req.Amount.Minor,
			Currency: req.Amount.Currency, Reference: req.Reference, MaskedCard: req.Card.Number.Mask(),
			CardBrand: req.Card.Brand, State: AttemptPending, CreatedAt: c.now()}
		if req.IsBank() {
			a.MaskedCard, a.CardBrand, a.MaskedAccount = "", "", req.Bank.AccountNumber.MaskAccount()
		}
		old, err := c.attempts.BeginAttempt(ctx, a)
		switch {
		case errors.Is(err, ErrDuplicate) && old != nil && old.State == AttemptFailed:
			// It ended without charging (refused outright, or never received and settled so):
			// the same key charges nothing now either, so a route may go on to its next
			// connector — where a retried link submission finds its earlier attempt.
			return nil, fmt.Errorf("%w: attempt %s already ended %s: %s: %w", ErrProviderRejected, key, old.State,
				old.Result.ErrorMessage, payment.ErrNotCharged)
		case errors.Is(err, ErrDuplicate) && old != nil && old.State == AttemptUnknown:
			return nil, fmt.Errorf("%w: attempt %s already ended %s: %s", ErrProviderRejected, key, old.State, old.Result.ErrorMessage)
		case errors.Is(err, ErrDuplicate) && old != nil && old.State.Final():
			return resultFromAttempt(old), nil
		case errors.Is(err, ErrDuplicate):
			// Pending under the same key (an earlier try got no answer). Ask the provider
			// first: if it has the attempt, that is the answer, whatever card comes now.
			retried = true
			if old != nil {
				if r, found, lerr := c.api.lookup(ctx, old); lerr == nil && found {
					if werr := c.attempts.CompleteAttempt(context.WithoutCancel(ctx), key, r); werr != nil {
						c.logAttemptError("recording the outcome the provider reported", key, werr)
					}
					old.State, old.Result = r.State, r
					if r.SessionID != "" {
						old.SessionID = r.SessionID
					}
					return resultFromAttempt(old), nil
				}
			}
			// Not received (or the API cannot say): send again with the same key; it dedupes.
		case err != nil:
			return nil, fmt.Errorf("gateway: recording the attempt before paying: %w", err)
		}
	}
	res, err := c.api.pay(ctx, req, key)
	if err != nil && req.Settle {
		res, err = c.settle(ctx, req, key, err)
		if res != nil || errors.Is(err, payment.ErrNotCharged) {
			return res, err // settle recorded the outcome
		}
	}
	if c.attempts != nil {
		// Record the outcome even if the caller has gone: the money moved either way.
		wctx := context.WithoutCancel(ctx)
		if err != nil {
			if errors.Is(err, ErrProviderRejected) {
				st := AttemptFailed
				if retried && !c.api.canLookup() {
					// An earlier try of this key may have been charged and nobody can ask.
					st = AttemptUnknown
				}
				if werr := c.attempts.CompleteAttempt(wctx, key, AttemptResult{State: st, ErrorMessage: err.Error()}); werr != nil {
					c.logAttemptError("recording a refused payment", key, werr)
				}
			} else if werr := c.attempts.NoteAttemptError(wctx, key, err.Error()); werr != nil {
				c.logAttemptError("noting a connector error on a pending payment", key, werr)
			}
		} else {
			st := AttemptApproved
			if res.Status == payment.Declined {
				st = AttemptDeclined
			}
			if werr := c.attempts.CompleteAttempt(wctx, key, AttemptResult{State: st, SessionID: res.SessionID,
				ConfirmationCode: res.ConfirmationCode, Token: res.Token, ErrorCode: res.ErrorCode,
				ErrorMessage: res.ErrorMessage, ProviderStatus: res.ProviderStatus}); werr != nil {
				c.logAttemptError("recording a payment outcome", key, werr)
			}
		}
	}
	return res, err
}

// logAttemptError reports a failed write to the attempt log. The payment itself is not
// affected: an attempt whose outcome was not recorded stays pending, and Reconcile resolves it
// with the provider later.
func (c *Connector) logAttemptError(what, key string, err error) {
	c.log.Error(what+" in the attempt log failed; reconcile will resolve it", "connector", c.spec.Name,
		"key", key, "error", err)
}

// settle establishes, for a payment that may go on to another connector, whether the
// provider took it (docs/gateway.md, routing): a request that never reached the provider, or
// that it refused outright, took nothing; otherwise the provider is asked by the idempotency
// key, and when it has no such payment the session is fenced so a late request cannot take
// one either. It returns the provider's answer, an error wrapping payment.ErrNotCharged, or
// perr when the outcome stays unknown (the attempt is then left pending for Reconcile).
func (c *Connector) settle(ctx context.Context, req *payment.Request, key string, perr error) (*payment.Result, error) {
	wctx := context.WithoutCancel(ctx)
	notCharged := func(why string) (*payment.Result, error) {
		if c.attempts != nil {
			if werr := c.attempts.CompleteAttempt(wctx, key, AttemptResult{State: AttemptFailed, ErrorCode: "not_received",
				ErrorMessage: pan.Redact(why + ": " + perr.Error())}); werr != nil && !errors.Is(werr, ErrDuplicate) {
				c.logAttemptError("recording a payment the provider did not take", key, werr)
			}
		}
		if errors.Is(perr, payment.ErrNotCharged) {
			return nil, perr
		}
		return nil, fmt.Errorf("%w: %w", perr, payment.ErrNotCharged)
	}
	switch {
	case errors.Is(perr, payment.ErrNotCharged), errors.Is(perr, ErrNotReceived):
		return notCharged("never received")
	case errors.Is(perr, ErrProviderRejected), errors.Is(perr, ErrUnauthorized), errors.Is(perr, ErrConnectorConfig):
		return notCharged("refused by the provider")
	case !c.api.canLookup():
		return nil, perr
	}
	a := &Attempt{Key: key, CallID: req.CallID, SessionID: req.SessionID}
	r, found, err := c.api.lookup(wctx, a)
	if err == nil && !found {
		f, ok := c.api.(fencer)
		if !ok {
			return nil, perr // the provider cannot promise a late request will not charge
		}
		r, found, err = f.fence(wctx, a)
		if err == nil && !found {
			return notCharged("not received, and the session was cancelled")
		}
	}
	if err != nil {
		return nil, perr
	}
	if c.attempts != nil {
		if werr := c.attempts.CompleteAttempt(wctx, key, r); werr != nil {
			c.logAttemptError("recording the outcome the provider reported", key, werr)
		}
	}
	return resultFromAttempt(&Attempt{State: r.State, SessionID: r.SessionID, Result: r}), nil
}

func resultFromAttempt(a *Attempt) *payment.Result {
	st := payment.Approved
	if a.State != AttemptApproved {
		st = payment.Declined
	}
	return &payment.Result{Status: st, SessionID: a.SessionID, ConfirmationCode: a.Result.ConfirmationCode,
		Token: a.Result.Token, ErrorCode: a.Result.ErrorCode, ErrorMessage: a.Result.ErrorMessage,
		ProviderStatus: a.Result.ProviderStatus}
}

// ConnectorError names a connector error for $(Pay.ConnectorError): timeout, unavailable,
// network, unauthorized, rejected, bad-response, token, config or internal.
func ConnectorError(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrProviderTimeout), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, ErrTokenFetch):
		return "token"
	case errors.Is(err, ErrProviderUnavailable):
		return "unavailable"
	case errors.Is(err, ErrProviderNetwork):
		return "network"
	case errors.Is(err, ErrUnauthorized):
		return "unauthorized"
	case errors.Is(err, ErrProviderRejected):
		return "rejected"
	case errors.Is(err, ErrBadResponse):
		return "bad-response"
	case errors.Is(err, ErrConnectorConfig), errors.Is(err, ErrUnknownConnectorType):
		return "config"
	}
	return "internal"
}
