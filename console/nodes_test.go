package console

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/store"
)

// TestHealthzWhileDraining: a load balancer's probe gets 503 from a draining node, without
// the token, and 200 again otherwise.
func TestHealthzWhileDraining(t *testing.T) {
	var draining atomic.Bool
	f := newFixture(t, func(c *Config) { c.Draining = draining.Load })
	if code, _, b := f.do(t, "GET", "/healthz", ""); code != 200 || string(b) != "ok\n" {
		t.Fatalf("healthz = %d %q", code, b)
	}
	draining.Store(true)
	if code, h, b := f.do(t, "GET", "/healthz", ""); code != 503 || string(b) != "draining\n" || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("healthz while draining = %d %q", code, b)
	}
}

// TestNodesInTheAPI: calls and payments filter by the node that took the call, /api/nodes
// lists the database's nodes with which one answers, /api/info names it, and the live table
// labels each call with its node.
func TestNodesInTheAPI(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Node = "pb-2" })
	ctx := context.Background()
	t0 := time.Now().Add(-time.Minute).UTC()
	for i, n := range []string{"pb-1", "pb-2", "pb-1"} {
		id := []string{"a", "b", "c"}[i]
		if err := f.st.CreateCall(ctx, store.Call{ID: id, Node: n, StartedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
		if err := f.st.UpsertPaymentSession(ctx, store.PaymentSession{ID: "p" + id, CallID: id, Result: "success"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"pb-1", "pb-2"} {
		l, err := f.st.RegisterNode(ctx, store.Node{ID: id, SIPAddr: "127.0.0.1:5060"})
		if err != nil {
			t.Fatal(err)
		}
		if id == "pb-1" {
			l.Close(ctx)
		}
	}
	var calls struct{ Items []store.Call }
	f.getJSON(t, "/api/calls?node=pb-1", &calls)
	if len(calls.Items) != 2 || calls.Items[0].ID != "c" || calls.Items[1].ID != "a" || calls.Items[0].Node != "pb-1" {
		t.Fatalf("calls of pb-1 = %+v", calls.Items)
	}
	var pays struct{ Items []store.PaymentSession }
	f.getJSON(t, "/api/payments?node=pb-1", &pays)
	if len(pays.Items) != 2 || pays.Items[0].CallID != "c" || pays.Items[1].CallID != "a" {
		t.Fatalf("payments of pb-1 = %+v", pays.Items)
	}
	var nodes struct{ Items []nodeView }
	f.getJSON(t, "/api/nodes", &nodes)
	if len(nodes.Items) != 2 || nodes.Items[0].ID != "pb-1" || nodes.Items[0].Alive || nodes.Items[0].State != store.NodeStopped ||
		!nodes.Items[1].Alive || !nodes.Items[1].Self {
		t.Fatalf("nodes = %+v", nodes.Items)
	}
	var info map[string]any
	f.getJSON(t, "/api/info", &info)
	if info["node"] != "pb-2" || info["database"] != "sqlite" {
		t.Fatalf("info = %v", info)
	}
	f.hub.Publish(event.Event{CallID: "x", Node: "pb-1", Data: &event.CallAnswered{From: "+44"}})
	if live := f.hub.Live(); len(live) != 1 || live[0].Node != "pb-1" {
		t.Fatalf("live = %+v", live)
	}
}
