package replay

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/sandbox"
)

// Sandbox is the embedded sandbox provider serving on an ephemeral loopback port for the
// length of a replay, with the connectors and payment links that reach it over HTTP and an
// in-memory store (attempts, links, SMS outbox) behind them.
type Sandbox struct {
	URL        string // http://127.0.0.1:PORT
	Provider   *sandbox.Provider
	Store      *gateway.MemoryStore
	Connectors *gateway.Connectors
	Links      *gateway.Links
	Lifecycle  *gateway.Lifecycle // captures, voids and refunds over an in-memory ledger
	srv        *http.Server
	done       chan struct{}
}

// StartSandbox starts the sandbox provider on 127.0.0.1:0. Payment links go to the in-memory
// outbox (nothing leaves the machine) through the same SMS guard as serve: a link may go to the
// caller's own number or one the plan's lookups returned (LinkRequest.TrustedNumbers); the daily
// cap is lifted, since one replay run may replay the same caller many times.
//
// Faults are the sandbox's fault injection (sandbox.Faults), shared by every replay that uses
// this sandbox: counters such as FailFirst count down across inputs.
func StartSandbox(logger *slog.Logger, faults ...sandbox.Faults) (*Sandbox, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Sandbox{URL: "http://" + ln.Addr().String(), Store: gateway.NewMemoryStore(), done: make(chan struct{})}
	cfg := sandbox.Config{Logger: logger}
	if len(faults) > 0 {
		cfg.Faults = faults[0]
	}
	s.Provider = sandbox.New(cfg)
	mux := http.NewServeMux()
	s.Connectors = gateway.NewConnectors(gateway.ConnectorsConfig{SandboxURL: s.URL, Attempts: s.Store, Logger: logger,
		Backoff: 10 * time.Millisecond})
	s.Links = gateway.NewLinks(gateway.LinksConfig{BaseURL: s.URL, Store: s.Store, SMS: gateway.NewOutboxSender(s.Store),
		Connectors: s.Connectors, Guard: gateway.GuardConfig{DailyCap: 1_000_000}, Logger: logger})
	// The plan's <Capture>, <Void> and <Refund> as serve runs them, over a ledger in memory
	// (the payment is known from the Pay step of the same call).
	s.Lifecycle = gateway.NewLifecycle(gateway.LifecycleConfig{Ledger: gateway.NewMemoryLedger(), Connectors: s.Connectors, Logger: logger})
	mux.Handle("/pay/", s.Links)
	mux.Handle("/", s.Provider)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("sandbox stopped", "err", err)
		}
	}()
	return s, nil
}

// Addr is the sandbox's listen address: plan HTTP steps may always reach it.
func (s *Sandbox) Addr() netip.AddrPort {
	return netip.MustParseAddrPort(strings.TrimPrefix(s.URL, "http://"))
}

// Options returns replay options wired to this sandbox.
func (s *Sandbox) Options() Options {
	return Options{Connectors: s.Connectors, Links: s.Links, Lifecycle: s.Lifecycle, SandboxURL: s.URL}
}

// Close stops the sandbox.
func (s *Sandbox) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}
