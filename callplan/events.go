package callplan

import "time"

// Event is one entry of a call's masked timeline. The engine emits them; serve stores them and
// streams them to the console, replay prints them. An Event never carries a card digit: Pay
// progress reports the field, attempt, error type and the count of digits entered.
type Event struct {
	Time   time.Time      `json:"time"`
	CallID string         `json:"call_id,omitempty"`
	Type   string         `json:"type"` // call.started, step, pay.progress, pay.completed, link.sent, call.ended, …
	Step   string         `json:"step,omitempty"`
	Fields map[string]any `json:"fields,omitempty"`
}

// EventSink receives a call's events in order. Emit must not block for long: a slow consumer
// buffers or drops, it never slows the call.
type EventSink interface {
	Emit(Event)
}

// EventSinkFunc adapts a function to EventSink.
type EventSinkFunc func(Event)

// Emit calls f(e).
func (f EventSinkFunc) Emit(e Event) { f(e) }
