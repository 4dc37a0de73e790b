package replay

import (
	"context"
	"testing"
	"time"

	"github.com/paybridge/paybridge/dtmf"
)

// sixtySecondCall is a 60 s recording: the VCC flow keyed in-band over the first ~20 s, then
// the caller listening until the plan hangs up, then silence.
func sixtySecondCall() []int16 {
	opt := dtmf.DefaultToneOptions()
	opt.Duration, opt.Gap = 90*time.Millisecond, 110*time.Millisecond
	sil := func(d time.Duration) []int16 { return make([]int16, int(d/time.Millisecond)*8) }
	var pcm []int16
	pcm = append(pcm, sil(1500*time.Millisecond)...)
	pcm = append(pcm, dtmf.GenerateDigits("12345678", opt)...)
	pcm = append(pcm, sil(1500*time.Millisecond)...)
	pcm = append(pcm, dtmf.GenerateDigits("4242424242424242#", opt)...)
	pcm = append(pcm, sil(800*time.Millisecond)...)
	pcm = append(pcm, dtmf.GenerateDigits("1230", opt)...)
	pcm = append(pcm, sil(800*time.Millisecond)...)
	pcm = append(pcm, dtmf.GenerateDigits("123", opt)...)
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
	pcm := sixtySecondCall()
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
	pcm := sixtySecondCall()
	for b.Loop() {
		if in := AudioInput(pcm); len(in.Keys) != 32 {
			b.Fatalf("%d keys", len(in.Keys))
		}
	}
	b.ReportMetric(float64(60*time.Second)/float64(b.Elapsed()/time.Duration(b.N)), "x_realtime")
}
