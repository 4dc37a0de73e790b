package app

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paybridge/paybridge/siptest"
	"github.com/paybridge/paybridge/store"
)

// stalledRecords is the real store behind a writer that has stopped answering (a disk that
// does not return from fsync): every call-record write waits until release, whatever its
// context says — the store's writer, once it has taken a write, runs it to the end too.
type stalledRecords struct {
	callRecords
	gate    chan struct{}
	once    sync.Once
	stalled atomic.Int32 // writes that have waited at the gate
}

func newStalledRecords(s callRecords) *stalledRecords {
	return &stalledRecords{callRecords: s, gate: make(chan struct{})}
}

func (s *stalledRecords) release() { s.once.Do(func() { close(s.gate) }) }

func (s *stalledRecords) wait() {
	s.stalled.Add(1)
	<-s.gate
}

func (s *stalledRecords) CreateCall(ctx context.Context, c store.Call) error {
	s.wait()
	return s.callRecords.CreateCall(ctx, c)
}

func (s *stalledRecords) SetCallRTPForeign(ctx context.Context, id string, n int64) error {
	s.wait()
	return s.callRecords.SetCallRTPForeign(ctx, id, n)
}

func (s *stalledRecords) SetCallSocketDrops(ctx context.Context, id string, n int64) error {
	s.wait()
	return s.callRecords.SetCallSocketDrops(ctx, id, n)
}

func (s *stalledRecords) SetCallSRTPAuthFailed(ctx context.Context, id string, n int64) error {
	s.wait()
	return s.callRecords.SetCallSRTPAuthFailed(ctx, id, n)
}

func (s *stalledRecords) EndCall(ctx context.Context, id, cause string, at time.Time) error {
	s.wait()
	return s.callRecords.EndCall(ctx, id, cause, at)
}

// TestStalledStoreDoesNotHoldTheCall: with the store's writer stalled from before the call, a
// call whose media port also gets datagrams from a foreign address (the path of "media from a
// foreign address dropped") is still served — its plan runs and hangs up, its handler
// returns — the waits are logged and counted, and once the store answers again its whole
// record is written, in order: created, the foreign datagrams, ended.
func TestStalledStoreDoesNotHoldTheCall(t *testing.T) {
	dir := t.TempDir()
	plan := `<CallPlan name="stall"><Match number="+441632960556"/><Flow><Play prompt="welcome"/><Hangup/></Flow></CallPlan>`
	if err := os.WriteFile(filepath.Join(dir, "stall.xml"), []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	var st *stalledRecords
	a, logs, stop := startNodeWith(t, func(a *App) {
		st = newStalledRecords(a.records)
		a.records = st
	}, "--plans", dir, "--rtp-ports", "41300-41319")
	defer stop()
	defer st.release()

	// A foreign sender sprays every port of the range while the call is up.
	foreign, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	spray := make(chan struct{})
	sprayed := make(chan struct{})
	go func() {
		defer close(sprayed)
		pkt := []byte{0x80, 0x00, 0, 1, 0, 0, 0, 160, 0xde, 0xad, 0xbe, 0xef}
		for {
			for p := 41300; p <= 41319; p++ {
				foreign.WriteToUDP(pkt, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
			}
			select {
			case <-spray:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
		Target: fmt.Sprintf("sip:+441632960556@%s", a.SIPAddr()), Timeout: 30 * time.Second})
	close(spray)
	<-sprayed
	if err != nil || !res.Answered || res.HangupBy != "remote" {
		t.Fatalf("the plan did not run to its hang-up with the store stalled: %+v, %v", res, err)
	}
	// The call's handler returns with its writes still stalled.
	returned := make(chan struct{})
	go func() { a.calls.Wait(); close(returned) }()
	select {
	case <-returned:
	case <-time.After(60 * time.Second):
		t.Fatalf("the call's handler is still waiting on the stalled store (%d writes at the gate)", st.stalled.Load())
	}
	if n := st.stalled.Load(); n == 0 {
		t.Fatal("no write reached the stalled store")
	}
	for _, want := range []string{"the store has not recorded the call's start", "the store has not recorded the call's end"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no log line %q:\n%s", want, logs)
		}
	}
	base := "http://" + a.HTTPAddr()
	_, metrics := getWithToken(t, base+"/metrics", "test-admin-token-0123456789abcdef")
	for _, re := range []string{
		`(?m)^paybridge_call_record_writes_late_total\{write="start"\} 1$`,
		`(?m)^paybridge_call_record_writes_late_total\{write="end"\} 1$`,
	} {
		if !regexp.MustCompile(re).MatchString(metrics) {
			t.Errorf("/metrics does not match %s", re)
		}
	}

	// The store answers again: nothing was lost.
	st.release()
	var c *store.Call
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, _, _ = a.Store().GetCall(context.Background(), res.ServerCallID); c != nil && c.State == store.CallEnded {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c == nil || c.State != store.CallEnded || c.HangupCause == "" || c.RTPForeign == 0 || c.Plan != "stall" {
		t.Fatalf("the call's record after the stall = %+v", c)
	}
}
