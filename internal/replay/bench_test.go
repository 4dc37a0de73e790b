package replay

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/audiofile"
)

// sixtySecondCall is a 60 s recording: the committed fixture testdata/replay/vcc-visa.wav
// (the VCC flow keyed in-band over the first ~20 s, written by internal/replay/gen), then
// silence while the caller listens until the plan hangs up.
func sixtySecondCall(b *testing.B) []int16 {
	b.Helper()
	pcm, err := audiofile.ReadAudioFile(filepath.Join("..", "..", "testdata", "replay", "vcc-visa.wav"), "")
	if err != nil {
		b.Fatal(err)
	}
	if len(pcm) > 60*8000 {
		b.Fatalf("fixture is %d samples, longer than 60 s", len(pcm))
	}
	return append(pcm, make([]int16, 60*8000-len(pcm))...)
}

// BenchmarkReplay60s replays a 60-second recorded call — DTMF detection over the whole
// recording, the plan on the virtual clock, five HTTP exchanges with the sandbox — and
// reports how many times faster than real time that is (x_realtime; the target is ≥ 1000).
//
//	go test -run '^$' -bench Replay60s ./internal/replay
func BenchmarkReplay60s(b *testing.B) {
	sb := startSandbox(b)
	plan := planFile(b, "vcc-secure-payments.xml")
	pcm := sixtySecondCall(b)
	opts := sb.Options()
	opts.Plan = plan
	opts.Start = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var virtual time.Duration
	b.ResetTimer()
	for b.Loop() {
		in := AudioInput(pcm)
		res, err := Run(context.Background(), in, opts)
		if err != nil || res.Variables["Pay.Result"] != "success" {
			b.Fatalf("replay failed: %v %v", err, res.Variables["Pay.Result"])
		}
		virtual = time.Duration(res.Duration * float64(time.Second))
	}
	perOp := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(60*time.Second)/float64(perOp), "x_realtime")
	b.ReportMetric(virtual.Seconds(), "call_s")
}

// BenchmarkReplayDetectOnly is the DTMF half of the figure above: 60 s of audio through the
// live call's dtmf.Stream.
func BenchmarkReplayDetectOnly(b *testing.B) {
	pcm := sixtySecondCall(b)
	for b.Loop() {
		if in := AudioInput(pcm); len(in.Keys) != 32 {
			b.Fatalf("%d keys", len(in.Keys))
		}
	}
	b.ReportMetric(float64(60*time.Second)/float64(b.Elapsed()/time.Duration(b.N)), "x_realtime")
}
