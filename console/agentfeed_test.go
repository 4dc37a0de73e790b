package console

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/paybridge/paybridge/event"
)

const aliceTok, bobTok = "alice-token-0123456789", "bob-token-0123456789ab"

// agentFixture: c1 is bridged to alice on the desk (fakeAgents.Bridged) before any feed starts.
func agentFixture(t *testing.T, mod ...func(*Config)) *fixture {
	t.Helper()
	return newFixture(t, append([]func(*Config){func(c *Config) {
		c.Agents = &fakeAgents{p: AgentPayment{AgentPayment: event.AgentPayment{PaymentID: "PK1", Status: "open"}, CallID: "c1"}}
		c.AgentTokens = map[string]string{"alice": aliceTok, "bob": bobTok}
	}}, mod...)...)
}

// readRaw reads one feed message, its type and call, and the raw bytes.
func readRaw(t *testing.T, c *websocket.Conn) (wireEvent, string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, msg, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var e wireEvent
	if err := json.Unmarshal(msg, &e); err != nil {
		t.Fatalf("bad message %s: %v", msg, err)
	}
	return e, string(msg)
}

// TestAgentFeedCarriesOnlyTheAgentsCalls: an agent's token opens the live feed (the browser's
// way: a subprotocol), and the feed carries the bridge and payment events of the calls
// bridged to that agent — none of another agent's call, none of the self-service or call
// events that only the admin sees. The admin's feed, given the same events, gets them all
// (the control: the events were published and a feed could carry them).
func TestAgentFeedCarriesOnlyTheAgentsCalls(t *testing.T) {
	f := agentFixture(t)
	const callerNumber = "+447700900123"
	f.hub.Publish(event.Event{CallID: "c1", Data: &event.CallStarted{From: callerNumber, Plan: "pay"}})
	f.hub.Publish(event.Event{CallID: "c2", Data: &event.CallStarted{From: callerNumber, Plan: "pay"}})

	open := func(tok string) *websocket.Conn {
		c, res, err := dial(t, wsURL(f), nil, Subprotocol, "bearer."+tok)
		if err != nil {
			t.Fatalf("dial with %s: %v %v", tok[:5], res, err)
		}
		t.Cleanup(func() { c.Close() })
		if c.Subprotocol() != Subprotocol {
			t.Fatalf("negotiated %q", c.Subprotocol())
		}
		return c
	}
	alice, bob, admin := open(aliceTok), open(bobTok), open(testToken)
	for name, c := range map[string]*websocket.Conn{"alice": alice, "bob": bob} {
		snap, raw := readRaw(t, c)
		if calls, _ := snap.Fields["calls"].([]any); snap.Type != "snapshot" || len(calls) != 0 {
			t.Errorf("%s's snapshot = %s, want no calls", name, raw)
		}
	}
	if snap, raw := readRaw(t, admin); snap.Type != "snapshot" || !strings.Contains(raw, callerNumber) {
		t.Fatalf("admin's snapshot = %s, want the live calls", raw)
	}

	pay := func(agent string) *event.AgentPayment {
		return &event.AgentPayment{PaymentID: "PK-" + agent, Agent: agent, Status: "capturing", Capture: "payment-card-number", MaskedCard: "****"}
	}
	published := []event.Event{
		{CallID: "c1", Data: &event.CallAnswered{From: callerNumber}},
		{CallID: "c1", Step: "Pay", Data: &event.PayProgress{For: "payment-card-number", Digits: 4}},
		{CallID: "c1", Step: "Dial", Data: pay("alice")}, // c1: on the desk before the feed started
		{CallID: "c2", Step: "Dial", Data: &event.Bridged{Target: "sip:bob@pbx.example", Agent: "bob"}},
		{CallID: "c2", Step: "Dial", Data: pay("bob")},
		{CallID: "c2", Step: "Dial", Data: &event.Unbridged{By: "agent"}},
		{CallID: "c3", Data: &event.CallStarted{From: callerNumber}},
		{CallID: "c3", Step: "Dial", Data: &event.Bridged{Target: "sip:alice@pbx.example", Agent: "alice"}},
		{CallID: "c3", Step: "Dial", Data: pay("alice")},
		{CallID: "c3", Step: "Dial", Data: pay("bob")}, // a payment naming another agent: never to alice
		{CallID: "c3", Step: "Dial", Data: &event.Unbridged{By: "caller"}},
		{CallID: "c3", Step: "Dial", Data: pay("alice")}, // after the bridge ended: not any more
		{CallID: "c3", Data: &event.CallEnded{}},
		{CallID: "c2", Data: &event.CallEnded{}},
		{CallID: "c4", Step: "Dial", Data: &event.Bridged{Target: "sip:alice@pbx.example", Agent: "alice"}},
		{CallID: "c5", Step: "Dial", Data: &event.Bridged{Target: "sip:bob@pbx.example", Agent: "bob"}},
	}
	for _, e := range published {
		f.hub.Publish(e)
	}
	// Feeds are delivered in publish order, so each list ends with a sentinel (the last event
	// that feed gets): anything let through wrongly would show before it.
	want := map[string][]string{
		"alice": {"c1 agent.payment", "c3 call.bridged", "c3 agent.payment", "c3 call.unbridged", "c4 call.bridged"},
		"bob":   {"c2 call.bridged", "c2 agent.payment", "c2 call.unbridged", "c5 call.bridged"},
	}
	for name, c := range map[string]*websocket.Conn{"alice": alice, "bob": bob} {
		for i, w := range want[name] {
			e, raw := readRaw(t, c)
			if got := e.CallID + " " + e.Type; got != w {
				t.Fatalf("%s's event %d = %s, want %s", name, i, raw, w)
			}
			if strings.Contains(raw, callerNumber) || strings.Contains(raw, "PK-"+map[string]string{"alice": "bob", "bob": "alice"}[name]) {
				t.Errorf("%s's feed carried another's data: %s", name, raw)
			}
		}
	}
	for i, e := range published {
		got, raw := readRaw(t, admin)
		if got.CallID != e.CallID || got.Type != e.Type() {
			t.Fatalf("admin's event %d = %s, want %s %s", i, raw, e.CallID, e.Type())
		}
		if i == 0 && !strings.Contains(raw, callerNumber) { // the scan's control
			t.Fatalf("the admin's call.answered lacks the caller's number: %s", raw)
		}
	}
}

// TestAgentTokenScope: an agent's token reaches whoami, the desk and the feed; every admin
// endpoint answers it 401, as it did before the feed opened to agents.
func TestAgentTokenScope(t *testing.T) {
	f := agentFixture(t)
	for _, tc := range []struct{ tok, want string }{{aliceTok, `{"agent":"alice","role":"agent"}`}, {testToken, `{"role":"admin"}`}} {
		if code, _, b := f.do(t, "GET", "/api/whoami", tc.tok); code != 200 || strings.TrimSpace(string(b)) != tc.want {
			t.Errorf("whoami with %s = %d %s, want %s", tc.tok[:5], code, b, tc.want)
		}
	}
	for _, p := range []string{"GET /api/info", "GET /api/calls", "GET /api/calls/c1", "GET /api/live", "GET /api/payments",
		"GET /api/payments/p1", "POST /api/payments/p1/refunds", "GET /api/history.csv", "GET /api/plans", "POST /api/plans/reload",
		"GET /api/sms", "GET /api/links", "GET /api/export/calls.csv", "GET /api/audit", "GET /api/nodes", "GET /api/stats", "GET /metrics",
		"GET /api/nothing"} {
		method, path, _ := strings.Cut(p, " ")
		if code, _, b := f.do(t, method, path, aliceTok); code != http.StatusUnauthorized {
			t.Errorf("%s with alice's token = %d %s, want 401", p, code, b)
		}
		if code, _, _ := f.do(t, method, path, testToken); code == http.StatusUnauthorized { // control
			t.Errorf("%s with the admin token = 401", p)
		}
	}
	if code, _, _ := f.do(t, "GET", "/api/agent/calls", aliceTok); code != 200 {
		t.Errorf("the desk with alice's token = %d", code)
	}
}

// TestAgentTokenLockout: wrong tokens lock their address out of the feed and the desk as they
// do the admin API (429), but a valid agent's token — like the admin's — still gets in from
// that address, so an attacker sharing it cannot lock the agent out; and an agent's token on
// an admin endpoint is refused without counting as a guess.
func TestAgentTokenLockout(t *testing.T) {
	const limit = 5
	f := agentFixture(t, func(c *Config) { c.AuthFailures = limit })
	for i := 0; i < 3*limit; i++ { // a valid agent token on admin endpoints is no failed sign-in
		if code, _, _ := f.do(t, "GET", "/api/calls", aliceTok); code != http.StatusUnauthorized {
			t.Fatalf("alice on /api/calls #%d = %d, want 401", i, code)
		}
	}
	if code, _, _ := f.do(t, "GET", "/api/whoami", "wrong-token-0123456789"); code != http.StatusUnauthorized {
		t.Fatalf("a wrong token before the lockout = %d, want 401", code)
	}
	for i := 1; i < limit; i++ {
		f.do(t, "GET", "/api/whoami", "wrong-token-0123456789")
	}
	for _, p := range []string{"/api/whoami", "/api/agent/calls", "/api/events", "/api/info"} {
		if code, h, _ := f.do(t, "GET", p, "wrong-token-0123456789"); code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
			t.Errorf("a wrong token on %s after %d failures = %d, want 429 with Retry-After", p, limit, code)
		}
	}
	if _, res, err := dial(t, wsURL(f), nil, Subprotocol, "bearer.wrong-token-0123456789"); err == nil || res == nil || res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a wrong token's feed from a locked-out address: %v %v, want 429", res, err)
	}
	for _, tok := range []string{aliceTok, testToken} {
		if code, _, _ := f.do(t, "GET", "/api/whoami", tok); code != 200 {
			t.Errorf("a valid token (%s) from the locked-out address = %d", tok[:5], code)
		}
		c, res, err := dial(t, wsURL(f), nil, Subprotocol, "bearer."+tok)
		if err != nil {
			t.Errorf("a valid token's (%s) feed from the locked-out address: %v %v", tok[:5], res, err)
			continue
		}
		if e, raw := readRaw(t, c); e.Type != "snapshot" {
			t.Errorf("first message %s", raw)
		}
		c.Close()
	}
	if code, _, _ := f.do(t, "GET", "/api/calls", aliceTok); code != http.StatusUnauthorized {
		t.Errorf("alice on an admin endpoint from the locked-out address = %d, want 401", code)
	}
}
