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

// sprayForeign sends RTP-like datagrams from a foreign address to every port in [lo, hi]
// until the returned stop is called.
func sprayForeign(t *testing.T, lo, hi int) (stop func()) {
	t.Helper()
	foreign, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		pkt := []byte{0x80, 0x00, 0, 1, 0, 0, 0, 160, 0xde, 0xad, 0xbe, 0xef}
		for {
			for p := lo; p <= hi; p++ {
				foreign.WriteToUDP(pkt, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
			}
			select {
			case <-quit:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-done
			foreign.Close()
		})
	}
}

// stallPlan is a plan that plays a prompt and hangs up.
func stallPlan(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	plan := `<CallPlan name="stall"><Match number="+441632960556"/><Flow><Play prompt="welcome"/><Hangup/></Flow></CallPlan>`
	if err := os.WriteFile(filepath.Join(dir, "stall.xml"), []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// waitEnded waits for the call's record to say it ended.
func waitEnded(t *testing.T, a *App, id string) *store.Call {
	t.Helper()
	var c *store.Call
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, _, _ = a.Store().GetCall(context.Background(), id); c != nil && c.State == store.CallEnded {
			return c
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the call's record never ended: %+v", c)
	return nil
}

// TestStalledStoreDoesNotHoldTheCall: with the store's writer stalled from before a call and
// through it, a call whose media port also gets datagrams from a foreign address (the path of
// "media from a foreign address dropped") does not hang: its plan waits for its row (its
// events need it) while the caller stays, the caller hangs up, and the call's handler returns
// with its writes still stalled — the waits logged and counted. Once the store answers again
// its whole record is written, in order: created, the foreign datagrams, ended.
func TestStalledStoreDoesNotHoldTheCall(t *testing.T) {
	var st *stalledRecords
	a, logs, stop := startNodeWith(t, func(a *App) {
		st = newStalledRecords(a.records)
		a.records = st
	}, "--plans", stallPlan(t), "--rtp-ports", "41300-41319")
	defer stop()
	defer st.release()

	stopSpray := sprayForeign(t, 41300, 41319)
	defer stopSpray()
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
		Target: fmt.Sprintf("sip:+441632960556@%s", a.SIPAddr()), Hangup: true, HangupAfter: 5 * time.Second, Timeout: 60 * time.Second})
	stopSpray()
	if err != nil || !res.Answered || res.HangupBy != "local" {
		t.Fatalf("the call: %+v, %v", res, err)
	}
	// The call's handler returns with its writes still stalled.
	returned := make(chan struct{})
	go func() { a.calls.Wait(); close(returned) }()
	select {
	case <-returned:
	case <-time.After(60 * time.Second):
		t.Fatalf("the call's handler is still waiting on the stalled store (%d writes at the gate)", st.stalled.Load())
	}
	if n := st.stalled.Load(); n != 1 {
		t.Errorf("%d writes reached the stalled store, want 1 (the row; the rest queue behind it)", n)
	}
	for _, want := range []string{"the store has not recorded the call's start in time", "the store has not recorded the call's end in time",
		"media from a foreign address dropped"} {
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
	c := waitEnded(t, a, res.ServerCallID)
	if c.RTPForeign == 0 || c.Plan != "stall" || !strings.HasPrefix(c.HangupCause, "caller-hung-up") {
		t.Fatalf("the call's record after the stall = %+v", c)
	}
}

// TestStoreStallShorterThanTheCall: a stall that ends while the call is up only delays its
// plan — it starts late, runs to its hang-up, and the record is whole.
func TestStoreStallShorterThanTheCall(t *testing.T) {
	var st *stalledRecords
	a, logs, stop := startNodeWith(t, func(a *App) {
		st = newStalledRecords(a.records)
		a.records = st
	}, "--plans", stallPlan(t))
	defer stop()
	defer st.release()
	go func() {
		// Release once the call has gone on without its row.
		for !strings.Contains(logs.String(), "the store has not recorded the call's start in time") {
			time.Sleep(20 * time.Millisecond)
		}
		st.release()
	}()
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
		Target: fmt.Sprintf("sip:+441632960556@%s", a.SIPAddr()), Timeout: 60 * time.Second})
	if err != nil || !res.Answered || res.HangupBy != "remote" || res.HeardMS < 500 {
		t.Fatalf("the plan did not run to its hang-up after the stall: %+v, %v", res, err)
	}
	c := waitEnded(t, a, res.ServerCallID)
	if c.Plan != "stall" || c.HangupCause == "" || strings.HasPrefix(c.HangupCause, "error") {
		t.Fatalf("the call's record = %+v", c)
	}
	if !strings.Contains(logs.String(), "the store has recorded the call: its plan starts late") {
		t.Errorf("no log line of the late start:\n%s", logs)
	}
}
