package sipsafe

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestLogHandlerRedactsMessageData: the keys sipgo logs raw messages under are replaced, in
// records and in attributes bound with With, and sipgo's errors arrive at debug level. The
// control attribute proves the scan can see what the handler lets through.
func TestLogHandlerRedactsMessageData(t *testing.T) {
	var buf bytes.Buffer
	base := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	log := slog.New(LogHandler(base)).With("data", "INFO 4242424242424242")
	log.Error("parse failed", "msg", "Signal=4242424242424242", "req", "INFO 5555555555554444", "control", "4000056655665556")
	out := buf.String()
	for _, card := range []string{"4242424242424242", "5555555555554444"} {
		if strings.Contains(out, card) {
			t.Errorf("%s reached the log:\n%s", card, out)
		}
	}
	if !strings.Contains(out, "4000056655665556") {
		t.Fatalf("control value missing: the scan cannot see the output:\n%s", out)
	}
	if !strings.Contains(out, "level=DEBUG") || strings.Contains(out, "level=ERROR") {
		t.Errorf("sipgo's error not demoted to debug:\n%s", out)
	}
	if strings.Count(out, "[redacted]") != 3 {
		t.Errorf("want 3 redacted values:\n%s", out)
	}

	buf.Reset()
	quiet := slog.New(LogHandler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	quiet.Error("parse failed", "msg", "x")
	if buf.Len() != 0 {
		t.Errorf("a demoted record passed an info-level handler: %s", buf.String())
	}
}
