package ivr

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/siptest"
)

// TestStartPCMOnALiveCall: a prompt started without a goroutine waiting for it reaches the
// caller (its 30 frames), its Done closes once it has been sent (not before: a 600 ms prompt takes that long
// at 20 ms a frame), Stop then says nil; once the call has ended StartPCM says
// engine.ErrHangup.
func TestStartPCMOnALiveCall(t *testing.T) {
	type result struct {
		took            time.Duration
		err, stop, late error
	}
	got := make(chan result, 1)
	router := RouterFunc(func(to string) (CallHandler, bool) {
		return func(ctx context.Context, call *Call) {
			var r result
			start := time.Now()
			p, err := call.StartPCM(tone(600 * time.Millisecond))
			if r.err = err; err == nil {
				select {
				case <-p.Done():
					r.took = time.Since(start)
				case <-time.After(10 * time.Second):
					r.err = errors.New("Done still open after 10 s")
				}
				r.stop = p.Stop()
			}
			call.Hangup(ctx, "test-done")
			<-call.Done()
			_, r.late = call.StartPCM(tone(100 * time.Millisecond))
			got <- r
		}, true
	})
	s, _ := startServer(t, Config{Router: router})
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
		Target: "sip:+441632960000@" + s.Addr().String(), From: "+447700900123", Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil || r.stop != nil {
		t.Fatalf("StartPCM: %v; Stop: %v", r.err, r.stop)
	}
	if r.took < 500*time.Millisecond {
		t.Fatalf("Done closed after %v: before a 600 ms prompt could have been sent", r.took)
	}
	if !errors.Is(r.late, engine.ErrHangup) {
		t.Fatalf("StartPCM after the call ended: %v, want engine.ErrHangup", r.late)
	}
	if !res.Answered || res.RTPReceived < 25 { // 30 frames of 20 ms

		t.Fatalf("caller result: %+v", res)
	}
}
