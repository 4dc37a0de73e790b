package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAttemptWriteAheadFields(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	a := Attempt{IdempotencyKey: "k1", CallID: "c1", Connector: "provider", ConnectorType: "session", Method: "charge",
		Reference: "ACC-1", MaskedCard: "************4242", CardBrand: "visa", AmountMinor: 1234, Currency: "GBP", CreatedAt: t0}
	if err := s.CreateAttempt(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAttempt(ctx, Attempt{IdempotencyKey: "k2", MaskedCard: "4242424242424242"}); !errors.Is(err, ErrCardData) {
		t.Fatalf("unmasked card on an attempt = %v, want ErrCardData", err)
	}
	if err := s.NoteAttemptError(ctx, "k1", "timeout"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAttempt(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != AttemptPending || got.ConnectorType != "session" || got.Method != "charge" ||
		got.MaskedCard != "************4242" || got.LastError != "timeout" || got.Reference != "ACC-1" {
		t.Fatalf("GetAttempt = %+v", got)
	}
	if err := s.CompleteAttempt(ctx, "k1", AttemptResult{Result: "approved", Confirmation: "ch_1", Token: "tok_1",
		SessionID: "sess-9", CompletedAt: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetAttempt(ctx, "k1")
	if got.Status != AttemptComplete || got.Result != "approved" || got.Token != "tok_1" || got.SessionID != "sess-9" {
		t.Fatalf("after complete: %+v", got)
	}
	if err := s.NoteAttemptError(ctx, "k1", "late"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("note on a completed attempt = %v, want ErrNotFound", err)
	}
	if all, err := s.ListAttempts(ctx, t0); err != nil || len(all) != 1 || all[0].IdempotencyKey != "k1" {
		t.Fatalf("ListAttempts = %+v, %v", all, err)
	}
	if _, err := s.GetAttempt(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetAttempt(unknown) = %v", err)
	}
}

func TestClaimLinkExactlyOnce(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	if err := s.CreateLink(ctx, Link{ID: "l1", TokenHash: "h", To: "+447700900001", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var wins, busy atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ClaimLink(ctx, "h", t0.Add(time.Minute))
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, ErrLinkBusy):
				busy.Add(1)
			default:
				t.Errorf("claim: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || busy.Load() != 15 {
		t.Fatalf("wins=%d busy=%d, want 1 and 15", wins.Load(), busy.Load())
	}
	// A declined submission returns the link to active with one try counted.
	if err := s.FinishLink(ctx, "h", LinkFinish{At: t0.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.LinkByHash(ctx, "h"); l.Status != LinkActive || l.Attempts != 1 {
		t.Fatalf("after decline: %+v", l)
	}
	if _, err := s.ClaimLink(ctx, "h", t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishLink(ctx, "h", LinkFinish{Paid: true, Confirmation: "ch_9", At: t0.Add(4 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimLink(ctx, "h", t0.Add(5*time.Minute)); !errors.Is(err, ErrLinkUsed) {
		t.Fatalf("claim after paid = %v, want ErrLinkUsed", err)
	}
	if ok, _ := s.ConsumeLink(ctx, "h", t0.Add(5*time.Minute)); ok {
		t.Fatal("ConsumeLink succeeded on a used link")
	}
	if _, err := s.ClaimLink(ctx, "missing", t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("claim unknown = %v", err)
	}
	if err := s.CreateLink(ctx, Link{ID: "l2", TokenHash: "h2", To: "+447700900001", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimLink(ctx, "h2", t0.Add(time.Hour)); !errors.Is(err, ErrLinkExpired) {
		t.Fatalf("claim expired = %v", err)
	}
	if n, err := s.CountLinksTo(ctx, "+447700900001", t0); err != nil || n != 2 {
		t.Fatalf("CountLinksTo = %d, %v", n, err)
	}
	if err := s.SetLinkMessage(ctx, "l1", "sms-1"); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.LinkByHash(ctx, "h"); l.MessageID != "sms-1" || l.Confirmation != "ch_9" || l.Status != LinkUsed {
		t.Fatalf("link after paid: %+v", l)
	}
}
