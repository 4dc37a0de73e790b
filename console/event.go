package console

import (
	"encoding/json"
	"time"
)

// Event is one live event, the JSON shape of callplan.Event (console does not import callplan;
// serve converts). It carries no card digit: Pay progress reports the field, attempt, error
// type and the count of digits entered. Types the console understands: call.started,
// call.answered, step, pay.progress, pay.completed, link.sent, link.paid, call.ended; others
// are forwarded and shown on the call's timeline.
type Event struct {
	Time   time.Time      `json:"time"`
	CallID string         `json:"call_id,omitempty"`
	Type   string         `json:"type"`
	Step   string         `json:"step,omitempty"`
	Fields map[string]any `json:"fields,omitempty"`
}

// str returns a string field, trying each name (engines spell them errorType or error_type).
func (e Event) str(names ...string) string {
	for _, n := range names {
		switch v := e.Fields[n].(type) {
		case string:
			return v
		case json.Number:
			return v.String()
		}
	}
	return ""
}

// num returns a numeric field, trying each name.
func (e Event) num(names ...string) (int, bool) {
	for _, n := range names {
		switch v := e.Fields[n].(type) {
		case int:
			return v, true
		case int64:
			return int(v), true
		case float64:
			return int(v), true
		case json.Number:
			if i, err := v.Int64(); err == nil {
				return int(i), true
			}
		}
	}
	return 0, false
}
