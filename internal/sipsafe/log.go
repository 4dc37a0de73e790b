package sipsafe

import (
	"context"
	"log/slog"
)

// LogHandler wraps h for sipgo to log through (its UA, server, client and transport layer
// loggers): sipgo logs whole messages or raw data under a few keys (a datagram that fails to
// parse is logged verbatim), and those may be INFO bodies with digits. Their values are
// replaced by "[redacted]"; sipgo's warnings and errors are demoted to debug (a malformed
// packet from the internet is not our error).
func LogHandler(h slog.Handler) slog.Handler { return redactHandler{h} }

type redactHandler struct{ h slog.Handler }

var redactKeys = map[string]bool{"data": true, "msg": true, "message": true, "body": true, "request": true, "response": true, "req": true, "res": true}

func (r redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return r.h.Enabled(ctx, min(l, slog.LevelDebug))
}

func (r redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	level := rec.Level
	if level > slog.LevelDebug {
		level = slog.LevelDebug
	}
	if !r.h.Enabled(ctx, level) {
		return nil
	}
	out := slog.NewRecord(rec.Time, level, rec.Message, rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		if redactKeys[a.Key] {
			a = slog.String(a.Key, "[redacted]")
		}
		out.AddAttrs(a)
		return true
	})
	return r.h.Handle(ctx, out)
}

func (r redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		if redactKeys[a.Key] {
			a = slog.String(a.Key, "[redacted]")
		}
		clean[i] = a
	}
	return redactHandler{r.h.WithAttrs(clean)}
}

func (r redactHandler) WithGroup(name string) slog.Handler { return redactHandler{r.h.WithGroup(name)} }
