package console

import (
	"sort"
	"time"
)

// LiveCall is the hub's picture of a call in progress, built from its events. A console that
// connects mid-call gets these in its first message (type "snapshot") and then follows the
// events.
type LiveCall struct {
	CallID     string    `json:"call_id"`
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

// maxLive bounds the live table: a flood of call.started without call.ended (a broken
// emitter) must not grow memory without limit.
const maxLive = 10000

// apply updates the live table with one event.
func applyLive(live map[string]*LiveCall, e Event) {
	if e.CallID == "" {
		return
	}
	c := live[e.CallID]
	if e.Type == "call.ended" {
		delete(live, e.CallID)
		return
	}
	if c == nil {
		if len(live) >= maxLive {
			return
		}
		c = &LiveCall{CallID: e.CallID, State: "ringing", StartedAt: e.Time}
		live[e.CallID] = c
	}
	c.UpdatedAt = e.Time
	// Whichever event names the parties and the plan (serve puts them on call.answered, the
	// engine its plan on call.started) fills them in.
	if v := e.str("from", "caller"); v != "" {
		c.From = v
	}
	if v := e.str("to", "callee"); v != "" {
		c.To = v
	}
	if v := e.str("plan"); v != "" {
		c.Plan = v
	}
	switch e.Type {
	case "call.started":
		if e.Time.Before(c.StartedAt) {
			c.StartedAt = e.Time // the call's first event is when it started
		}
	case "call.answered":
		c.State, c.AnsweredAt = "answered", e.Time
	case "step":
		c.Step = e.Step
		if c.State == "ringing" {
			c.State = "answered"
		}
	case "pay.progress":
		if c.Pay == nil {
			c.Pay = &PayState{}
		}
		if c.State == "ringing" {
			c.State = "answered"
		}
		c.Step = firstNonEmpty(e.Step, c.Step)
		c.Pay.For = firstNonEmpty(e.str("for", "field"), c.Pay.For)
		if n, ok := e.num("attempt"); ok {
			c.Pay.Attempt = n
		}
		c.Pay.ErrorType = e.str("errorType", "error_type")
		if n, ok := e.num("digits", "digit_count", "digitCount", "count"); ok {
			c.Pay.Digits = n
		}
	case "pay.completed":
		if c.Pay == nil {
			c.Pay = &PayState{}
		}
		c.Pay.Result = e.str("result")
		c.Pay.MaskedCard = e.str("masked_card", "maskedCard")
		c.Pay.CardType = e.str("card_type", "cardType")
		c.Pay.ErrorType = e.str("errorType", "error_type")
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
