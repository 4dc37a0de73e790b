package gateway

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/internal/testlog"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
)

// testPANs are the card numbers no output of paybridge may ever contain.
var testPANs = []string{"4242424242424242", "5555555555554444", "378282246310005", "2223003122003222",
	"4000000000000002", "4000000000009995"}

// secure builds a SecureBuffer from a digit string, as the Pay step would key it in.
func secure(t testing.TB, digits string) *pan.SecureBuffer {
	t.Helper()
	b := &pan.SecureBuffer{}
	for i := 0; i < len(digits); i++ {
		if err := b.Append(digits[i]); err != nil {
			t.Fatalf("append digit %d: %v", i, err)
		}
	}
	return b
}

// env is a running sandbox and a Connectors pointed at it, with every log line and event kept.
type env struct {
	sb     *sandbox.Provider
	srv    *httptest.Server
	cs     *Connectors
	store  *MemoryStore
	logs   *testlog.Buffer
	events *eventLog
}

type eventLog struct {
	mu sync.Mutex
	ev []event.Event
}

func (e *eventLog) Emit(ev event.Event) {
	e.mu.Lock()
	e.ev = append(e.ev, ev)
	e.mu.Unlock()
}

func newDebugLogger(w *testlog.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newEnv(t testing.TB, sc sandbox.Config) *env {
	t.Helper()
	logs := &testlog.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if sc.Logger == nil {
		sc.Logger = logger
	}
	sb := sandbox.New(sc)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	led := NewMemoryStore()
	ev := &eventLog{}
	cs := NewConnectors(ConnectorsConfig{SandboxURL: srv.URL, Attempts: led, Logger: logger, Events: ev,
		Backoff: 10 * time.Millisecond, Timeout: 2 * time.Second})
	return &env{sb: sb, srv: srv, cs: cs, store: led, logs: logs, events: ev}
}

func (e *env) open(t testing.TB, typ string) *Connector {
	t.Helper()
	spec := &payment.ConnectorSpec{Name: typ + "-conn", Type: typ, BaseURL: "sandbox", Account: "acct-1"}
	switch typ {
	case "session":
		spec.ClientCredentials = &payment.ClientCredentials{ClientID: "id", ClientSecret: "secret", Scope: "globalpci"}
	case "generic":
		spec.BasicAuth = &payment.BasicAuth{Username: "merchant", Password: "pw"}
	case "stripe":
		spec.APIKey = "sk_test_sandbox"
	}
	c, err := e.cs.OpenConnector(spec)
	if err != nil {
		t.Fatalf("open %s: %v", typ, err)
	}
	return c
}

// assertNoPAN fails if any test card number appears in out.
func assertNoPAN(t testing.TB, what, out string) {
	t.Helper()
	for _, p := range testPANs {
		if strings.Contains(out, p) {
			t.Fatalf("%s contains the card number %s…", what, p[:6])
		}
	}
}

func card(t testing.TB, pan, cvc string) payment.Card {
	c := payment.Card{Number: secure(t, pan), ExpMonth: 12, ExpYear: time.Now().Year() + 2, Brand: cardBrand([]byte(pan))}
	if cvc != "" {
		c.SecurityCode = secure(t, cvc)
	}
	return c
}
