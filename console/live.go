package console

import (
	"sort"
	"time"

	"github.com/paybridge/paybridge/event"
)

// LiveCall is the hub's picture of a call in progress, built from its events. A console that
// connects mid-call gets these in its first message (type "snapshot") and then follows the
// events.
type LiveCall struct {
	CallID     string    `json:"call_id"`
	Node       string    `json:"node,omitempty"` // the node the call is on
	From       string    `json:"from,omitempty"`
	To         string    `json:"to,omitempty"`
	Plan       string    `json:"plan,omitempty"`
	State      string    `json:"state"` // ringing | answered
	StartedAt  time.Time `json:"started_at"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	Step       string    `json:"step,omitempty"`
	Pay        *PayState `json:"pay,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// PayState is the progress of the running Pay step: which field is being entered, which
// attempt, the last error type and how many digits have been keyed (never which).
type PayState struct {
	For        string `json:"for,omitempty"`
	Attempt    int    `json:"attempt,omitempty"`
	ErrorType  string `json:"error_type,omitempty"`
	Digits     int    `json:"digits"`
	Result     string `json:"result,omitempty"`
	MaskedCard string `json:"masked_card,omitempty"`
	CardType   string `json:"card_type,omitempty"`
}

// snapshotMessage is the first message of the live feed: the calls in progress.
type snapshotMessage struct {
	Time   time.Time      `json:"time"`
	Type   string         `json:"type"` // "snapshot"
	Fields snapshotFields `json:"fields"`
}

type snapshotFields struct {
	Calls []LiveCall `json:"calls"`
}

// maxLive bounds the live table: a flood of call.started without call.ended (a broken
// emitter) must not grow memory without limit.
const maxLive = 10000

// maxEnded is how many ended calls the hub remembers, so that a late event of one (a payment
// link paid after the call, a recorder catching up) cannot bring it back as live.
const maxEnded = 4096

// applyLive updates the live table with one event; h.mu is held.
//
// Only the start of a call (call.started, call.answered) adds it to the table. Every other
// event updates a call that is there and is ignored otherwise: events of a call that has
// ended — a payment link paid the next day — never resurrect it.
func (h *Hub) applyLive(e event.Event) {
	if e.CallID == "" {
		return
	}
	if _, ok := e.Data.(*event.CallEnded); ok {
		delete(h.live, e.CallID)
		h.ended.add(e.CallID)
		return
	}
	c := h.live[e.CallID]
	if c == nil {
		switch e.Data.(type) {
		case *event.CallStarted, *event.CallAnswered:
		default:
			return
		}
		if len(h.live) >= maxLive || h.ended.has(e.CallID) {
			return
		}
		c = &LiveCall{CallID: e.CallID, State: "ringing", StartedAt: e.Time}
		h.live[e.CallID] = c
	}
	c.UpdatedAt = e.Time
	c.Node = firstNonEmpty(e.Node, c.Node)
	switch d := e.Data.(type) {
	case *event.CallStarted:
		c.From, c.To, c.Plan = firstNonEmpty(d.From, c.From), firstNonEmpty(d.To, c.To), firstNonEmpty(d.Plan, c.Plan)
		if e.Time.Before(c.StartedAt) {
			c.StartedAt = e.Time // the call's first event is when it started
		}
	case *event.CallAnswered:
		c.From, c.To, c.Plan = firstNonEmpty(d.From, c.From), firstNonEmpty(d.To, c.To), firstNonEmpty(d.Plan, c.Plan)
		c.State, c.AnsweredAt = "answered", e.Time
	case *event.StepEntered:
		c.Step = e.Step
		if c.State == "ringing" {
			c.State = "answered"
		}
	case *event.PayProgress:
		if c.Pay == nil {
			c.Pay = &PayState{}
		}
		if c.State == "ringing" {
			c.State = "answered"
		}
		c.Step = firstNonEmpty(e.Step, c.Step)
		c.Pay.For = firstNonEmpty(d.For, c.Pay.For)
		if d.Attempt > 0 {
			c.Pay.Attempt = d.Attempt
		}
		c.Pay.ErrorType = d.ErrorType
		c.Pay.Digits = d.Digits
	case *event.PayCompleted:
		if c.Pay == nil {
			c.Pay = &PayState{}
		}
		c.Pay.Result = d.Result
		c.Pay.MaskedCard = d.MaskedCard
		c.Pay.CardType = d.CardType
		c.Pay.ErrorType = d.ErrorType
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// snapshot copies the live table, oldest call first.
func snapshot(live map[string]*LiveCall) []LiveCall {
	out := make([]LiveCall, 0, len(live))
	for _, c := range live {
		cp := *c
		if c.Pay != nil {
			p := *c.Pay
			cp.Pay = &p
		}
		out = append(out, cp)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartedAt.Equal(out[j].StartedAt) {
			return out[i].StartedAt.Before(out[j].StartedAt)
		}
		return out[i].CallID < out[j].CallID
	})
	return out
}

// recentSet remembers the last n ids added (a ring), in constant memory.
type recentSet struct {
	ring []string
	next int
	in   map[string]int // id → times it is in the ring
}

func newRecentSet(n int) *recentSet {
	return &recentSet{ring: make([]string, n), in: make(map[string]int, n)}
}

func (s *recentSet) add(id string) {
	if old := s.ring[s.next]; old != "" {
		if s.in[old]--; s.in[old] <= 0 {
			delete(s.in, old)
		}
	}
	s.ring[s.next] = id
	s.in[id]++
	s.next = (s.next + 1) % len(s.ring)
}

func (s *recentSet) has(id string) bool { return s.in[id] > 0 }
