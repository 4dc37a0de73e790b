// Command serveprof is `paybridge serve` with Go's profiler on a side address, for finding
// where the endpoint's time goes under load (loadtest/capacity -pprof). It takes serve's
// flags; the profiler listens on $SERVEPROF_ADDR (default 127.0.0.1:0) and its address is
// printed as "pprof http://ADDR/debug/pprof/". It is the same code as serve — internal/app —
// and nothing else: never a way to run paybridge in production.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"syscall"

	"github.com/paybridge/paybridge/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr := os.Getenv("SERVEPROF_ADDR")
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fail(err)
	}
	go http.Serve(ln, http.DefaultServeMux)
	fmt.Printf("pprof http://%s/debug/pprof/\n", ln.Addr())
	cfg, err := app.ParseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		fail(err)
	}
	app.SetServeGC(os.Getenv) // the collector serve runs with, so profiles show serve's GC cost
	a, err := app.New(ctx, cfg, os.Getenv, os.Stdout)
	if err != nil {
		fail(err)
	}
	if err := a.Run(ctx); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "serveprof:", err)
	os.Exit(1)
}
