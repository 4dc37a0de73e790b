package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/paybridge/paybridge/pan"
)

// RedactingTransport logs each provider request at debug level — method, host, path, status,
// duration and the names (never the values) of its headers — and nothing of its body or query
// string. It is the only HTTP logging the connectors do: a body may hold a card number.
type RedactingTransport struct {
	Base   http.RoundTripper // default http.DefaultTransport
	Logger *slog.Logger
}

// RoundTrip implements http.RoundTripper.
func (t *RedactingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if t.Logger == nil || !t.Logger.Enabled(r.Context(), slog.LevelDebug) {
		return base.RoundTrip(r)
	}
	start := time.Now()
	resp, err := base.RoundTrip(r)
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("host", r.URL.Host),
		slog.String("path", pan.Redact(r.URL.Path)),
		slog.Any("headers", headerNames(r.Header)),
		slog.Duration("duration", time.Since(start)),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", "transport error"))
	} else {
		attrs = append(attrs, slog.Int("status", resp.StatusCode))
	}
	t.Logger.LogAttrs(context.Background(), slog.LevelDebug, "provider request", attrs...)
	return resp, err
}

func headerNames(h http.Header) []string {
	out := make([]string, 0, len(h))
	for k := range h {
		out = append(out, k)
	}
	return out
}
