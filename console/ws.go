package console

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// WebSocketConfig times the live feed.
type WebSocketConfig struct {
	PingInterval time.Duration // default 20s
	PongWait     time.Duration // a client silent this long is gone; default 60s
	WriteWait    time.Duration // one write may take this long; default 10s
}

func (c *WebSocketConfig) defaults() {
	if c.PingInterval <= 0 {
		c.PingInterval = 20 * time.Second
	}
	if c.PongWait <= 0 {
		c.PongWait = 3 * c.PingInterval
	}
	if c.WriteWait <= 0 {
		c.WriteWait = 10 * time.Second
	}
}

// CloseSlowConsumer is the close code sent to a client that fell behind (RFC 6455 1013,
// "try again later"): it may reconnect and gets a fresh snapshot.
const CloseSlowConsumer = websocket.CloseTryAgainLater

// events upgrades to a WebSocket and streams the live feed: first a "snapshot" message with
// the calls in progress, then every event as published (to an agent's token: an empty
// snapshot, then the events of the calls bridged to that agent only — agentfeed.go). The server pings every
// PingInterval; a client that does not answer within PongWait, or that falls more than the
// hub's buffer behind, is disconnected. Messages from the client are ignored (but read, for
// pongs and close frames).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Hub == nil {
		writeError(w, http.StatusServiceUnavailable, "live feed not configured")
		return
	}
	up := websocket.Upgrader{
		Subprotocols:     []string{Subprotocol},
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   1024,
		WriteBufferSize:  4096,
		// CheckOrigin nil: gorilla refuses cross-origin browsers (Origin host ≠ Host).
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	var sub *Subscription
	live := []LiveCall{}
	if agent := agentOf(r); agent != "" {
		// An agent's token: only the events of the calls bridged to that agent (agentfeed.go),
		// and no calls in the snapshot.
		f := newAgentFeed(agent)
		sub = s.cfg.Hub.SubscribeFiltered(f.keep)
		if s.cfg.Agents != nil {
			f.seed(s.cfg.Agents.Bridged())
		}
	} else {
		sub, live = s.cfg.Hub.Subscribe()
	}
	defer sub.Close()
	defer conn.Close()

	conn.SetReadLimit(4096)
	_ = conn.SetReadDeadline(time.Now().Add(s.ws.PongWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(s.ws.PongWait)) })
	gone := make(chan struct{})
	go func() { // reader: pongs, close frames, disconnects
		defer close(gone)
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()

	write := func(msg []byte) bool {
		_ = conn.SetWriteDeadline(time.Now().Add(s.ws.WriteWait))
		return conn.WriteMessage(websocket.TextMessage, msg) == nil
	}
	closeWith := func(code int, reason string) {
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	}
	snap, _ := json.Marshal(snapshotMessage{Time: time.Now().UTC(), Type: "snapshot", Fields: snapshotFields{Calls: live}})
	if !write(snap) {
		return
	}
	ping := time.NewTicker(s.ws.PingInterval)
	defer ping.Stop()
	var done <-chan struct{} = s.cfg.Done
	for {
		select {
		case msg := <-sub.C():
			if !write(msg) {
				return
			}
		case <-sub.Done():
			// Drain what was queued before the drop? No: the client is behind by a full buffer;
			// it reconnects and starts from a fresh snapshot.
			s.log.Warn("console: live-feed client too slow, dropped", "remote", s.cfg.ClientIP(r))
			closeWith(CloseSlowConsumer, "slow consumer")
			return
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.ws.WriteWait)); err != nil {
				return
			}
		case <-gone:
			return
		case <-done:
			closeWith(websocket.CloseGoingAway, "server shutting down")
			return
		}
	}
}
