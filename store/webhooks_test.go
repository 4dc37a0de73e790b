package store

import (
	"context"
	"testing"
	"time"
)

// TestWebhooksDue: the read a dispatcher makes before it claims says yes exactly when a claim
// would return something — a pending delivery, due, not held by a live claim — and no after
// it is delivered, before it is due, while it is claimed and when it is dead.
func TestWebhooksDue(t *testing.T) { eachDialect(t, testWebhooksDue) }

func testWebhooksDue(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	due := func(at time.Time) bool {
		t.Helper()
		ok, err := s.WebhooksDue(ctx, at)
		must(t, err)
		claimed, err := s.DueWebhooks(ctx, at, 10)
		must(t, err)
		var free int
		for _, w := range claimed {
			if w.ClaimedUntil.IsZero() || !w.ClaimedUntil.After(at) {
				free++
			}
		}
		if ok != (free > 0) {
			t.Errorf("WebhooksDue(%v) = %v, but %d deliveries are free to claim", at.Sub(t0), ok, free)
		}
		return ok
	}
	if due(t0) {
		t.Error("empty store: due")
	}
	id, err := s.EnqueueWebhook(ctx, Webhook{Event: "pay.completed", URL: "https://example.test/hook", Payload: []byte(`{}`), CreatedAt: t0, NextAt: t0.Add(time.Minute)})
	must(t, err)
	if due(t0) {
		t.Error("not yet due: due")
	}
	if !due(t0.Add(time.Minute)) {
		t.Error("due delivery not seen")
	}
	claimed, err := s.ClaimDueWebhooks(ctx, "n1", t0.Add(time.Minute), time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim = %+v, %v", claimed, err)
	}
	if due(t0.Add(90 * time.Second)) {
		t.Error("claimed delivery: due while its lease runs")
	}
	if !due(t0.Add(2 * time.Minute)) {
		t.Error("lease over: not due")
	}
	must(t, s.RecordWebhookTry(ctx, id, WebhookTry{Status: 503, Next: t0.Add(3 * time.Minute), Reason: "HTTP 503: busy"}))
	if due(t0.Add(2*time.Minute)) || !due(t0.Add(3*time.Minute)) {
		t.Error("retry: due at the wrong time")
	}
	must(t, s.RecordWebhookTry(ctx, id, WebhookTry{Status: 204, Delivered: true, At: t0.Add(3 * time.Minute)}))
	if due(t0.Add(time.Hour)) {
		t.Error("delivered: still due")
	}
	dead, err := s.EnqueueWebhook(ctx, Webhook{Event: "pay.completed", URL: "https://example.test/hook", Payload: []byte(`{}`), CreatedAt: t0})
	must(t, err)
	must(t, s.RecordWebhookTry(ctx, dead, WebhookTry{Status: 0, Reason: "endpoint unreachable"})) // zero Next: gives up
	if due(t0.Add(time.Hour)) {
		t.Error("dead: still due")
	}
	s.Close()
	if _, err := s.WebhooksDue(ctx, t0); err == nil {
		t.Error("WebhooksDue after Close: no error")
	}
}

// TestRecordWebhookTry: one write records the try's HTTP status with its outcome (delivered,
// or failed with the next try, or dead), ends the claim, redacts the reason, and refuses a
// delivery that is no longer pending.
func TestRecordWebhookTry(t *testing.T) { eachDialect(t, testRecordWebhookTry) }

func testRecordWebhookTry(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	id, err := s.EnqueueWebhook(ctx, Webhook{Event: "pay.completed", URL: "https://example.test/hook", Payload: []byte(`{}`), CreatedAt: t0, Subject: "pay-1"})
	must(t, err)
	_, err = s.ClaimDueWebhooks(ctx, "n1", t0, time.Minute, 10)
	must(t, err)
	before := s.WriteStats()
	must(t, s.RecordWebhookTry(ctx, id, WebhookTry{Status: 500, Next: t0.Add(time.Minute), Reason: "HTTP 500: card 4242424242424242 refused"}))
	if got := s.WriteStats(); got.Writes-before.Writes != 1 {
		t.Errorf("a failed try took %d writes, want 1", got.Writes-before.Writes)
	}
	ws, err := s.WebhooksAbout(ctx, "pay-1")
	if err != nil || len(ws) != 1 {
		t.Fatalf("WebhooksAbout = %+v, %v", ws, err)
	}
	w := ws[0]
	if w.Status != WebhookPending || w.LastStatus != 500 || w.Attempts != 1 || !w.NextAt.Equal(t0.Add(time.Minute)) ||
		w.ClaimedBy != "" || !w.ClaimedUntil.IsZero() || w.LastError != "HTTP 500: card ************4242 refused" {
		t.Errorf("after a failed try: %+v", w)
	}
	must(t, s.RecordWebhookTry(ctx, id, WebhookTry{Status: 200, Delivered: true, At: t0.Add(time.Minute)}))
	ws, _ = s.WebhooksAbout(ctx, "pay-1")
	if w := ws[0]; w.Status != WebhookDelivered || w.LastStatus != 200 || w.Attempts != 2 || !w.DeliveredAt.Equal(t0.Add(time.Minute)) || w.LastError != "" {
		t.Errorf("after delivery: %+v", w)
	}
	if err := s.RecordWebhookTry(ctx, id, WebhookTry{Status: 200, Delivered: true}); err == nil {
		t.Error("a second delivery of a delivered webhook was recorded")
	}
}
