package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paybridge/paybridge/event"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestWebhooksSignedPersistedRetried(t *testing.T) {
	const secret = "whsec_test"
	var calls atomic.Int32
	var mu sync.Mutex
	var got []WebhookEvent
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := VerifySignature(r.Header.Get(SignatureHeader), body, secret, 5*time.Minute); err != nil {
			t.Errorf("receiver: %v", err)
			w.WriteHeader(400)
			return
		}
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusInternalServerError) // fail twice
			return
		}
		var ev WebhookEvent
		if err := json.Unmarshal(body, &ev); err != nil || ev.ID != r.Header.Get("Paybridge-Event-Id") {
			t.Errorf("body %s: %v", body, err)
		}
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
	}))
	defer recv.Close()
	led := NewMemoryStore()
	clk := &clock{t: time.Now()}
	wh := NewWebhooks(WebhooksConfig{Store: led, Now: clk.Now, Backoff: time.Second,
		Endpoints: []WebhookEndpoint{{Name: "crm", URL: recv.URL, Secret: secret, Events: []string{"pay.completed"}}}})
	ctx := context.Background()
	id, err := wh.Publish(ctx, "pay.completed", map[string]any{"call_id": "c1", "masked_card": "************4242", "result": "success"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wh.Publish(ctx, "call.started", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	// Persisted before any delivery; the unwanted type is not.
	ds := led.Deliveries()
	if len(ds) != 1 || ds[0].State != DeliveryPending || ds[0].EventID != id {
		t.Fatalf("deliveries %+v", ds)
	}
	for i := 0; i < 3; i++ {
		if _, err := wh.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		// Not due again until the backoff has passed.
		if n, _ := wh.DeliverDue(ctx); n != 0 {
			t.Fatalf("redelivered before the backoff")
		}
		clk.Add(10 * time.Second)
	}
	ds = led.Deliveries()
	if ds[0].State != DeliveryDelivered || ds[0].Attempts != 3 {
		t.Fatalf("after 3 passes: %+v", ds[0])
	}
	if len(got) != 1 || got[0].ID != id || got[0].Type != "pay.completed" {
		t.Fatalf("receiver got %+v", got)
	}
}

func TestWebhooksGiveUpAfterMaxAttempts(t *testing.T) {
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	defer recv.Close()
	led := NewMemoryStore()
	clk := &clock{t: time.Now()}
	wh := NewWebhooks(WebhooksConfig{Store: led, Now: clk.Now, MaxAttempts: 3, Backoff: time.Second,
		Endpoints: []WebhookEndpoint{{Name: "e", URL: recv.URL, Secret: "s"}}})
	if _, err := wh.Publish(context.Background(), "x", 1); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		_, _ = wh.DeliverDue(context.Background())
		clk.Add(time.Hour)
	}
	d := led.Deliveries()[0]
	if d.State != DeliveryDead || d.Attempts != 3 || d.LastStatus != 503 {
		t.Fatalf("%+v", d)
	}
}

func TestWebhooksRunDelivers(t *testing.T) {
	done := make(chan string, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		done <- r.Header.Get("Paybridge-Event-Id")
	}))
	defer recv.Close()
	led := NewMemoryStore()
	wh := NewWebhooks(WebhooksConfig{Store: led, PollInterval: time.Hour,
		Endpoints: []WebhookEndpoint{{Name: "e", URL: recv.URL, Secret: "s"}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go wh.Run(ctx)
	id, _ := wh.Publish(ctx, "link.paid", map[string]string{"link_id": "lnk_x"})
	select {
	case got := <-done:
		if got != id {
			t.Fatalf("event id %s, want %s", got, id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not deliver (Publish should wake it)")
	}
}

func TestWebhookBackoff(t *testing.T) {
	wh := NewWebhooks(WebhooksConfig{Backoff: time.Second, MaxBackoff: 10 * time.Second})
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := wh.backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
}

// Engine events become webhooks through Sink, filtered by type, with the event in the data.
func TestWebhooksSinkPublishesEngineEvents(t *testing.T) {
	led := NewMemoryStore()
	wh := NewWebhooks(WebhooksConfig{Store: led, Endpoints: []WebhookEndpoint{{Name: "e", URL: "http://127.0.0.1:1/", Secret: "s"}}})
	sink := wh.Sink("pay.completed")
	sink.Emit(event.Event{CallID: "c1", Data: &event.PayProgress{}})
	sink.Emit(event.Event{CallID: "c1", Data: &event.PayCompleted{Payment: event.Payment{Result: "success", MaskedCard: "************4242"}}})
	ds := led.Deliveries()
	if len(ds) != 1 || ds[0].EventType != "pay.completed" {
		t.Fatalf("deliveries %+v", ds)
	}
	var ev WebhookEvent
	if err := json.Unmarshal(ds[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	var data event.Event
	if err := json.Unmarshal(ev.Data, &data); err != nil || data.CallID != "c1" || event.PaymentOf(data.Data).Result != "success" {
		t.Fatalf("data %s: %v", ev.Data, err)
	}
	// An unreachable endpoint is a failed try, retried later, not an error of the publisher.
	if n, err := wh.DeliverDue(context.Background()); n != 0 || err != nil {
		t.Fatalf("deliver: %d %v", n, err)
	}
	if d := led.Deliveries()[0]; d.State != DeliveryPending || d.Attempts != 1 || d.LastError == "" {
		t.Fatalf("after a failed try: %+v", d)
	}
}

// A slow receiver does not hold up the others.
func TestWebhooksSlowReceiverDoesNotBlockOthers(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer slow.Close()
	defer close(release)
	var fast atomic.Int32
	quick := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { fast.Add(1) }))
	defer quick.Close()
	led := NewMemoryStore()
	wh := NewWebhooks(WebhooksConfig{Store: led, Timeout: 2 * time.Second, Endpoints: []WebhookEndpoint{
		{Name: "slow", URL: slow.URL, Secret: "s"}, {Name: "fast", URL: quick.URL, Secret: "s"}}})
	for i := 0; i < 3; i++ {
		if _, err := wh.Publish(context.Background(), "x", i); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() { _, _ = wh.DeliverDue(context.Background()); close(done) }()
	deadline := time.Now().Add(time.Second)
	for fast.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if fast.Load() != 3 {
		t.Fatalf("fast receiver got %d of 3 while the slow one hung", fast.Load())
	}
	<-done
}

// passCounter is a WebhookStore that reports every delivery pass (DueDeliveries) on passes.
type passCounter struct {
	*MemoryStore
	passes chan struct{}
}

func (p passCounter) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]*Delivery, error) {
	p.passes <- struct{}{}
	return p.MemoryStore.DueDeliveries(ctx, now, limit)
}

// TestWebhooksWakeOnlyForADelivery: an event no endpoint wants (on a node without webhooks,
// every payment) queues nothing and must not wake the dispatcher — a wake is a delivery pass,
// a claim in the store. An event an endpoint wants wakes it and is delivered.
func TestWebhooksWakeOnlyForADelivery(t *testing.T) {
	done := make(chan string, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		done <- r.Header.Get("Paybridge-Event-Type")
	}))
	defer recv.Close()
	st := passCounter{MemoryStore: NewMemoryStore(), passes: make(chan struct{}, 16)}
	wh := NewWebhooks(WebhooksConfig{Store: st, PollInterval: time.Hour,
		Endpoints: []WebhookEndpoint{{Name: "e", URL: recv.URL, Secret: "s", Events: []string{"pay.completed"}}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go wh.Run(ctx)
	<-st.passes // Run's first pass, at start
	for range 3 {
		if _, err := wh.Publish(ctx, "link.paid", map[string]string{"link_id": "lnk_x"}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-st.passes:
		t.Fatal("an event no endpoint wants woke the dispatcher")
	case <-time.After(300 * time.Millisecond): // a wake would have come by now; never a false failure
	}
	if _, err := wh.Publish(ctx, "pay.completed", map[string]string{"result": "success"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-st.passes:
	case <-time.After(30 * time.Second):
		t.Fatal("a queued delivery did not wake the dispatcher")
	}
	select {
	case typ := <-done:
		if typ != "pay.completed" {
			t.Fatalf("delivered %s", typ)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("not delivered")
	}
}

// countedData counts how often it is encoded.
type countedData struct{ n *int }

func (c countedData) MarshalJSON() ([]byte, error) {
	*c.n++
	return []byte(`{"result":"success"}`), nil
}

// An event no endpoint wants is not encoded (nor persisted): on a node without webhooks every
// payment published its record's JSON for nobody. One an endpoint wants is encoded once for
// all of them.
func TestWebhooksEncodeOnlyWhatIsWanted(t *testing.T) {
	led := NewMemoryStore()
	wh := NewWebhooks(WebhooksConfig{Store: led, Endpoints: []WebhookEndpoint{
		{Name: "a", URL: "http://127.0.0.1:1/a", Events: []string{"pay.completed"}},
		{Name: "b", URL: "http://127.0.0.1:1/b", Events: []string{"pay.completed", "link.paid"}}}})
	n := 0
	id, err := wh.PublishAbout(context.Background(), "pay.refunded", "s1", countedData{&n})
	if err != nil || !strings.HasPrefix(id, "evt_") {
		t.Fatalf("unwanted event: id %q, %v", id, err)
	}
	if n != 0 || len(led.Deliveries()) != 0 {
		t.Fatalf("an event no endpoint wants was encoded %d times, %d deliveries", n, len(led.Deliveries()))
	}
	if _, err := wh.PublishAbout(context.Background(), "pay.completed", "s1", countedData{&n}); err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(led.Deliveries()) != 2 {
		t.Fatalf("a wanted event: encoded %d times, %d deliveries; want 1 and 2", n, len(led.Deliveries()))
	}
	none := NewWebhooks(WebhooksConfig{Store: led})
	if _, err := none.PublishAbout(context.Background(), "pay.completed", "s2", countedData{&n}); err != nil || n != 1 {
		t.Fatalf("no endpoints: encoded %d times in all (want 1), %v", n, err)
	}
}

// BenchmarkPublishUnwanted is a payment's webhook on a node without endpoints (every payment of
// the capacity run): a record of about the payment record's size.
//
//	go test ./gateway -run '^$' -bench PublishUnwanted -benchmem -count 6
func BenchmarkPublishUnwanted(b *testing.B) {
	wh := NewWebhooks(WebhooksConfig{Store: NewMemoryStore()})
	rec := map[string]any{"id": "pay_0123456789abcdef", "call_id": "c-0123456789", "plan": "loadtest-pay", "connector": "provider",
		"connector_key": "loadtest-pay/provider#67d279a47547dbe9", "session_id": "sess_0123456789", "result": "success",
		"status": "approved", "masked_card": "************4242", "card_type": "visa", "amount_minor": 999, "currency": "GBP",
		"reference": "load-c-0123456789", "confirmation_code": "txn_0123456789", "method": "charge", "attempts": 3,
		"created_at": time.Unix(1800000000, 0).UTC(), "updated_at": time.Unix(1800000020, 0).UTC()}
	for b.Loop() {
		if _, err := wh.PublishAbout(context.Background(), "payment.succeeded", "pay_0123456789abcdef", rec); err != nil {
			b.Fatal(err)
		}
	}
}
