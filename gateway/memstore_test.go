package gateway

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemoryStoreClaimIsAtomic(t *testing.T) {
	m := NewMemoryStore()
	ctx := context.Background()
	now := time.Now()
	if err := m.CreateLink(ctx, &Link{ID: "l1", TokenHash: "h1", To: "+447700900123", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := m.CreateLink(ctx, &Link{ID: "l1b", TokenHash: "h1"}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate hash: %v", err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.ClaimLink(ctx, "h1", now); err == nil {
				wins.Add(1)
			} else if !errors.Is(err, ErrLinkBusy) {
				t.Errorf("claim: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d claims won", wins.Load())
	}
	// Declined: back to active with one attempt; paid: used for good.
	if err := m.FinishLink(ctx, "h1", LinkOutcome{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ClaimLink(ctx, "h1", now); err != nil {
		t.Fatal(err)
	}
	if err := m.FinishLink(ctx, "h1", LinkOutcome{Paid: true, Confirmation: "ch_1", At: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ClaimLink(ctx, "h1", now); !errors.Is(err, ErrLinkUsed) {
		t.Fatalf("claim after paid: %v", err)
	}
	l, _ := m.LinkByHash(ctx, "h1")
	if l.State != LinkUsed || l.Attempts != 1 || l.Confirmation != "ch_1" {
		t.Fatalf("%+v", l)
	}
	if _, err := m.ClaimLink(ctx, "nope", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	if err := m.CreateLink(ctx, &Link{ID: "l2", TokenHash: "h2", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ClaimLink(ctx, "h2", now.Add(time.Minute)); !errors.Is(err, ErrLinkExpired) {
		t.Fatalf("expired: %v", err)
	}
	if n, _ := m.CountLinksTo(ctx, "+447700900123", now.Add(-time.Hour)); n != 1 {
		t.Fatalf("count %d", n)
	}
}

func TestMemoryStoreAttempts(t *testing.T) {
	m := NewMemoryStore()
	ctx := context.Background()
	a := &Attempt{Key: "k", CreatedAt: time.Now().Add(-time.Minute)}
	if _, err := m.BeginAttempt(ctx, a); err != nil {
		t.Fatal(err)
	}
	old, err := m.BeginAttempt(ctx, a)
	if !errors.Is(err, ErrDuplicate) || old == nil || old.State != AttemptPending {
		t.Fatalf("duplicate begin: %v %v", old, err)
	}
	if _, err := m.BeginAttempt(ctx, &Attempt{}); err == nil {
		t.Fatal("attempt without key accepted")
	}
	if p, _ := m.PendingAttempts(ctx, time.Now()); len(p) != 1 {
		t.Fatalf("pending %d", len(p))
	}
	if err := m.CompleteAttempt(ctx, "k", AttemptResult{State: AttemptApproved, ConfirmationCode: "ch"}); err != nil {
		t.Fatal(err)
	}
	if p, _ := m.PendingAttempts(ctx, time.Now()); len(p) != 0 {
		t.Fatalf("pending after complete %d", len(p))
	}
	if err := m.CompleteAttempt(ctx, "missing", AttemptResult{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("complete missing: %v", err)
	}
}

func TestRateLimiter(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := newRateLimiter(3, time.Minute, clk.Now)
	for i := 0; i < 3; i++ {
		if ok, _ := r.allow("a"); !ok {
			t.Fatalf("event %d refused", i)
		}
	}
	if ok, retry := r.allow("a"); ok || retry <= 0 {
		t.Fatal("4th event allowed")
	}
	if ok, _ := r.allow("b"); !ok {
		t.Fatal("other key limited")
	}
	clk.Add(3 * time.Minute)
	if ok, _ := r.allow("a"); !ok {
		t.Fatal("still limited after the window")
	}
}
