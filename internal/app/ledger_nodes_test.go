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

// The payment ledger on several nodes, in-process: each node is its own store on one database
// (a PostgreSQL database, or a SQLite file), its own connectors to one sandbox (over HTTP, with
// OAuth2), its own Lifecycle, and its own event recorder turning lifecycle events into queued
// webhooks as serve's does.

// opSink counts lifecycle events by "type/payment".
type opSink struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *opSink) Emit(ev event.Event) {
	if op := event.OperationOf(ev.Data); op != nil {
		s.mu.Lock()
		s.n[ev.Type()+"/"+op.PaymentID]++
		s.mu.Unlock()
	}
}

func (s *opSink) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[key]
}

// tee sends every event to each sink.
type tee []event.Sink

func (t tee) Emit(ev event.Event) {
	for _, s := range t {
		s.Emit(ev)
	}
}

type ledgerNode struct {
	st     *store.Store
	gs     gatewayStore
	c      *gateway.Connector
	l      *gateway.Lifecycle
	hooks  *gateway.ProviderHooks // the provider's webhooks, secret "whsec-p"
	events *opSink
}

type ledgerCluster struct {
	t         *testing.T
	prov      *sandbox.Provider
	mu        sync.Mutex
	voids     map[string]int // charge → release requests the provider received
	target    string
	plan      *callplan.Plan
	recorders []func() // stop a node's recorder and write what it holds
}

func newLedgerCluster(t *testing.T, dialect string, cfg sandbox.Config) *ledgerCluster {
	c := &ledgerCluster{t: t, prov: sandbox.New(cfg), voids: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/void") {
			c.mu.Lock()
			c.voids[strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/globalpci/v1/transaction/"), "/void")]++
			c.mu.Unlock()
		}
		c.prov.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.target = filepath.Join(t.TempDir(), "paybridge.db")
	if dialect == "postgres" {
		c.target = testDatabase(t)
	}
	plan, ds := callplan.ParseFile(filepath.Join(clusterPlan(t, srv.URL), "cluster.xml"), func(string) string { return "" })
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	c.plan = plan
	return c
}

func (c *ledgerCluster) voidsOf(charge string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.voids[charge]
}

// node starts a node with its id and its claim lease on lapsed holds.
func (c *ledgerCluster) node(id string, lease time.Duration) *ledgerNode {
	t := c.t
	ctx := context.Background()
	st, err := store.Open(ctx, c.target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	gs := gatewayStore{s: st, node: id, owner: id, holdBatch: 2} // small passes: the nodes interleave
	cs := gateway.NewConnectors(gateway.ConnectorsConfig{Attempts: gs, Backoff: time.Millisecond, Timeout: 2 * time.Second,
		Logger: slog.New(slog.DiscardHandler)})
	spec := c.plan.Connector("provider").Spec
	conn, err := cs.OpenConnector(&spec)
	if err != nil {
		t.Fatal(err)
	}
	ev := &opSink{n: map[string]int{}}
	rec := newEventRecorder(st, &published{}, console.NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
	rec.webhooks = gateway.NewWebhooks(gateway.WebhooksConfig{Store: gs, Logger: slog.New(slog.DiscardHandler),
		Endpoints: []gateway.WebhookEndpoint{{Name: "merchant", URL: "http://127.0.0.1:9/hooks", Secret: "whsec-m"}}})
	rctx, stop := context.WithCancel(ctx)
	rec.start(rctx)
	t.Cleanup(func() { stop(); rec.flush() })
	c.recorders = append(c.recorders, func() { stop(); rec.flush() })
	l := gateway.NewLifecycle(gateway.LifecycleConfig{Ledger: gs, Connectors: cs, Events: tee{ev, rec}, HoldLease: lease})
	hooks := gateway.NewProviderHooks(gateway.ProviderHooksConfig{Secrets: map[string]string{"sandbox": "whsec-p"}, Lifecycle: l})
	return &ledgerNode{st: st, gs: gs, c: conn, l: l, hooks: hooks, events: ev}
}

// authorize places a hold of 25.00 with number through n and writes its payment record, whose
// hold lapses at until (zero: when the provider said).
func (c *ledgerCluster) authorize(n *ledgerNode, id, number string, until time.Time) string {
	t := c.t
	t.Helper()
	ctx := context.Background()
	var num pan.SecureBuffer
	for _, d := range []byte(number) {
		_ = num.Append(d)
	}
	res, err := n.c.Pay(ctx, &payment.Request{CallID: "call-" + id, Channel: "voice", IdempotencyKey: "auth-" + id,
		Method: payment.MethodAuthorize, Amount: payment.Amount{Minor: 2500, Currency: "GBP"}, Reference: "HOLD-" + id,
		Card: payment.Card{Number: &num, ExpMonth: 12, ExpYear: time.Now().Year() + 2, Brand: "visa"}})
	if err != nil || res.Status != payment.Approved {
		t.Fatalf("authorize %s: %+v %v", id, res, err)
	}
	if until.IsZero() {
		until = res.AuthorizedUntil
	}
	must(t, n.st.UpsertPaymentSession(ctx, store.PaymentSession{ID: id, CallID: "call-" + id, Connector: "provider",
		ConnectorKey: n.c.Key(), Channel: "voice", AmountMinor: 2500, Currency: "GBP", State: store.PaymentCompleted,
		Result: store.ResultSuccess, ProviderSessionID: id, ProviderPaymentID: res.ConfirmationCode, Confirmation: res.ConfirmationCode,
		Method: payment.MethodAuthorize, AuthorizedMinor: 2500, AuthorizedUntil: until, MaskedCard: pan.Mask([]byte(number)),
		CreatedAt: time.Now(), UpdatedAt: time.Now()}))
	return res.ConfirmationCode
}

// webhooks stops every node's recorder and counts the queued webhooks by "type/payment".
func (c *ledgerCluster) webhooks(st *store.Store) map[string]int {
	t := c.t
	for _, stop := range c.recorders {
		stop()
	}
	queued, err := st.DueWebhooks(context.Background(), time.Now().Add(time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
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
		out[body.Type+"/"+body.Data.Operation.PaymentID]++
	}
	return out
}

// historyCount counts a payment's history lines with action.
func historyCount(t *testing.T, st *store.Store, id, action string) int {
	t.Helper()
	hist, err := st.History(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, h := range hist {
		if h.Action == action {
			n++
		}
	}
	return n
}

// TestHoldExpiryOneNodePerHold: two nodes run the hold-expiry pass at the same time, over and
// over, across twelve lapsed authorisations at the sandbox: half whose hold the sandbox let
// lapse itself (the expiring test card), half it still holds when paybridge's record says the
// hold's time is over. Each hold gets exactly one release request at the provider — from
// whichever node claimed it — one payment.expired event, one payment.expired webhook queued,
// one "expired" history line; the sandbox's ledger ends with every hold expired or released,
// once. Then a node that died holding a claim: the other node takes the hold over once the
// lease has passed, repeating the request with the same idempotency key.
func TestHoldExpiryOneNodePerHold(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			c := newLedgerCluster(t, dialect, sandbox.Config{ShortAuthorizationTTL: 300 * time.Millisecond})
			ctx := context.Background()
			n1, n2 := c.node("n1", time.Minute), c.node("n2", time.Minute)
			const n = 12
			charges := map[string]string{} // payment → charge
			for i := range n {
				id := fmt.Sprintf("hold-%02d", i)
				if i%2 == 0 {
					charges[id] = c.authorize(n1, id, "4000000000003006", time.Time{}) // the sandbox lets it lapse
				} else {
					charges[id] = c.authorize(n1, id, "4242424242424242", time.Now().Add(-time.Second)) // paybridge's record says it lapsed
				}
			}
			time.Sleep(400 * time.Millisecond) // past the expiring card's lifetime

			start := make(chan struct{})
			var wg sync.WaitGroup
			for _, nd := range []*ledgerNode{n1, n2} {
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

			hooks := c.webhooks(n1.st)
			by := map[string]int{}
			for id, ch := range charges {
				key := "payment.expired/" + id
				if got := c.voidsOf(ch); got != 1 {
					t.Errorf("%s: %d release requests at the provider, want 1", id, got)
				}
				if e1, e2 := n1.events.count(key), n2.events.count(key); e1+e2 != 1 {
					t.Errorf("%s: %d payment.expired events (n1 %d, n2 %d), want 1", id, e1+e2, e1, e2)
				} else if e1 == 1 {
					by["n1"]++
				} else {
					by["n2"]++
				}
				if hooks[key] != 1 {
					t.Errorf("%s: %d payment.expired webhooks, want 1", id, hooks[key])
				}
				if k := historyCount(t, n1.st, id, "expired"); k != 1 {
					t.Errorf("%s: %d expired lines in the history, want 1", id, k)
				}
			}
			t.Logf("of %d holds n1 expired %d, n2 %d", n, by["n1"], by["n2"])
			for _, ch := range c.prov.Ledger() {
				released := 0
				for _, op := range ch.Operations {
					if op.Kind == "void" {
						released++
					}
				}
				switch {
				case ch.Status == "expired" && released == 0, ch.Status == "voided" && released == 1:
				default:
					t.Errorf("charge %s at the sandbox: %s with %d voids, want expired, or voided once", ch.ID, ch.Status, released)
				}
			}

			// A node dies holding its claim on a lapsed hold, its release request taken by the
			// provider but never answered: the other node leaves the hold alone until the lease
			// has passed, then releases it with the same idempotency key — the provider replays
			// its answer, and its ledger still has one release.
			dead := c.node("n3", 2*time.Second)
			ch := c.authorize(n1, "orphan", "4242424242424242", time.Now().Add(-time.Second))
			c.prov.SetFaults(sandbox.Faults{LoseFirst: 100, Paths: []string{"/globalpci/v1/transaction/" + ch + "/void$"}})
			if k, _ := dead.l.ExpireHolds(ctx); k != 0 {
				t.Fatalf("n3 expired %d holds without the provider's answer", k)
			}
			c.prov.SetFaults(sandbox.Faults{})
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
			if k != 1 || n2.events.count("payment.expired/orphan") != 1 {
				t.Fatalf("after n3's lease: n2 expired %d, events %d", k, n2.events.count("payment.expired/orphan"))
			}
			for _, got := range c.prov.Ledger() {
				if got.ID == ch && (got.Status != "voided" || len(got.Operations) != 1) {
					t.Errorf("the orphan's charge: %s, operations %+v", got.Status, got.Operations)
				}
			}
		})
	}
}

// TestRefundFinishedOnceAcrossNodes: a refund whose answer was lost is finished at the same
// moment by the settling loop on two nodes and by the provider's refund.succeeded webhook
// (delivered twice) on the second: one refund.succeeded event, one webhook, one "refunded"
// history line, and the ledger agrees with the provider's. Only the FinishOp that moved the
// operation out of pending reports it.
func TestRefundFinishedOnceAcrossNodes(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			c := newLedgerCluster(t, dialect, sandbox.Config{})
			ctx := context.Background()
			n1, n2 := c.node("n1", time.Minute), c.node("n2", time.Minute)
			ch := c.authorize(n1, "p", "4242424242424242", time.Time{})
			actor := payment.Actor{Kind: payment.ActorAdmin, ID: "admin-token@127.0.0.1"}
			if r, err := n1.l.Capture(ctx, &payment.OpRequest{PaymentID: "p", IdempotencyKey: "cap", Actor: actor}); err != nil || r.State != payment.OpSucceeded {
				t.Fatalf("capture: %+v %v", r, err)
			}
			c.prov.SetFaults(sandbox.Faults{LoseFirst: 100, Paths: []string{"/globalpci/v1/transaction/" + ch + "/refund$"}})
			r, err := n1.l.Refund(ctx, &payment.OpRequest{PaymentID: "p", Amount: payment.Amount{Minor: 700, Currency: "GBP"},
				IdempotencyKey: "lost", Actor: actor})
			if err != nil || r.State != payment.OpPending {
				t.Fatalf("refund without an answer: %+v %v", r, err)
			}
			c.prov.SetFaults(sandbox.Faults{})

			body := `{"id":"evt_r1","type":"refund.succeeded","created":1,"data":{"transactionId":"` + ch +
				`","api":"session","kind":"refund","idempotencyKey":"lost","status":"succeeded","amount":"7.00","currency":"GBP","captured":"25.00","refunded":"7.00"}}`
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range 2 {
				for _, nd := range []*ledgerNode{n1, n2} {
					wg.Go(func() {
						<-start
						if _, err := nd.l.ReconcileOps(ctx, 0); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Go(func() {
					<-start
					req := httptest.NewRequest("POST", "/webhooks/provider/sandbox", strings.NewReader(body))
					req.Header.Set(gateway.SignatureHeader, gateway.Sign([]byte(body), "whsec-p", time.Now()))
					w := httptest.NewRecorder()
					n2.hooks.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						t.Errorf("provider webhook %d: %d %s", i, w.Code, w.Body)
					}
				})
			}
			close(start)
			wg.Wait()

			hooks := c.webhooks(n1.st)
			const key = "refund.succeeded/p"
			if e1, e2 := n1.events.count(key), n2.events.count(key); e1+e2 != 1 {
				t.Errorf("%d refund.succeeded events (n1 %d, n2 %d), want 1", e1+e2, e1, e2)
			}
			if hooks[key] != 1 {
				t.Errorf("%d refund.succeeded webhooks, want 1 (%v)", hooks[key], hooks)
			}
			if k := historyCount(t, n1.st, "p", "refunded"); k != 1 {
				t.Errorf("%d refunded lines in the history, want 1", k)
			}
			f, err := n2.st.PaymentFacts(ctx, "p")
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range c.prov.Ledger() {
				if got.ID == ch && (got.Refunded != f.RefundedMinor || got.Captured != f.CapturedMinor || f.RefundedMinor != 700) {
					t.Errorf("paybridge captured/refunded %d/%d, the provider %d/%d", f.CapturedMinor, f.RefundedMinor, got.Captured, got.Refunded)
				}
			}
		})
	}
}
