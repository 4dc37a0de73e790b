package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/paybridge/paybridge/internal/cardsafe"
	"github.com/paybridge/paybridge/sandbox"
	"github.com/paybridge/paybridge/sandbox/captureline"
)

func init() {
	register(&command{
		name:    "sandbox",
		usage:   "sandbox [--addr 127.0.0.1:8090] [--clients id:secret,…] [--faults JSON]",
		summary: "run the sandbox payment provider alone (session, generic, stripe, SMS, billing APIs)",
		run:     runSandbox,
		cards:   true,
	})
}

// pairs parses "a:b,c:d" into a map ("" = nil: accept any).
func pairs(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	m := map[string]string{}
	for _, p := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(p, ":")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("%q is not name:value", p)
		}
		m[k] = v
	}
	return m, nil
}

func runSandbox(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on (port 0 picks a free one)")
	clients := fs.String("clients", "", "OAuth2 clients to accept, id:secret,… (default: any id and secret)")
	basic := fs.String("basic", "", "HTTP Basic users for the generic and SMS APIs, user:password,… (default: any)")
	keys := fs.String("payment-keys", "", "merchant payment keys that sign outside results, account:key,…")
	faults := fs.String("faults", "", `faults to inject from the start, as JSON (e.g. {"fail_first":2,"latency":"200ms"}); PUT /admin/faults changes them later`)
	adminToken := fs.String("admin-token", "", "bearer token required by /admin/*, /ledger, /billing/… and GET /sms/Messages (default: none required)")
	line := fs.Bool("capture-line", false, `run the sandbox's SIP capture line on a loopback UDP port: voice sessions' dtmfFallbackNumber names it (capture="provider")`)
	verbose := fs.Bool("v", false, "log every request (method, route, status; never bodies)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "sandbox: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg := sandbox.Config{AdminToken: *adminToken}
	var err error
	if cfg.Clients, err = pairs(*clients); err == nil {
		if cfg.Basic, err = pairs(*basic); err == nil {
			cfg.PaymentKeys, err = sandbox.ParsePaymentKeys(*keys)
		}
	}
	if err == nil && *faults != "" {
		err = json.Unmarshal([]byte(*faults), &cfg.Faults)
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "sandbox: %v\n", err)
		return 2
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: level}))
	cfg.Logger = logger
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(env.stderr, "sandbox: %v\n", err)
		return 1
	}
	sb := sandbox.New(cfg)
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn), ConnContext: cardsafe.ConnContext}
	fmt.Fprintf(env.stdout, "paybridge sandbox listening on http://%s\n", ln.Addr())
	if *line {
		cl, err := captureline.Start(captureline.Config{Ledger: sb, Logger: logger})
		if err != nil {
			ln.Close()
			fmt.Fprintf(env.stderr, "sandbox: capture line: %v\n", err)
			return 1
		}
		defer cl.Close()
		sb.SetCaptureLine(cl.URI())
		fmt.Fprintf(env.stdout, "paybridge sandbox capture line on %s\n", cl.URI())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(cardsafe.Listener(ln)) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(env.stderr, "sandbox: %v\n", err)
		return 1
	}
	return 0
}
