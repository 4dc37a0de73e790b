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

func wsURL(f *fixture) string { return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/api/events" }

func dial(t *testing.T, url string, h http.Header, protocols ...string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: protocols}
	return d.Dial(url, h)
}

// wireEvent is a feed message as a browser reads it.
type wireEvent struct {
	Time   time.Time      `json:"time"`
	CallID string         `json:"call_id"`
	Type   string         `json:"type"`
	Step   string         `json:"step"`
	Fields map[string]any `json:"fields"`
}

func readEvent(t *testing.T, c *websocket.Conn) wireEvent {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var e wireEvent
	if err := json.Unmarshal(msg, &e); err != nil {
		t.Fatalf("bad message %s: %v", msg, err)
	}
	return e
}

func TestWebSocketAuth(t *testing.T) {
	f := newFixture(t)
	bearer := http.Header{"Authorization": {"Bearer " + testToken}}
	cases := []struct {
		name   string
		url    string
		h      http.Header
		protos []string
		ok     bool
	}{
		{"header", wsURL(f), bearer, nil, true},
		{"subprotocol", wsURL(f), nil, []string{Subprotocol, "bearer." + testToken}, true},
		{"query", wsURL(f) + "?token=" + testToken, nil, nil, true},
		{"none", wsURL(f), nil, nil, false},
		{"wrong subprotocol token", wsURL(f), nil, []string{Subprotocol, "bearer.wrong-token-1234567890"}, false},
		{"wrong query", wsURL(f) + "?token=nope", nil, nil, false},
		{"cross-origin browser", wsURL(f), http.Header{"Authorization": {"Bearer " + testToken}, "Origin": {"https://evil.example"}}, nil, false},
		// Cross-site WebSocket hijacking: a page elsewhere that somehow holds the token, in the
		// way browsers can send it (subprotocol, query), or from an opaque origin.
		{"cross-origin subprotocol", wsURL(f), http.Header{"Origin": {"https://evil.example"}}, []string{Subprotocol, "bearer." + testToken}, false},
		{"cross-origin query", wsURL(f) + "?token=" + testToken, http.Header{"Origin": {"https://evil.example"}}, nil, false},
		{"null origin", wsURL(f), http.Header{"Origin": {"null"}}, []string{Subprotocol, "bearer." + testToken}, false},
		{"same host other port", wsURL(f), http.Header{"Origin": {"http://127.0.0.1:1"}}, []string{Subprotocol, "bearer." + testToken}, false},
		{"same origin", wsURL(f), http.Header{"Origin": {f.srv.URL}}, []string{Subprotocol, "bearer." + testToken}, true},
	}
	for _, c := range cases {
		conn, res, err := dial(t, c.url, c.h, c.protos...)
		if c.ok {
			if err != nil {
				t.Errorf("%s: dial failed: %v", c.name, err)
				continue
			}
			if len(c.protos) > 0 && conn.Subprotocol() != Subprotocol {
				t.Errorf("%s: negotiated %q, want %q", c.name, conn.Subprotocol(), Subprotocol)
			}
			if e := readEvent(t, conn); e.Type != "snapshot" {
				t.Errorf("%s: first message %+v, want snapshot", c.name, e)
			}
			conn.Close()
			continue
		}
		if err == nil {
			conn.Close()
			t.Errorf("%s: dial succeeded", c.name)
			continue
		}
		if res == nil || (res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusForbidden) {
			t.Errorf("%s: %v %v, want 401/403", c.name, res, err)
		}
	}
}

func TestWebSocketSnapshotThenEvents(t *testing.T) {
	f := newFixture(t)
	f.hub.Publish(event.Event{CallID: "c1", Data: &event.CallStarted{From: "+44770", Plan: "pay"}})
	f.hub.Publish(event.Event{CallID: "c1", Step: "Pay", Data: &event.PayProgress{For: "payment-card-number", Digits: 4}})
	conn, _, err := dial(t, wsURL(f), http.Header{"Authorization": {"Bearer " + testToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	snap := readEvent(t, conn)
	calls, _ := snap.Fields["calls"].([]any)
	if snap.Type != "snapshot" || len(calls) != 1 || !strings.Contains(mustJSON(calls[0]), `"digits":4`) {
		t.Fatalf("snapshot = %+v", snap)
	}
	types := []string{"call.answered", "step", "pay.progress", "pay.completed", "link.sent", "link.paid", "call.ended"}
	for _, ty := range types {
		f.hub.Publish(event.Event{CallID: "c1", Step: "Pay", Data: event.New(ty)})
	}
	for _, ty := range types {
		if e := readEvent(t, conn); e.Type != ty || e.CallID != "c1" {
			t.Fatalf("got %+v, want %s", e, ty)
		}
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestWebSocketPingPong: the server pings (every 100ms in the fixture) and a client that
// answers stays connected across several ping periods; gorilla answers pings automatically
// while the client reads.
func TestWebSocketPingPong(t *testing.T) {
	f := newFixture(t)
	conn, _, err := dial(t, wsURL(f), http.Header{"Authorization": {"Bearer " + testToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pings := make(chan struct{}, 100)
	conn.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	readEvent(t, conn) // snapshot
	go func() {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	for i := 0; i < 3; i++ {
		select {
		case <-pings:
		case <-time.After(5 * time.Second):
			t.Fatalf("no ping %d from the server", i+1)
		}
	}
	if f.hub.Stats().Subscribers != 1 {
		t.Errorf("client answering pings was disconnected")
	}
}

// TestWebSocketSlowClientDropped: a real client that stops reading is disconnected with 1013
// once its buffer overflows, the publisher never blocks, and a reading client on the same hub
// receives every event.
func TestWebSocketSlowClientDropped(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Hub = NewHubSize(64)
		c.WebSocket = &WebSocketConfig{PingInterval: time.Minute} // a non-reading client misses pongs too
	})
	hub := f.srvHub(t)
	bearer := http.Header{"Authorization": {"Bearer " + testToken}}
	slow, _, err := dial(t, wsURL(f), bearer)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	readEvent(t, slow) // snapshot, then never read again
	fast, _, err := dial(t, wsURL(f), bearer)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	readEvent(t, fast)
	received := make(chan int, 1)
	go func() {
		n := 0
		for {
			_ = fast.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, _, err := fast.ReadMessage(); err != nil {
				received <- n
				return
			}
			n++
		}
	}()
	// Big events fill the slow client's socket buffers quickly; the publisher keeps going.
	blob := strings.Repeat("x", 64<<10)
	published := 0
	deadline := time.Now().Add(20 * time.Second)
	for hub.Stats().Dropped == 0 && time.Now().Before(deadline) {
		hub.Publish(event.Event{CallID: "c", Data: &event.APICalled{Error: blob}})
		published++
		if published%8 == 0 {
			time.Sleep(5 * time.Millisecond) // let the fast client keep up
		}
	}
	if hub.Stats().Dropped != 1 {
		t.Fatalf("slow client not dropped after %d events: %+v", published, hub.Stats())
	}
	// The slow client, reading again, finds buffered events then the 1013 close.
	_ = slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	var closeErr error
	for {
		if _, _, err := slow.ReadMessage(); err != nil {
			closeErr = err
			break
		}
	}
	if !websocket.IsCloseError(closeErr, CloseSlowConsumer) {
		t.Errorf("slow client closed with %v, want %d", closeErr, CloseSlowConsumer)
	}
	// The fast client is still subscribed and got everything.
	time.Sleep(200 * time.Millisecond)
	if st := hub.Stats(); st.Subscribers != 1 {
		t.Errorf("after drop: %+v", st)
	}
	fast.Close()
	if n := <-received; n != published {
		t.Errorf("fast client got %d of %d events", n, published)
	}
	t.Logf("slow client dropped after %d events of 64 KiB", published)
}

// srvHub returns the hub the fixture's server uses.
func (f *fixture) srvHub(t testing.TB) *Hub {
	t.Helper()
	return f.srv.Config.Handler.(*Server).cfg.Hub
}

func TestWebSocketShutdown(t *testing.T) {
	done := make(chan struct{})
	f := newFixture(t, func(c *Config) { c.Done = done })
	conn, _, err := dial(t, wsURL(f), http.Header{"Authorization": {"Bearer " + testToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	readEvent(t, conn)
	close(done)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = conn.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Errorf("on shutdown: %v, want 1001", err)
	}
}
