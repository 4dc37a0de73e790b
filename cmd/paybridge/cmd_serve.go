package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/paybridge/paybridge/internal/app"
)

func init() {
	register(&command{
		name:    "serve",
		usage:   "serve [--sip-addr A] [--http-addr A] [--plans DIR] [--data DIR] …",
		summary: "answer calls: SIP + RTP + console, API, payment pages and sandbox on embedded defaults",
		run:     runServe,
		cards:   true,
	})
}

// runServe starts a node and serves until SIGINT/SIGTERM (drain, then exit 0). SIGHUP reloads
// the plans and the SIP and HTTPS certificates; an invalid plan or certificate keeps its
// previous version and the reason is logged. Calls in progress are not touched.
func runServe(ctx context.Context, env *cmdEnv, args []string) int {
	cfg, err := app.ParseConfig(args, env.getenv, env.stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "paybridge serve: %v\n", err)
		return 2
	}
	app.SetServeGC(env.getenv) // GOGC=50 unless the operator set GOGC (internal/app/gc.go)
	a, err := app.New(ctx, cfg, env.getenv, env.stdout)
	if err != nil {
		fmt.Fprintf(env.stderr, "paybridge serve: %v\n", err)
		return 1
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := a.Reload(); err != nil {
					fmt.Fprintf(env.stderr, "paybridge serve: reload: %v\n", err)
				}
				if err := a.ReloadCertificates(); err != nil {
					fmt.Fprintf(env.stderr, "paybridge serve: reload: %v\n", err)
				}
			}
		}
	}()
	if err := a.Run(ctx); err != nil {
		fmt.Fprintf(env.stderr, "paybridge serve: %v\n", err)
		return 1
	}
	return 0
}
