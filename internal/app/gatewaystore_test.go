package app

import (
	"context"
	"testing"
	"time"

	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/store"
)

// TestDeliveryPassWritesOnlyWhenDue: the webhook dispatcher's pass (every second, and after
// each delivery queued) claims through a write — a commit, on PostgreSQL row locks — only when
// a delivery is due; with nothing to send it makes no write at all. A due delivery is claimed
// for this node and delivered in one more write (status and outcome together).
func TestDeliveryPassWritesOnlyWhenDue(t *testing.T) {
	bothDialects(t, testDeliveryPassWritesOnlyWhenDue)
}

func testDeliveryPassWritesOnlyWhenDue(t *testing.T) {
	st, _ := openRecorderStore(t)
	ctx := context.Background()
	gs := gatewayStore{s: st, node: "n1"}
	now := time.Now()
	before := st.WriteStats()
	for range 5 {
		ds, err := gs.DueDeliveries(ctx, now, 100)
		if err != nil || len(ds) != 0 {
			t.Fatalf("empty store: %d deliveries, %v", len(ds), err)
		}
	}
	if w := st.WriteStats().Writes - before.Writes; w != 0 {
		t.Errorf("5 passes with nothing due made %d writes, want 0", w)
	}
	// Control: with a delivery due, the pass claims it (a write) and returns it.
	d := &gateway.Delivery{EventID: "evt_1", EventType: "pay.completed", Endpoint: "e", URL: "https://example.test/hook",
		Body: []byte(`{}`), NextAttempt: now, CreatedAt: now}
	if err := gs.EnqueueDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	before = st.WriteStats()
	ds, err := gs.DueDeliveries(ctx, now, 100)
	if err != nil || len(ds) != 1 || ds[0].ID != d.ID {
		t.Fatalf("due delivery: %+v, %v", ds, err)
	}
	if w := st.WriteStats().Writes - before.Writes; w != 1 {
		t.Errorf("the claim took %d writes, want 1", w)
	}
	before = st.WriteStats()
	if err := gs.MarkDelivered(ctx, d.ID, 204, now); err != nil {
		t.Fatal(err)
	}
	if w := st.WriteStats().Writes - before.Writes; w != 1 {
		t.Errorf("recording the delivery took %d writes, want 1", w)
	}
	ws, err := st.WebhooksAbout(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var got *store.Webhook
	for i := range ws {
		if ws[i].ID == d.ID {
			got = &ws[i]
		}
	}
	if got == nil || got.Status != store.WebhookDelivered || got.LastStatus != 204 || got.ClaimedBy != "" {
		t.Errorf("after delivery: %+v", got)
	}
}
