package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/internal/cardsafe"
	"github.com/paybridge/paybridge/pan"
)

// maxResponse bounds a provider answer the connectors will read.
const maxResponse = 1 << 20

// authorizer adds a connector's credentials to a request.
type authorizer interface {
	// apply sets the Authorization header and returns the credential it used.
	apply(ctx context.Context, r *http.Request) (string, error)
	// invalidate drops a credential the provider refused (OAuth2 tokens only); it reports
	// whether a fresh one can be fetched, which makes one retry worthwhile.
	invalidate(cred string) bool
}

type noAuth struct{}

func (noAuth) apply(context.Context, *http.Request) (string, error) { return "", nil }
func (noAuth) invalidate(string) bool                               { return false }

type basicAuth struct{ user, pass string }

func (b basicAuth) apply(_ context.Context, r *http.Request) (string, error) {
	r.SetBasicAuth(b.user, b.pass)
	return "", nil
}
func (basicAuth) invalidate(string) bool { return false }

type bearerKey string

func (k bearerKey) apply(_ context.Context, r *http.Request) (string, error) {
	r.Header.Set("Authorization", "Bearer "+string(k))
	return "", nil
}
func (bearerKey) invalidate(string) bool { return false }

// apiRequest is one logical provider call, which doer may send several times.
type apiRequest struct {
	op          string // for logs and events: "token", "session.create", "capture", …
	callID      string
	method      string
	url         string
	contentType string
	body        []byte // may hold card digits: the caller zeroes it after do returns
	card        bool   // body holds card digits: sent by the doer's cardWire, never net/http
	idemKey     string // sent as Idempotency-Key when set
	idempotent  bool   // safe to send again after a timeout or 5xx
}

// apiResponse is the provider's final answer.
type apiResponse struct {
	status     int
	body       []byte
	retryAfter time.Duration // from a Retry-After header in seconds, 0 if none
}

// maxRetryAfter caps how long a provider's Retry-After may hold a payment.
const maxRetryAfter = 5 * time.Second

// doer sends provider requests with the connector's timeout, retry and auth rules.
type doer struct {
	name    string
	hc      *http.Client
	wire    *cardWire // sends the requests that carry card data
	auth    authorizer
	timeout time.Duration
	tries   int
	backoff time.Duration
	log     *slog.Logger
	events  event.Sink
}

// do sends req. It retries network errors, timeouts, 429 and 5xx only when req is idempotent,
// with exponential backoff; on 401 it drops the credential and retries once with a fresh one
// (same body, same idempotency key). Any answer other than those is returned as is, for the
// API to map; errors wrap ErrProviderTimeout, ErrProviderNetwork, ErrProviderUnavailable or
// ErrUnauthorized.
func (d *doer) do(ctx context.Context, req *apiRequest) (*apiResponse, error) {
	tries := 1
	if req.idempotent && d.tries > 1 {
		tries = d.tries
	}
	var lastErr error
	var retryAfter time.Duration
	reauthed := false
	reached := false // some try may have reached the provider
	defer func() {
		if reached && lastErr != nil && errors.Is(lastErr, ErrNotReceived) {
			// The last try could not connect, but an earlier one got through.
			lastErr = fmt.Errorf("%s: %w (an earlier try reached the provider)", req.op, ErrProviderNetwork)
		}
	}()
	for try := 1; try <= tries; try++ {
		if try > 1 {
			wait := max(d.backoff<<(try-2), retryAfter)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("%s: %w (after %v)", req.op, ctx.Err(), lastErr)
			case <-t.C:
			}
		}
		resp, cred, err := d.once(ctx, req)
		if err != nil {
			if !errors.Is(err, ErrNotReceived) && !errors.Is(err, ErrTokenFetch) {
				reached = true
			}
			if ctx.Err() != nil {
				if reached {
					return nil, fmt.Errorf("%s: %w", req.op, ctx.Err())
				}
				return nil, fmt.Errorf("%s: %w: %w", req.op, ctx.Err(), ErrNotReceived)
			}
			lastErr = err
			if errors.Is(err, ErrTokenFetch) {
				if !reached {
					return nil, fmt.Errorf("%w: %w", err, ErrNotReceived)
				}
				return nil, err
			}
			continue
		}
		reached = true
		switch {
		case resp.status == http.StatusUnauthorized:
			if !reauthed && d.auth.invalidate(cred) {
				reauthed = true
				try-- // the re-authorised send does not count as a retry
				continue
			}
			return nil, fmt.Errorf("%s: %w (HTTP 401)", req.op, ErrUnauthorized)
		case resp.status == http.StatusTooManyRequests || resp.status >= 500:
			lastErr = fmt.Errorf("%s: %w (HTTP %d)", req.op, ErrProviderUnavailable, resp.status)
			retryAfter = resp.retryAfter
			continue
		}
		return resp, nil
	}
	return nil, lastErr
}

// once sends req one time: through net/http, or through the doer's cardWire when the body
// holds card data.
func (d *doer) once(ctx context.Context, req *apiRequest) (*apiResponse, string, error) {
	tctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	var body io.Reader
	if req.body != nil && !req.card {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(tctx, req.method, req.url, body)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w: bad provider URL", req.op, ErrConnectorConfig)
	}
	if req.contentType != "" {
		hr.Header.Set("Content-Type", req.contentType)
	}
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", "paybridge")
	if req.idemKey != "" {
		hr.Header.Set("Idempotency-Key", req.idemKey)
	}
	cred, err := d.auth.apply(tctx, hr)
	if err != nil {
		return nil, "", err
	}
	start := time.Now()
	var out *apiResponse
	if req.card {
		out, err = d.sendCard(tctx, req, hr.Header)
	} else {
		out, err = d.sendHTTP(hr)
	}
	if err != nil {
		status := 0
		if out != nil {
			status = out.status
		}
		d.emit(req, status, start, "error")
		where := ""
		if out != nil {
			where = " reading the answer"
		}
		var ne net.Error
		switch {
		case errors.Is(err, ErrConnectorConfig):
			return nil, cred, fmt.Errorf("%s: %w: %w", req.op, err, ErrNotReceived)
		case out == nil && neverSent(err):
			return nil, cred, fmt.Errorf("%s: %w: %w", req.op, ErrProviderNetwork, ErrNotReceived)
		case tctx.Err() == context.DeadlineExceeded && ctx.Err() == nil:
			return nil, cred, fmt.Errorf("%s: %w after %v%s", req.op, ErrProviderTimeout, d.timeout, where)
		case errors.As(err, &ne) && ne.Timeout():
			return nil, cred, fmt.Errorf("%s: %w%s", req.op, ErrProviderTimeout, where)
		}
		return nil, cred, fmt.Errorf("%s: %w%s", req.op, ErrProviderNetwork, where)
	}
	d.emit(req, out.status, start, "")
	return out, cred, nil
}

// neverSent reports whether err shows that no connection to the provider was made (the dial
// failed), so no byte of the request can have reached it.
func neverSent(err error) bool {
	var ns *notSentError
	if errors.As(err, &ns) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) && (oe.Op == "dial" || oe.Op == "proxyconnect")
}

// notSentError marks a card-wire error that happened before the request was written.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// sendHTTP sends a request without card data through the HTTP client. An error with a non-nil
// answer means the status arrived but the body could not be read.
func (d *doer) sendHTTP(hr *http.Request) (*apiResponse, error) {
	resp, err := d.hc.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return &apiResponse{status: resp.StatusCode}, err
	}
	return newAPIResponse(resp.StatusCode, resp.Header, b), nil
}

// sendCard sends a request whose body holds card data through the doer's cardWire.
func (d *doer) sendCard(ctx context.Context, req *apiRequest, h http.Header) (*apiResponse, error) {
	var a *wireAnswer
	var err error
	secretDo(func() { a, err = d.wire.send(ctx, req.method, req.url, h, req.body) })
	if err != nil {
		return nil, err
	}
	return newAPIResponse(a.status, a.header, a.body), nil
}

func newAPIResponse(status int, h http.Header, body []byte) *apiResponse {
	out := &apiResponse{status: status, body: body}
	if secs, err := strconv.Atoi(h.Get("Retry-After")); err == nil && secs > 0 {
		out.retryAfter = min(time.Duration(secs)*time.Second, maxRetryAfter)
	}
	return out
}

// emit reports one provider request (never its body) to the logger and the event sink.
func (d *doer) emit(req *apiRequest, status int, start time.Time, errKind string) {
	dur := time.Since(start)
	d.log.Debug("provider call", "connector", d.name, "op", req.op, "status", status, "duration", dur, "error", errKind)
	if d.events != nil {
		d.events.Emit(event.Event{Time: time.Now(), CallID: req.callID, Data: &event.ConnectorRequest{
			Connector: d.name, Op: req.op, Status: status, DurationMS: dur.Milliseconds(), Error: errKind}})
	}
}

// cardBody assembles a request body from literal parts and secure buffers in one allocation of
// exactly the right size, so no intermediate copy of a card number is left behind by append.
// The caller zeroes the result (wipe) once the request has been sent.
type bodyPart struct {
	lit []byte
	sec *pan.SecureBuffer
}

func lit(s string) bodyPart            { return bodyPart{lit: []byte(s)} }
func litb(b []byte) bodyPart           { return bodyPart{lit: b} }
func sec(b *pan.SecureBuffer) bodyPart { return bodyPart{sec: b} }
func litInt(n int) bodyPart            { return bodyPart{lit: strconv.AppendInt(nil, int64(n), 10)} }
func litInt2(n int) bodyPart           { return lit(fmt.Sprintf("%02d", n)) }

func cardBody(parts ...bodyPart) []byte {
	n := 0
	for _, p := range parts {
		n += len(p.lit) + p.sec.Len()
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		if p.sec != nil {
			b = p.sec.AppendTo(b)
		} else {
			b = append(b, p.lit...)
		}
	}
	// The copies went through this thread's registers; the request may wait for a token
	// (and the goroutine move to another thread) before the card wire sends and wipes it.
	cardsafe.ClearRegisters()
	return b
}
