package console

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/pan"
)

// DefaultClientBuffer is how many events a subscriber may fall behind before it is dropped.
const DefaultClientBuffer = 256

// Hub fans live events out to subscribers (WebSocket clients). Publish never blocks: each
// subscriber has a bounded buffer, and one that falls behind is dropped — its Done channel
// closes and the WebSocket handler closes the connection — so a slow browser can never slow a
// call. The hub also keeps the live-call table that new subscribers receive first.
type Hub struct {
	mu      sync.Mutex
	subs    map[*Subscription]struct{}
	live    map[string]*LiveCall
	ended   *recentSet // calls that ended lately: their late events must not bring them back
	buffer  int
	watched atomic.Int32 // len(subs), read without the lock: an event nobody watches is not encoded
	dropped atomic.Int64
	sent    atomic.Int64
}

// NewHub returns a hub whose subscribers buffer DefaultClientBuffer events.
func NewHub() *Hub { return NewHubSize(DefaultClientBuffer) }

// NewHubSize returns a hub with a per-subscriber buffer of n events (n ≥ 1).
func NewHubSize(n int) *Hub {
	if n < 1 {
		n = 1
	}
	return &Hub{subs: map[*Subscription]struct{}{}, live: map[string]*LiveCall{}, ended: newRecentSet(maxEnded), buffer: n}
}

// Subscription is one subscriber's feed. Messages are JSON-encoded events.
type Subscription struct {
	hub  *Hub
	c    chan []byte
	done chan struct{}
	once sync.Once
	// keep, when set, decides under the hub's lock which events this subscriber gets (an
	// agent's feed: agentfeed.go); nil = every event.
	keep func(event.Event) bool
}

// C delivers encoded events in publish order.
func (s *Subscription) C() <-chan []byte { return s.c }

// Done is closed when the subscription ends: Close was called or the hub dropped it for
// falling behind.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Close ends the subscription. It is safe to call more than once.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	s.hub.remove(s)
	s.hub.mu.Unlock()
	s.end()
}

func (s *Subscription) end() { s.once.Do(func() { close(s.done) }) }

// Subscribe starts a feed and returns it with the live calls at that instant: every event
// after the snapshot is delivered on the feed, none before.
func (h *Hub) Subscribe() (*Subscription, []LiveCall) {
	return h.subscribe(nil)
}

// SubscribeFiltered starts a feed that carries only the events keep accepts. keep runs in
// Publish under the hub's lock, once per event in publish order: it must be quick and must not
// call back into the hub. It gets no snapshot: what a filtered subscriber may see of the calls
// in progress is for its caller to decide.
func (h *Hub) SubscribeFiltered(keep func(event.Event) bool) *Subscription {
	s, _ := h.subscribe(keep)
	return s
}

func (h *Hub) subscribe(keep func(event.Event) bool) (*Subscription, []LiveCall) {
	s := &Subscription{hub: h, c: make(chan []byte, h.buffer), done: make(chan struct{}), keep: keep}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[s] = struct{}{}
	h.watched.Store(int32(len(h.subs)))
	return s, snapshot(h.live)
}

// remove ends s's place among the subscribers; h.mu is held.
func (h *Hub) remove(s *Subscription) {
	delete(h.subs, s)
	h.watched.Store(int32(len(h.subs)))
}

// Message is an event as the live feed carries it: its JSON with every card number that
// slipped into it masked. Only Encode makes one, so whatever is published or announced as a
// Message has been through the redaction.
type Message struct{ b []byte }

// Bytes is the message's JSON (shared: not to be modified).
func (m Message) Bytes() []byte { return m.b }

// Encode makes e's message: its JSON (the event without its data if the data does not encode)
// with pan.RedactJSON applied. The live feed encodes an event at most once whoever receives it
// (this node's subscribers, the other nodes): Publish when a subscriber wants it, or the caller
// that announces it too (PublishMessage).
func Encode(e event.Event) Message {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	raw, err := e.MarshalJSON() // not json.Marshal(e): it would scan and compact the result again
	if err != nil {
		// Data that does not encode: publish the event without it.
		raw, _ = json.Marshal(struct {
			Time   time.Time `json:"time"`
			CallID string    `json:"call_id,omitempty"`
			Type   string    `json:"type"`
		}{e.Time, e.CallID, e.Type()})
	}
	return Message{b: pan.RedactJSON(raw)}
}

// Publish sends e to every subscriber without blocking. Any card number that slipped into the
// event's fields is masked before it leaves the process (Encode). With no subscriber the event
// only updates the live table: it is not encoded at all.
func (h *Hub) Publish(e event.Event) { h.publish(e, Message{}) }

// PublishMessage is Publish of an event already encoded by Encode (m is Encode(e)), for a
// caller that sends the same message elsewhere too.
func (h *Hub) PublishMessage(e event.Event, m Message) { h.publish(e, m) }

func (h *Hub) publish(e event.Event, m Message) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if m.b == nil && h.watched.Load() > 0 {
		m = Encode(e) // outside the lock: publishers encode in parallel
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.applyLive(e)
	for s := range h.subs {
		if s.keep != nil && !s.keep(e) {
			continue
		}
		if m.b == nil {
			m = Encode(e) // subscribed since the check above: it gets every event after its snapshot
		}
		select {
		case s.c <- m.b:
			h.sent.Add(1)
		default:
			h.remove(s)
			s.end()
			h.dropped.Add(1)
		}
	}
}

// Live returns the calls in progress, oldest first.
func (h *Hub) Live() []LiveCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return snapshot(h.live)
}

// HubStats counts the hub's traffic.
type HubStats struct {
	Subscribers int   `json:"subscribers"`
	Delivered   int64 `json:"delivered"`
	Dropped     int64 `json:"dropped"` // subscribers dropped for falling behind
	LiveCalls   int   `json:"live_calls"`
}

// Stats returns the hub's counters.
func (h *Hub) Stats() HubStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return HubStats{Subscribers: len(h.subs), Delivered: h.sent.Load(), Dropped: h.dropped.Load(), LiveCalls: len(h.live)}
}

// Emit makes the hub an event.Sink.
func (h *Hub) Emit(e event.Event) { h.Publish(e) }
