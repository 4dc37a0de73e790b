package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net"
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

// burstEnv is a sandbox behind a server that counts the connections it accepts and holds each
// session create until the whole burst has arrived, so that a burst's requests are in flight
// together however fast the machine is.
type burstEnv struct {
	srv   *httptest.Server
	c     *Connector
	dials atomic.Int64
	mu    sync.Mutex
	size  int
	came  int
	all   chan struct{}
}

func newBurstEnv(t testing.TB, size int, cs func(url string) *Connectors) *burstEnv {
	t.Helper()
	e := &burstEnv{size: size, all: make(chan struct{})}
	sb := sandbox.New(sandbox.Config{Logger: slog.New(slog.DiscardHandler)})
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/selfservicesession") {
			e.mu.Lock()
			all := e.all
			if e.came++; e.came == e.size {
				close(all)
				e.came, e.all = 0, make(chan struct{})
			}
			e.mu.Unlock()
			select {
			case <-all:
			case <-time.After(10 * time.Second): // a burst that never completes fails below
			}
		}
		sb.ServeHTTP(w, r)
	}))
	e.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			e.dials.Add(1)
		}
	}
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	c, err := cs(e.srv.URL).OpenConnector(&payment.ConnectorSpec{Name: "p", Type: "session", BaseURL: "sandbox", Account: "acct-1",
		ClientCredentials: &payment.ClientCredentials{ClientID: "id", ClientSecret: "secret", Scope: "globalpci"}})
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	return e
}

// burst starts e.size sessions at once and returns the connections the provider accepted
// meanwhile.
func (e *burstEnv) burst(t testing.TB, round int) int64 {
	t.Helper()
	before := e.dials.Load()
	var wg sync.WaitGroup
	errs := make(chan error, e.size)
	for i := range e.size {
		wg.Go(func() {
			_, err := e.c.StartSession(context.Background(), &payment.SessionRequest{CallID: fmt.Sprintf("burst-%d-%d", round, i),
				Amount: payment.Amount{Minor: 999, Currency: "GBP"}, Reference: "r"})
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return e.dials.Load() - before
}

// TestProviderConnectionsKeptForBursts: the default provider client keeps its connections to
// a provider for the next burst of concurrent requests. net/http's default transport keeps two
// idle connections per host; it dialled (and closed) a connection for every request of a
// burst but two.
func TestProviderConnectionsKeptForBursts(t *testing.T) {
	const size = 48
	e := newBurstEnv(t, size, func(url string) *Connectors {
		return NewConnectors(ConnectorsConfig{SandboxURL: url, Timeout: 20 * time.Second})
	})
	first := e.burst(t, 0)
	if first < size {
		t.Fatalf("the first burst of %d concurrent requests made %d connections: the test's barrier does not hold them together", size, first)
	}
	// The pool is refilled by net/http's connection goroutines just after each answer is
	// read, so a few dials may race the next burst; a pool of two dials ~46 a burst.
	again := e.burst(t, 1) + e.burst(t, 2)
	if again > size/4 {
		t.Errorf("two more bursts of %d made %d new connections: the provider client does not keep its connections", size, again)
	}
	t.Logf("connections: %d for the first burst, %d for the next two", first, again)
}

// BenchmarkSessionStartBurst starts sessions in bursts of 64 concurrent requests against one
// provider host: the default provider client (pool) against net/http's default transport
// (default2, two idle connections per host). It reports the connections dialled per session.
//
//	go test ./gateway -run '^$' -bench SessionStartBurst -count 6
func BenchmarkSessionStartBurst(b *testing.B) {
	const size = 64
	for _, tc := range []struct {
		name string
		hc   *http.Client
	}{{"pool", nil}, {"default2", &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}} {
		b.Run(tc.name, func(b *testing.B) {
			e := newBurstEnv(b, size, func(url string) *Connectors {
				return NewConnectors(ConnectorsConfig{SandboxURL: url, HTTPClient: tc.hc, Timeout: 20 * time.Second})
			})
			e.burst(b, -1) // the token, and the pool's first connections
			dials := e.dials.Load()
			n := 0
			b.ResetTimer()
			for b.Loop() {
				e.burst(b, n)
				n++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*size), "ns/session")
			b.ReportMetric(float64(e.dials.Load()-dials)/float64(n*size), "dials/session")
		})
	}
}
