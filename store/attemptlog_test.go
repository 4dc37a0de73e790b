package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestAttemptWriteAheadFields(t *testing.T) { eachDialect(t, testAttemptWriteAheadFields) }

func testAttemptWriteAheadFields(t *testing.T) {
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
	if err := s.CompleteAttempt(ctx, "k1", AttemptResult{Result: "approved", Confirmation: "ch_tisd4awikw6cv767", Token: "tok_k7cvv1234",
		SessionID: "sess-9", CompletedAt: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	// The provider's ids come back as they were sent, though they spell "cv767" and "cvv1234"
	// (pan/doc.go, "Keywords inside identifiers").
	got, _ = s.GetAttempt(ctx, "k1")
	if got.Status != AttemptComplete || got.Result != "approved" || got.Token != "tok_k7cvv1234" ||
		got.Confirmation != "ch_tisd4awikw6cv767" || got.SessionID != "sess-9" {
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
