package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TokenSource caches an OAuth2 client-credentials token and shares one refresh among all
// callers: while a fetch is in flight, every other caller waits for it instead of starting its
// own. A token is used until its expiry minus Skew; Invalidate drops a token the provider
// refused so the next caller fetches a fresh one.
type TokenSource struct {
	conf    clientcredentials.Config
	hc      *http.Client
	skew    time.Duration
	timeout time.Duration
	tries   int
	backoff time.Duration
	now     func() time.Time

	mu       sync.Mutex
	tok      *oauth2.Token
	got      time.Time // when tok was fetched
	inflight *tokenFetch
	fetches  atomic.Int64
}

type tokenFetch struct {
	done chan struct{}
	tok  *oauth2.Token
	err  error
}

// TokenSourceConfig configures a TokenSource.
type TokenSourceConfig struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scope        string
	HTTPClient   *http.Client  // default http.DefaultClient
	Skew         time.Duration // refresh this long before expiry (default 30s)
	Timeout      time.Duration // per token request (default 10s)
	Tries        int           // token requests before giving up on 5xx/network errors (default 3)
	Backoff      time.Duration // before the second try, doubling (default 200ms)
	Now          func() time.Time
}

// NewTokenSource returns a caching client-credentials token source.
func NewTokenSource(cfg TokenSourceConfig) *TokenSource {
	ts := &TokenSource{
		conf: clientcredentials.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.TokenURL,
			// The VCC and PCI Pal session APIs take the credentials in the form body.
			AuthStyle: oauth2.AuthStyleInParams,
		},
		hc: cfg.HTTPClient, skew: cfg.Skew, timeout: cfg.Timeout, tries: cfg.Tries,
		backoff: cfg.Backoff, now: cfg.Now,
	}
	if cfg.Scope != "" {
		ts.conf.Scopes = []string{cfg.Scope}
	}
	if ts.hc == nil {
		ts.hc = http.DefaultClient
	}
	if ts.skew == 0 {
		ts.skew = 30 * time.Second
	}
	if ts.timeout == 0 {
		ts.timeout = 10 * time.Second
	}
	if ts.tries == 0 {
		ts.tries = 3
	}
	if ts.backoff == 0 {
		ts.backoff = 200 * time.Millisecond
	}
	if ts.now == nil {
		ts.now = time.Now
	}
	return ts
}

// Fetches counts the token requests this source has made (for tests and metrics).
func (ts *TokenSource) Fetches() int64 { return ts.fetches.Load() }

// valid reports whether t may still be used (caller holds mu): until its expiry minus the skew,
// the skew being at most half the token's lifetime so short-lived tokens are still reused.
func (ts *TokenSource) valid(t *oauth2.Token) bool {
	if t == nil || t.AccessToken == "" {
		return false
	}
	if t.Expiry.IsZero() {
		return true
	}
	skew := min(ts.skew, t.Expiry.Sub(ts.got)/2)
	return ts.now().Add(skew).Before(t.Expiry)
}

// Token returns a cached token or fetches one, sharing the fetch with concurrent callers.
func (ts *TokenSource) Token(ctx context.Context) (*oauth2.Token, error) {
	ts.mu.Lock()
	if ts.valid(ts.tok) {
		t := ts.tok
		ts.mu.Unlock()
		return t, nil
	}
	f := ts.inflight
	if f == nil {
		f = &tokenFetch{done: make(chan struct{})}
		ts.inflight = f
		// The fetch outlives the caller that started it: others are waiting for it.
		go ts.fetch(context.WithoutCancel(ctx), f)
	}
	ts.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrTokenFetch, ctx.Err())
	}
}

func (ts *TokenSource) fetch(ctx context.Context, f *tokenFetch) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, ts.hc)
	var tok *oauth2.Token
	var err error
	for try := 1; try <= ts.tries; try++ {
		if try > 1 {
			time.Sleep(ts.backoff << (try - 2))
		}
		ts.fetches.Add(1)
		tctx, cancel := context.WithTimeout(ctx, ts.timeout)
		tok, err = ts.conf.Token(tctx)
		cancel()
		if err == nil || !retryableTokenError(err) {
			break
		}
	}
	if err != nil {
		err = fmt.Errorf("%w: %s", ErrTokenFetch, describeTokenError(err))
		tok = nil
	}
	ts.mu.Lock()
	if err == nil {
		ts.tok, ts.got = tok, ts.now()
	}
	ts.inflight = nil
	ts.mu.Unlock()
	f.tok, f.err = tok, err
	close(f.done)
}

// retryableTokenError: 5xx, 429 and transport errors; a 4xx (bad client) is final.
func retryableTokenError(err error) bool {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode >= 500 || re.Response.StatusCode == http.StatusTooManyRequests
	}
	return true
}

// describeTokenError names the failure without echoing the provider's body.
func describeTokenError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		if re.ErrorCode != "" {
			return fmt.Sprintf("HTTP %d %s", re.Response.StatusCode, re.ErrorCode)
		}
		return fmt.Sprintf("HTTP %d", re.Response.StatusCode)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return "token endpoint unreachable"
}

// Invalidate drops the cached token if it is access (a refused token); it reports true so the
// caller retries once with a fresh token.
func (ts *TokenSource) Invalidate(access string) bool {
	ts.mu.Lock()
	if ts.tok != nil && (access == "" || ts.tok.AccessToken == access) {
		ts.tok = nil
	}
	ts.mu.Unlock()
	return true
}

// oauthAuth adapts a TokenSource to the doer's authorizer.
type oauthAuth struct{ ts *TokenSource }

func (a oauthAuth) apply(ctx context.Context, r *http.Request) (string, error) {
	t, err := a.ts.Token(ctx)
	if err != nil {
		return "", err
	}
	r.Header.Set("Authorization", "Bearer "+t.AccessToken)
	return t.AccessToken, nil
}

func (a oauthAuth) invalidate(cred string) bool { return a.ts.Invalidate(cred) }
