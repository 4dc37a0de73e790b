package store

import (
	"context"
	"errors"
	"testing"
)

// TestCallRTPForeign: the count of foreign media datagrams is part of the call record, read
// back by GetCall and ListCalls and in the JSON the console serves.
func TestCallRTPForeign(t *testing.T) { eachDialect(t, testCallRTPForeign) }

func testCallRTPForeign(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	must(t, s.CreateCall(ctx, Call{ID: "attacked", StartedAt: t0}))
	must(t, s.CreateCall(ctx, Call{ID: "quiet", StartedAt: t0.Add(1)}))
	must(t, s.SetCallRTPForeign(ctx, "attacked", 112))
	must(t, s.SetCallRTPForeign(ctx, "attacked", 112)) // idempotent
	must(t, s.EndCall(ctx, "attacked", "caller-hangup", t0.Add(60)))
	if err := s.SetCallRTPForeign(ctx, "nope", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown call: %v, want ErrNotFound", err)
	}
	c, _, err := s.GetCall(ctx, "attacked")
	if err != nil || c.RTPForeign != 112 || c.State != CallEnded {
		t.Fatalf("GetCall: %+v, %v", c, err)
	}
	calls, err := s.ListCalls(ctx, CallFilter{})
	if err != nil || len(calls) != 2 {
		t.Fatalf("ListCalls: %v, %v", calls, err)
	}
	for _, c := range calls {
		if want := map[string]int64{"attacked": 112, "quiet": 0}[c.ID]; c.RTPForeign != want {
			t.Errorf("%s: rtp_foreign %d, want %d", c.ID, c.RTPForeign, want)
		}
	}
}
