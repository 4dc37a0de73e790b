package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
)

// The documented test cards, through every connector type, over HTTP to a real sandbox.
func TestConnectorsTestCards(t *testing.T) {
	cases := []struct {
		pan, cvc string
		status   payment.Status
		code     string
	}{
		{"4242424242424242", "123", payment.Approved, ""},
		{"5555555555554444", "123", payment.Approved, ""},
		{"2223003122003222", "123", payment.Approved, ""},
		{"378282246310005", "1234", payment.Approved, ""},
		{"6011111111111117", "123", payment.Approved, ""}, // any other Luhn-valid number
		{"4000000000000002", "123", payment.Declined, sandbox.CodeCardDeclined},
		{"4000000000009995", "123", payment.Declined, sandbox.CodeInsufficientFunds},
		{"4000000000000069", "123", payment.Declined, sandbox.CodeExpiredCard},
		{"4000000000000127", "123", payment.Declined, sandbox.CodeIncorrectCVC},
		{"4000000000000119", "123", payment.Declined, sandbox.CodeProcessingError},
		{"4242424242424241", "123", payment.Declined, sandbox.CodeIncorrectNumber},
		{"378282246310005", "123", payment.Declined, sandbox.CodeIncorrectCVC}, // amex needs 4
	}
	for _, typ := range []string{"session", "generic", "stripe"} {
		t.Run(typ, func(t *testing.T) {
			e := newEnv(t, sandbox.Config{})
			c := e.open(t, typ)
			for i, tc := range cases {
				req := &payment.Request{CallID: fmt.Sprintf("call-%d", i), IdempotencyKey: fmt.Sprintf("%s-key-%d", typ, i),
					Amount: payment.Amount{Minor: 1234, Currency: "GBP"}, Reference: "12345678", Card: card(t, tc.pan, tc.cvc)}
				res, err := c.Pay(context.Background(), req)
				if err != nil {
					t.Fatalf("card %d: Pay: %v", i, err)
				}
				if res.Status != tc.status || res.ErrorCode != tc.code {
					t.Errorf("card %d (%s…): got %s/%q, want %s/%q", i, tc.pan[:6], res.Status, res.ErrorCode, tc.status, tc.code)
				}
				if res.Status == payment.Approved && res.ConfirmationCode == "" {
					t.Errorf("card %d: approved without a confirmation code", i)
				}
				a, err := e.store.GetAttempt(context.Background(), req.IdempotencyKey)
				if err != nil {
					t.Fatalf("attempt not logged: %v", err)
				}
				want := AttemptApproved
				if tc.status == payment.Declined {
					want = AttemptDeclined
				}
				if a.State != want || a.MaskedCard != req.Card.Number.Mask() {
					t.Errorf("card %d: attempt %s %q, want %s and the mask", i, a.State, a.MaskedCard, want)
				}
			}
			// Every approved charge is in the sandbox ledger once, under its key.
			seen := map[string]int{}
			for _, ch := range e.sb.Ledger() {
				seen[ch.IdempotencyKey]++
				if ch.Last4 == "" || len(ch.Last4) != 4 {
					t.Errorf("ledger entry without last4: %+v", ch)
				}
			}
			for k, n := range seen {
				if n != 1 {
					t.Errorf("key %s charged %d times", k, n)
				}
			}
			assertNoPAN(t, "logs", e.logs.String())
			assertNoPAN(t, "events", fmt.Sprint(e.events.ev))
			assertNoPAN(t, "attempts", fmt.Sprintf("%+v", e.store.Attempts()))
		})
	}
}

func TestConnectorTokenize(t *testing.T) {
	for _, typ := range []string{"session", "generic", "stripe"} {
		t.Run(typ, func(t *testing.T) {
			e := newEnv(t, sandbox.Config{})
			c := e.open(t, typ)
			res, err := c.Pay(context.Background(), &payment.Request{CallID: "c1", IdempotencyKey: "tok-1",
				Amount: payment.Amount{Currency: "GBP"}, TokenType: "reusable", Card: card(t, "4242424242424242", "123")})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != payment.Approved || res.Token == "" {
				t.Fatalf("tokenize: %+v", res)
			}
			if n := len(e.sb.Ledger()); n != 0 {
				t.Fatalf("tokenizing charged: %d ledger entries", n)
			}
		})
	}
}

// The VCC session flow: start a voice session, capture into it, read its state.
func TestSessionConnectorFlow(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	c := e.open(t, "session")
	ctx := context.Background()
	s, err := c.StartSession(ctx, &payment.SessionRequest{CallID: "call-7", Amount: payment.Amount{Minor: 1234, Currency: "GBP"}, Reference: "12345678"})
	if err != nil || s.ID == "" || s.State != SessionCreated {
		t.Fatalf("StartSession: %+v %v", s, err)
	}
	// A retried create (same call, amount, reference) finds the same session.
	s2, err := c.StartSession(ctx, &payment.SessionRequest{CallID: "call-7", Amount: payment.Amount{Minor: 1234, Currency: "GBP"}, Reference: "12345678"})
	if err != nil || s2.ID != s.ID {
		t.Fatalf("repeated StartSession gave %v (%v), want %s", s2, err, s.ID)
	}
	res, err := c.Pay(ctx, &payment.Request{CallID: "call-7", SessionID: s.ID, IdempotencyKey: "k1",
		Amount: payment.Amount{Minor: 1234, Currency: "GBP"}, Card: card(t, "4000000000000002", "123")})
	if err != nil || res.Status != payment.Declined || res.SessionID != s.ID {
		t.Fatalf("declined capture: %+v %v", res, err)
	}
	res, err = c.Pay(ctx, &payment.Request{CallID: "call-7", SessionID: s.ID, IdempotencyKey: "k2",
		Amount: payment.Amount{Minor: 1234, Currency: "GBP"}, Card: card(t, "4242424242424242", "123")})
	if err != nil || res.Status != payment.Approved {
		t.Fatalf("approved capture: %+v %v", res, err)
	}
	st, err := c.StartSession(ctx, &payment.SessionRequest{SessionID: s.ID})
	if err != nil || st.State != SessionCompleted {
		t.Fatalf("session state: %+v %v", st, err)
	}
	// A later capture into the completed session is a decline naming why.
	res, err = c.Pay(ctx, &payment.Request{CallID: "call-7", SessionID: s.ID, IdempotencyKey: "k3",
		Amount: payment.Amount{Minor: 1234, Currency: "GBP"}, Card: card(t, "4242424242424242", "123")})
	if err != nil || res.Status != payment.Declined || res.ErrorCode != "session_completed" {
		t.Fatalf("capture into completed session: %+v %v", res, err)
	}
	if n := e.sb.Stats().TokenRequests; n != 1 {
		t.Errorf("token requests = %d, want 1 (cached)", n)
	}
}

// Many goroutines needing a token at once share one refresh.
func TestTokenSingleRefreshUnderConcurrency(t *testing.T) {
	e := newEnv(t, sandbox.Config{Faults: sandbox.Faults{Latency: 50 * time.Millisecond}})
	c := e.open(t, "session")
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.Authorize(context.Background())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.sb.Stats().TokenRequests; n != 1 {
		t.Fatalf("token requests = %d, want exactly 1", n)
	}
	// Concurrent payments after invalidation also share one refresh.
	c.Tokens().Invalidate("")
	var pw sync.WaitGroup
	for i := 0; i < 20; i++ {
		pw.Add(1)
		go func() {
			defer pw.Done()
			res, err := c.Pay(context.Background(), &payment.Request{CallID: fmt.Sprintf("cc-%d", i),
				IdempotencyKey: fmt.Sprintf("ck-%d", i), Amount: payment.Amount{Minor: 100, Currency: "GBP"},
				Card: card(t, "4242424242424242", "123")})
			if err != nil || res.Status != payment.Approved {
				t.Errorf("pay %d: %+v %v", i, res, err)
			}
		}()
	}
	pw.Wait()
	if n := e.sb.Stats().TokenRequests; n != 2 {
		t.Fatalf("token requests = %d, want 2", n)
	}
}

// A token that stops working (expiry after N uses) is dropped on 401 and the request is
// retried once with a fresh token and the same idempotency key.
func TestTokenRefusedRetriesOnceSameKey(t *testing.T) {
	e := newEnv(t, sandbox.Config{Faults: sandbox.Faults{TokenMaxUses: 2}})
	c := e.open(t, "session")
	for i := 0; i < 5; i++ {
		res, err := c.Pay(context.Background(), &payment.Request{CallID: fmt.Sprintf("c%d", i),
			IdempotencyKey: fmt.Sprintf("k%d", i), Amount: payment.Amount{Minor: 500, Currency: "GBP"},
			Card: card(t, "4242424242424242", "123")})
		if err != nil || res.Status != payment.Approved {
			t.Fatalf("pay %d: %+v %v", i, res, err)
		}
	}
	if got := len(e.sb.Ledger()); got != 5 {
		t.Fatalf("ledger has %d charges, want 5", got)
	}
	if n := e.sb.Stats().TokenRequests; n < 3 {
		t.Fatalf("token requests = %d: the refused token was not refreshed", n)
	}
}

func TestWrongClientSecretIsTokenError(t *testing.T) {
	e := newEnv(t, sandbox.Config{Clients: map[string]string{"id": "right"}})
	c := e.open(t, "session")
	err := c.Authorize(context.Background())
	if !errors.Is(err, ErrTokenFetch) || ConnectorError(err) != "token" {
		t.Fatalf("Authorize with a wrong secret: %v", err)
	}
	_, err = c.Pay(context.Background(), &payment.Request{CallID: "c", IdempotencyKey: "k",
		Amount: payment.Amount{Minor: 1, Currency: "GBP"}, Card: card(t, "4242424242424242", "123")})
	if !errors.Is(err, ErrTokenFetch) {
		t.Fatalf("Pay with a wrong secret: %v", err)
	}
	if len(e.sb.Ledger()) != 0 {
		t.Fatal("charged without a token")
	}
}

// Injected faults: retries happen only where idempotent, and never charge twice.
func TestFaultsRetryWithoutDoubleCharge(t *testing.T) {
	cases := []struct {
		name    string
		faults  sandbox.Faults
		wantErr error
		charges int
	}{
		{"two 503s then success", sandbox.Faults{FailFirst: 2}, nil, 1},
		{"answer lost after commit", sandbox.Faults{LoseFirst: 1}, nil, 1},
		{"hang then success", sandbox.Faults{HangFirst: 1, HangFor: 5 * time.Second}, nil, 1},
		{"always 503", sandbox.Faults{FailFirst: 10}, ErrProviderUnavailable, 0},
		{"every answer lost", sandbox.Faults{LoseFirst: 10}, ErrProviderUnavailable, 1},
		{"always hangs", sandbox.Faults{HangFirst: 10, HangFor: 5 * time.Second}, ErrProviderTimeout, 0},
	}
	for _, typ := range []string{"session", "generic", "stripe"} {
		for _, tc := range cases {
			t.Run(typ+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t, sandbox.Config{})
				e.cs.cfg.Timeout = 300 * time.Millisecond
				c := e.open(t, typ)
				if err := c.Authorize(context.Background()); err != nil {
					t.Fatal(err)
				}
				f := tc.faults
				f.Paths = []string{"/globalpci/v1/session/", "/generic", "/v1/charges"}
				e.sb.SetFaults(f)
				res, err := c.Pay(context.Background(), &payment.Request{CallID: "c", IdempotencyKey: "key-1",
					SessionID: "", Amount: payment.Amount{Minor: 999, Currency: "GBP"}, Card: card(t, "4242424242424242", "123")})
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("err = %v, want %v", err, tc.wantErr)
					}
					a, _ := e.store.GetAttempt(context.Background(), "key-1")
					if a == nil || a.State != AttemptPending || a.LastError == "" {
						t.Fatalf("attempt after a connector error: %+v (want pending with the error)", a)
					}
				} else if err != nil || res.Status != payment.Approved {
					t.Fatalf("Pay: %+v %v", res, err)
				}
				n := 0
				for _, ch := range e.sb.Ledger() {
					if ch.Status == "succeeded" {
						n++
					}
				}
				if n != tc.charges {
					t.Fatalf("%d succeeded charges, want %d", n, tc.charges)
				}
			})
		}
	}
}

// An attempt already completed is answered from the log, without calling the provider.
func TestPayReplaysCompletedAttempt(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	c := e.open(t, "stripe")
	req := &payment.Request{CallID: "c", IdempotencyKey: "same", Amount: payment.Amount{Minor: 700, Currency: "USD"},
		Card: card(t, "5555555555554444", "123")}
	r1, err := c.Pay(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	before := e.sb.Stats().Requests["POST /v1/charges"]
	r2, err := c.Pay(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if r1.ConfirmationCode != r2.ConfirmationCode || e.sb.Stats().Requests["POST /v1/charges"] != before {
		t.Fatalf("second Pay with the same key: %+v vs %+v", r1, r2)
	}
}

func TestOpenValidatesSpecs(t *testing.T) {
	cs := NewConnectors(ConnectorsConfig{SandboxURL: "http://127.0.0.1:1"})
	cases := []struct {
		spec payment.ConnectorSpec
		want error
	}{
		{payment.ConnectorSpec{Name: "x", Type: "paypal", BaseURL: "sandbox"}, ErrUnknownConnectorType},
		// Off the sandbox every credential is required (payment.CheckConnector)…
		{payment.ConnectorSpec{Name: "x", Type: "session", BaseURL: "https://pay.example.com"}, ErrConnectorConfig},
		{payment.ConnectorSpec{Name: "x", Type: "session", BaseURL: "https://pay.example.com", Account: "a"}, ErrConnectorConfig},
		{payment.ConnectorSpec{Name: "x", Type: "generic", BaseURL: "https://pay.example.com"}, ErrConnectorConfig},
		{payment.ConnectorSpec{Name: "x", Type: "stripe", BaseURL: "https://pay.example.com"}, ErrConnectorConfig},
		{payment.ConnectorSpec{Name: "x", Type: "stripe", BaseURL: "http://pay.example.com", APIKey: "sk_x"}, ErrConnectorConfig},
		// … on it, none: the sandbox defaults stand in.
		{payment.ConnectorSpec{Name: "x", Type: "session", BaseURL: "sandbox"}, nil},
		{payment.ConnectorSpec{Name: "y", Type: "generic", BaseURL: "sandbox"}, nil},
		{payment.ConnectorSpec{Name: "z", Type: "stripe", BaseURL: "sandbox"}, nil},
		{payment.ConnectorSpec{Name: "w", BaseURL: "sandbox"}, nil},
		{payment.ConnectorSpec{Name: "x", Type: "stripe", BaseURL: "ftp://h", APIKey: "sk_x"}, ErrConnectorConfig},
		{payment.ConnectorSpec{Name: "", Type: "stripe", BaseURL: "sandbox", APIKey: "sk_x"}, ErrConnectorConfig},
	}
	for i, tc := range cases {
		if _, err := cs.Open(&tc.spec); !errors.Is(err, tc.want) {
			t.Errorf("case %d: %v, want %v", i, err, tc.want)
		}
	}
	if _, err := NewConnectors(ConnectorsConfig{}).Open(&payment.ConnectorSpec{Name: "s", Type: "stripe", BaseURL: "sandbox", APIKey: "sk_x"}); !errors.Is(err, ErrConnectorConfig) {
		t.Errorf("sandbox without SandboxURL: %v", err)
	}
}

func TestConnectorErrorNames(t *testing.T) {
	for err, want := range map[error]string{
		nil: "", ErrProviderTimeout: "timeout", fmt.Errorf("x: %w", ErrProviderUnavailable): "unavailable",
		ErrProviderNetwork: "network", ErrUnauthorized: "unauthorized", ErrProviderRejected: "rejected",
		ErrBadResponse: "bad-response", ErrTokenFetch: "token", ErrConnectorConfig: "config", errors.New("?"): "internal",
	} {
		if got := ConnectorError(err); got != want {
			t.Errorf("ConnectorError(%v) = %q, want %q", err, got, want)
		}
	}
}

// A session started by the plan (ApiInteraction, as in the VCC example) with one amount cannot
// be charged another; one started without an amount takes the Pay step's.
func TestSessionCaptureAmountMustMatch(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	c := e.open(t, "session")
	ctx := context.Background()
	s, err := c.StartSession(ctx, &payment.SessionRequest{CallID: "c", Amount: payment.Amount{Minor: 1234, Currency: "GBP"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Pay(ctx, &payment.Request{CallID: "c", SessionID: s.ID, IdempotencyKey: "k1",
		Amount: payment.Amount{Minor: 9999, Currency: "GBP"}, Card: card(t, "4242424242424242", "123")})
	if !errors.Is(err, ErrProviderRejected) || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("mismatched amount: %v", err)
	}
	s2, err := c.StartSession(ctx, &payment.SessionRequest{CallID: "c2", Amount: payment.Amount{Currency: "GBP"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Pay(ctx, &payment.Request{CallID: "c2", SessionID: s2.ID, IdempotencyKey: "k2",
		Amount: payment.Amount{Minor: 500, Currency: "GBP"}, Card: card(t, "4242424242424242", "123")})
	if err != nil || res.Status != payment.Approved {
		t.Fatalf("amountless session: %+v %v", res, err)
	}
	led := e.sb.Ledger()
	if len(led) != 1 || led[0].Amount != 500 {
		t.Fatalf("ledger %+v", led)
	}
}

// Tokens are reused until expiry minus the skew; a token living less than twice the skew is
// still reused for half its life instead of being fetched on every call.
func TestTokenReuseAndExpiry(t *testing.T) {
	for _, tc := range []struct {
		ttl     time.Duration
		wait    time.Duration
		fetches int
	}{
		{time.Hour, 0, 1},
		{2 * time.Second, 0, 1},                       // shorter than the 30s skew: reused for 1s
		{2 * time.Second, 1500 * time.Millisecond, 2}, // past half its life: refreshed
	} {
		e := newEnv(t, sandbox.Config{Faults: sandbox.Faults{TokenTTL: tc.ttl}})
		c := e.open(t, "session")
		for i := 0; i < 5; i++ {
			if err := c.Authorize(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(tc.wait)
		if err := c.Authorize(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := e.sb.Stats().TokenRequests; n != tc.fetches {
			t.Errorf("ttl %v, wait %v: %d token requests, want %d", tc.ttl, tc.wait, n, tc.fetches)
		}
	}
}

func TestPayWithKeyOfFailedAttempt(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	c := e.open(t, "stripe")
	ctx := context.Background()
	if _, err := e.store.BeginAttempt(ctx, &Attempt{Key: "gone", Connector: c.Name()}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.CompleteAttempt(ctx, "gone", AttemptResult{State: AttemptFailed, ErrorMessage: "HTTP 400"}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Pay(ctx, &payment.Request{CallID: "c", IdempotencyKey: "gone", Amount: payment.Amount{Minor: 1, Currency: "GBP"},
		Card: card(t, "4242424242424242", "123")})
	if !errors.Is(err, ErrProviderRejected) || len(e.sb.Ledger()) != 0 {
		t.Fatalf("re-pay of a failed attempt: %v, %d charges", err, len(e.sb.Ledger()))
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	var calls atomic.Int32
	var gap atomic.Int64
	var last atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UnixNano()
		if p := last.Swap(now); p != 0 {
			gap.Store(now - p)
		}
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte(`{"charge_id":"ch_1","error_code":null,"error_message":null}`))
	}))
	defer srv.Close()
	cs := NewConnectors(ConnectorsConfig{Backoff: time.Millisecond})
	c, err := cs.OpenConnector(&payment.ConnectorSpec{Name: "g", Type: "generic", BaseURL: srv.URL,
		BasicAuth: &payment.BasicAuth{Username: "u", Password: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Pay(context.Background(), &payment.Request{IdempotencyKey: "k", Amount: payment.Amount{Minor: 1, Currency: "GBP"},
		Card: card(t, "4242424242424242", "123")})
	if err != nil || res.Status != payment.Approved {
		t.Fatalf("%+v %v", res, err)
	}
	if g := time.Duration(gap.Load()); g < 900*time.Millisecond {
		t.Fatalf("retried after %v, Retry-After said 1s", g)
	}
}

// A request that is not idempotent (a session create without a call id to key it on) is sent
// once: a 503 is reported, not retried.
func TestNonIdempotentRequestNotRetried(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	c := e.open(t, "session")
	if err := c.Authorize(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.sb.SetFaults(sandbox.Faults{FailFirst: 5, Paths: []string{"/globalpci/v1/selfservicesession"}})
	_, err := c.StartSession(context.Background(), &payment.SessionRequest{Amount: payment.Amount{Minor: 1, Currency: "GBP"}})
	if !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("err %v", err)
	}
	if n := e.sb.Stats().Requests["POST /globalpci/v1/selfservicesession"]; n != 1 {
		t.Fatalf("sent %d times, want once", n)
	}
	// With a call id the create is keyed, so it is retried.
	e.sb.SetFaults(sandbox.Faults{FailFirst: 2, Paths: []string{"/globalpci/v1/selfservicesession"}})
	if _, err := c.StartSession(context.Background(), &payment.SessionRequest{CallID: "c", Amount: payment.Amount{Minor: 1, Currency: "GBP"}}); err != nil {
		t.Fatalf("keyed create: %v", err)
	}
}

// failingLog is an attempt log whose writes of outcomes and errors fail, as a full disk would.
type failingLog struct {
	AttemptLog
}

func (failingLog) CompleteAttempt(context.Context, string, AttemptResult) error {
	return errors.New("disk full")
}

func (failingLog) NoteAttemptError(context.Context, string, string) error {
	return errors.New("disk full")
}

// Every write to the attempt log that fails is logged with the attempt's key: none is dropped
// silently (the payment's outcome stands; reconciliation settles the record later).
func TestAttemptLogErrorsAreLogged(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	e.cs = NewConnectors(ConnectorsConfig{SandboxURL: e.srv.URL, Attempts: failingLog{e.store},
		Logger: newDebugLogger(e.logs), Backoff: time.Millisecond, Timeout: 2 * time.Second})
	c := e.open(t, "stripe")
	ctx := context.Background()
	pay := func(key string) (*payment.Result, error) {
		return c.Pay(ctx, &payment.Request{CallID: "c", IdempotencyKey: key,
			Amount: payment.Amount{Minor: 100, Currency: "GBP"}, Card: card(t, "4242424242424242", "123")})
	}
	logged := func(what, key string) {
		t.Helper()
		for _, line := range strings.Split(e.logs.String(), "\n") {
			if strings.Contains(line, what+" in the attempt log failed") && strings.Contains(line, "key="+key) &&
				strings.Contains(line, "disk full") {
				return
			}
		}
		t.Errorf("no log line for %q of %s:\n%s", what, key, e.logs.String())
	}

	// No answer: the connector error could not be noted on the pending attempt.
	e.sb.SetFaults(sandbox.Faults{FailFirst: 10, Paths: []string{"/v1/charges"}})
	if _, err := pay("unavailable"); !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("err = %v", err)
	}
	logged("noting a connector error on a pending payment", "unavailable")

	// A refusal: the failed outcome could not be recorded.
	e.sb.SetFaults(sandbox.Faults{FailFirst: 1, FailStatus: 400, Paths: []string{"/v1/charges"}})
	if _, err := pay("refused"); !errors.Is(err, ErrProviderRejected) {
		t.Fatalf("err = %v", err)
	}
	logged("recording a refused payment", "refused")

	// Answers lost after the charge: the attempt stays pending; the next try finds the charge
	// at the provider, and that outcome could not be recorded.
	e.sb.SetFaults(sandbox.Faults{LoseFirst: 10, Paths: []string{"/v1/charges"}})
	if _, err := pay("lost"); err == nil {
		t.Fatal("a lost answer was taken for one")
	}
	e.sb.SetFaults(sandbox.Faults{})
	if res, err := pay("lost"); err != nil || res.Status != payment.Approved {
		t.Fatalf("retry of a lost answer: %+v %v", res, err)
	}
	logged("recording the outcome the provider reported", "lost")

	// An answer: its outcome could not be recorded.
	if res, err := pay("answered"); err != nil || res.Status != payment.Approved {
		t.Fatalf("pay: %+v %v", res, err)
	}
	logged("recording a payment outcome", "answered")
}
