package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/paybridge/paybridge/store"
)

// A call, its payment and the masked summary that outlives the call.
func Example() {
	dir, _ := os.MkdirTemp("", "store-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(dir, "paybridge.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	_ = s.CreateCall(ctx, store.Call{ID: "call-1", From: "+447700900001", To: "+441632960000", Plan: "pay", StartedAt: start})
	_ = s.AppendEvent(ctx, "call-1", store.EventRecord{Type: "pay.progress", Step: "Pay",
		Fields: json.RawMessage(`{"for":"payment-card-number","digits":16}`)})
	_ = s.CreateAttempt(ctx, store.Attempt{IdempotencyKey: "call-1/1", SessionID: "sess-1", AmountMinor: 1250, Currency: "GBP"})
	_ = s.CompleteAttempt(ctx, "call-1/1", store.AttemptResult{Result: "approved", Confirmation: "ch_123"})
	_ = s.UpsertPaymentSession(ctx, store.PaymentSession{ID: "sess-1", CallID: "call-1", Connector: "sandbox",
		AmountMinor: 1250, Currency: "GBP", State: "completed", Result: "success",
		MaskedCard: "************4242", CardType: "visa", Confirmation: "ch_123"})
	_ = s.EndCall(ctx, "call-1", "caller-hangup", start.Add(90*time.Second))

	p, attempts, _ := s.GetPayment(ctx, "sess-1")
	fmt.Println(p.Result, p.MaskedCard, p.CardType, p.AmountMinor, p.Currency, len(attempts), attempts[0].Result)
	c, timeline, _ := s.GetCall(ctx, "call-1")
	fmt.Println(c.State, c.HangupCause, c.EndedAt.Sub(c.StartedAt), timeline[0].Type, string(timeline[0].Fields))
	// Output:
	// success ************4242 visa 1250 GBP 1 approved
	// ended caller-hangup 1m30s pay.progress {"for":"payment-card-number","digits":16}
}
