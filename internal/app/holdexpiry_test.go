package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
	"github.com/paybridge/paybridge/store"
	"github.com/prometheus/client_golang/prometheus"
)

// expiredSink counts payment.expired events by payment.
type expiredSink struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *expiredSink) Emit(ev event.Event) {
	if d, ok := ev.Data.(*event.PaymentExpired); ok {
		s.mu.Lock()
		s.n[d.Operation.PaymentID]++
		s.mu.Unlock()
	}
}

// tee sends every event to each sink.
type tee []event.Sink

func (t tee) Emit(ev event.Event) {
	for _, s := range t {
		s.Emit(ev)
	}
}

// TestHoldExpiryOneNodePerHold: two nodes — two stores on one database (a PostgreSQL database;
// a SQLite file) — run the hold-expiry pass at the same time, over and over, across twelve
// lapsed authorisations at the sandbox (reached over HTTP with OAuth2): half whose hold the
// sandbox let lapse itself (the expiring test card), half it still holds when paybridge's
// record says the hold's time is over. Each hold gets exactly one release request at the
// provider — from whichever node claimed it — one payment.expired event, one payment.expired
// webhook queued (each node's event recorder turns its events into webhooks as serve's does),
// one "expired" history line; the sandbox's ledger ends with every hold expired or released,
// once. Then a node that died holding a claim: the other node takes the hold over once the
// lease has passed, repeating the request with the same idempotency key.
func TestHoldExpiryOneNodePerHold(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			prov := sandbox.New(sandbox.Config{ShortAuthorizationTTL: 300 * time.Millisecond})
			var mu sync.Mutex
			voids := map[string]int{} // charge → release requests the provider received
			provSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/void") {
					mu.Lock()
					voids[strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/globalpci/v1/transaction/"), "/void")]++
					mu.Unlock()
				}
				prov.ServeHTTP(w, r)
			}))
			defer provSrv.Close()
			target := filepath.Join(t.TempDir(), "paybridge.db")
			if dialect == "postgres" {
				target = testDatabase(t)
			}
			plan, ds := callplan.ParseFile(filepath.Join(clusterPlan(t, provSrv.URL), "cluster.xml"), func(string) string { return "" })
			if ds.HasErrors() {
				t.Fatal(ds)
			}
			ctx := context.Background()
			type node struct {
				st     *store.Store
				gs     gatewayStore
				c      *gateway.Connector
				l      *gateway.Lifecycle
				events *expiredSink
			}
			var recorders []func() // stop a node's recorder and write what it holds
			newNode := func(id string, lease time.Duration) *node {
				st, err := store.Open(ctx, target)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				gs := gatewayStore{s: st, node: id, owner: id, holdBatch: 2} // small passes: the nodes interleave
				cs := gateway.NewConnectors(gateway.ConnectorsConfig{Attempts: gs, Backoff: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
				spec := plan.Connector("provider").Spec
				c, err := cs.OpenConnector(&spec)
				if err != nil {
					t.Fatal(err)
				}
				ev := &expiredSink{n: map[string]int{}}
				rec := newEventRecorder(st, &published{}, console.NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
				rec.webhooks = gateway.NewWebhooks(gateway.WebhooksConfig{Store: gs, Logger: slog.New(slog.DiscardHandler),
					Endpoints: []gateway.WebhookEndpoint{{Name: "merchant", URL: "http://127.0.0.1:9/hooks", Secret: "whsec-m"}}})
				rctx, stop := context.WithCancel(ctx)
				rec.start(rctx)
				t.Cleanup(func() { stop(); rec.flush() })
				recorders = append(recorders, func() { stop(); rec.flush() })
				l := gateway.NewLifecycle(gateway.LifecycleConfig{Ledger: gs, Connectors: cs, Events: tee{ev, rec}, HoldLease: lease})
				return &node{st: st, gs: gs, c: c, l: l, events: ev}
			}
			n1, n2 := newNode("n1", time.Minute), newNode("n2", time.Minute)

			authorize := func(id, number string, until time.Time) string {
				t.Helper()
				var num pan.SecureBuffer
				for _, d := range []byte(number) {
					_ = num.Append(d)
				}
				res, err := n1.c.Pay(ctx, &payment.Request{CallID: "call-" + id, Channel: "voice", IdempotencyKey: "auth-" + id,
					Method: payment.MethodAuthorize, Amount: payment.Amount{Minor: 2500, Currency: "GBP"}, Reference: "HOLD-" + id,
					Card: payment.Card{Number: &num, ExpMonth: 12, ExpYear: time.Now().Year() + 2, Brand: "visa"}})
				if err != nil || res.Status != payment.Approved {
					t.Fatalf("authorize %s: %+v %v", id, res, err)
				}
				if until.IsZero() {
					until = res.AuthorizedUntil
				}
				must(t, n1.st.UpsertPaymentSession(ctx, store.PaymentSession{ID: id, CallID: "call-" + id, Connector: "provider",
					ConnectorKey: n1.c.Key(), Channel: "voice", AmountMinor: 2500, Currency: "GBP", State: store.PaymentCompleted,
					Result: store.ResultSuccess, ProviderSessionID: id, ProviderPaymentID: res.ConfirmationCode, Confirmation: res.ConfirmationCode,
					Method: payment.MethodAuthorize, AuthorizedMinor: 2500, AuthorizedUntil: until, MaskedCard: pan.Mask([]byte(number)),
					CreatedAt: time.Now(), UpdatedAt: time.Now()}))
				return res.ConfirmationCode
			}
			const n = 12
			charges := map[string]string{} // payment → charge
			for i := range n {
				id := fmt.Sprintf("hold-%02d", i)
				if i%2 == 0 {
					charges[id] = authorize(id, "4000000000003006", time.Time{}) // the sandbox lets it lapse
				} else {
					charges[id] = authorize(id, "4242424242424242", time.Now().Add(-time.Second)) // paybridge's record says it lapsed
				}
			}
			time.Sleep(400 * time.Millisecond) // past the expiring card's lifetime

			start := make(chan struct{})
			var wg sync.WaitGroup
			for _, nd := range []*node{n1, n2} {
				wg.Go(func() {
					<-start
					for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
						if _, err := nd.l.ExpireHolds(ctx); err != nil {
							t.Error(err)
							return
						}
						left := 0
						for id := range charges {
							if f, _ := nd.st.PaymentFacts(ctx, id); f == nil || f.State != payment.StateExpired {
								left++
							}
						}
						if left == 0 {
							return
						}
					}
					t.Error("holds still not expired after 30 s")
				})
			}
			close(start)
			wg.Wait()

			for _, stop := range recorders {
				stop()
			}
			queued, err := n1.st.DueWebhooks(ctx, time.Now().Add(time.Hour), 1000)
			if err != nil {
				t.Fatal(err)
			}
			webhooks := map[string]int{}
			for _, w := range queued {
				var body struct {
					Type string `json:"type"`
					Data struct {
						Operation event.Operation `json:"operation"`
					} `json:"data"`
				}
				if err := json.Unmarshal(w.Payload, &body); err != nil {
					t.Fatal(err)
				}
				if body.Type == "payment.expired" {
					webhooks[body.Data.Operation.PaymentID]++
				}
			}
			for id, ch := range charges {
				if webhooks[id] != 1 {
					t.Errorf("%s: %d payment.expired webhooks, want 1", id, webhooks[id])
				}
				mu.Lock()
				got := voids[ch]
				mu.Unlock()
				if got != 1 {
					t.Errorf("%s: %d release requests at the provider, want 1", id, got)
				}
				if e := n1.events.n[id] + n2.events.n[id]; e != 1 {
					t.Errorf("%s: %d payment.expired events (n1 %d, n2 %d), want 1", id, e, n1.events.n[id], n2.events.n[id])
				}
				hist, err := n1.st.History(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				expired := 0
				for _, h := range hist {
					if h.Action == "expired" {
						expired++
					}
				}
				if expired != 1 {
					t.Errorf("%s: %d expired lines in the history, want 1", id, expired)
				}
			}
			t.Logf("of %d holds n1 expired %d, n2 %d", n, len(n1.events.n), len(n2.events.n))
			for _, c := range prov.Ledger() {
				released := 0
				for _, op := range c.Operations {
					if op.Kind == "void" {
						released++
					}
				}
				switch {
				case c.Status == "expired" && released == 0, c.Status == "voided" && released == 1:
				default:
					t.Errorf("charge %s at the sandbox: %s with %d voids, want expired, or voided once", c.ID, c.Status, released)
				}
			}

			// A node dies holding its claim on a lapsed hold, its release request taken by the
			// provider but never answered: the other node leaves the hold alone until the lease
			// has passed, then releases it with the same idempotency key — the provider replays
			// its answer, and its ledger still has one release.
			dead := newNode("n3", 2*time.Second)
			ch := authorize("orphan", "4242424242424242", time.Now().Add(-time.Second))
			prov.SetFaults(sandbox.Faults{LoseFirst: 100, Paths: []string{"/globalpci/v1/transaction/" + ch + "/void$"}})
			if k, _ := dead.l.ExpireHolds(ctx); k != 0 {
				t.Fatalf("n3 expired %d holds without the provider's answer", k)
			}
			prov.SetFaults(sandbox.Faults{})
			if f, _ := n1.st.PaymentFacts(ctx, "orphan"); f.State != payment.StateAuthorized {
				t.Fatalf("a hold whose release got no answer is %s", f.State)
			}
			if k, _ := n2.l.ExpireHolds(ctx); k != 0 {
				t.Fatalf("n2 expired %d holds under n3's live claim", k)
			}
			var k int
			for deadline := time.Now().Add(20 * time.Second); k == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				k, _ = n2.l.ExpireHolds(ctx)
			}
			if k != 1 || n2.events.n["orphan"] != 1 {
				t.Fatalf("after n3's lease: n2 expired %d, events %d", k, n2.events.n["orphan"])
			}
			for _, c := range prov.Ledger() {
				if c.ID == ch && (c.Status != "voided" || len(c.Operations) != 1) {
					t.Errorf("the orphan's charge: %s, operations %+v", c.Status, c.Operations)
				}
			}
		})
	}
}
