package event

import (
	"encoding/json"
	"fmt"
	"time"
)

// Data is what happened: one of the types of this package. Type names the event on the wire
// ("pay.completed").
type Data interface {
	Type() string
}

// Event is one entry of a call's masked timeline.
type Event struct {
	Time   time.Time
	CallID string // "" for events outside a call (reconciliation)
	Step   string // the plan element that produced it ("Pay"), "" otherwise
	Node   string // the paybridge node it happened on ("" on a single node that does not say)
	Data   Data
}

// Type is the name of the event's Data ("" without Data).
func (e Event) Type() string {
	if e.Data == nil {
		return ""
	}
	return e.Data.Type()
}

// wire is the JSON shape of an Event.
type wire struct {
	Time   time.Time       `json:"time"`
	CallID string          `json:"call_id,omitempty"`
	Type   string          `json:"type"`
	Step   string          `json:"step,omitempty"`
	Node   string          `json:"node,omitempty"`
	Fields json.RawMessage `json:"fields,omitempty"`
}

// MarshalJSON writes {"time","call_id","type","step","node","fields"}; fields is Data's JSON,
// left out when it has none, and node when it is empty.
func (e Event) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil) }

// AppendJSON appends what MarshalJSON writes to b. Only Data goes through encoding/json's
// reflection; the envelope around it is written directly (the live feed encodes every event a
// console watches: the envelope through reflection, and the compaction of its raw fields, cost
// ten times the fields themselves). The bytes are exactly those of json.Marshal of the wire
// struct (TestEventJSONAsReflection, FuzzEventJSON).
func (e Event) AppendJSON(b []byte) ([]byte, error) {
	typ := e.Type()
	var fields []byte
	if e.Data != nil {
		f, err := json.Marshal(e.Data)
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", typ, err)
		}
		if string(f) != "{}" && string(f) != "null" {
			fields = f
		}
	}
	if b == nil { // one allocation: the time (≤ 35 bytes), the keys and quotes (~60), the values
		b = make(json.RawMessage, 0, 96+len(e.CallID)+len(typ)+len(e.Step)+len(e.Node)+len(fields))
	}
	b = append(b, `{"time":"`...)
	b, err := e.Time.AppendText(b)
	if err != nil {
		return nil, fmt.Errorf("event %s: time: %w", typ, err)
	}
	b = append(b, '"')
	if e.CallID != "" {
		b = appendField(b, `,"call_id":`, e.CallID)
	}
	b = appendField(b, `,"type":`, typ)
	if e.Step != "" {
		b = appendField(b, `,"step":`, e.Step)
	}
	if e.Node != "" {
		b = appendField(b, `,"node":`, e.Node)
	}
	if fields != nil {
		b = append(b, `,"fields":`...)
		b = append(b, fields...)
	}
	return append(b, '}'), nil
}

// appendField appends key and s as a JSON string, escaped exactly as encoding/json does (HTML
// characters included): plain text directly, anything else through encoding/json.
func appendField(b []byte, key, s string) []byte {
	b = append(b, key...)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// UnmarshalJSON reads what MarshalJSON writes, into the Data type the "type" names; a type
// this package does not know becomes *Unknown with its fields kept.
func (e *Event) UnmarshalJSON(b []byte) error {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	d := New(w.Type)
	if len(w.Fields) > 0 {
		if err := json.Unmarshal(w.Fields, d); err != nil {
			return fmt.Errorf("event %s: fields: %w", w.Type, err)
		}
	}
	*e = Event{Time: w.Time, CallID: w.CallID, Step: w.Step, Node: w.Node, Data: d}
	return nil
}

// Fields returns the JSON of e's Data (nil when it has none), for stores and timelines that
// keep events as documents.
func (e Event) Fields() (json.RawMessage, error) {
	if e.Data == nil {
		return nil, nil
	}
	f, err := json.Marshal(e.Data)
	if err != nil || string(f) == "{}" {
		return nil, err
	}
	return f, nil
}

// Unknown is an event of a type this package does not define (an event written by a newer
// version, say). Its fields are kept as they came.
type Unknown struct {
	Name   string
	Fields json.RawMessage
}

// Type implements Data.
func (u *Unknown) Type() string { return u.Name }

// MarshalJSON writes the fields as they came.
func (u *Unknown) MarshalJSON() ([]byte, error) {
	if len(u.Fields) == 0 {
		return []byte("{}"), nil
	}
	return u.Fields, nil
}

// UnmarshalJSON keeps the fields.
func (u *Unknown) UnmarshalJSON(b []byte) error {
	u.Fields = append(json.RawMessage(nil), b...)
	return nil
}

// New returns a new zero Data of the named type, or an *Unknown for a name this package does
// not define.
func New(name string) Data {
	if f, ok := registry[name]; ok {
		return f()
	}
	return &Unknown{Name: name}
}

// Types lists every event type this package defines.
func Types() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	return out
}

// Sink receives events in order. Emit must not block for long: a slow consumer buffers or
// drops; it never slows the call.
type Sink interface {
	Emit(Event)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Event)

// Emit calls f(e).
func (f SinkFunc) Emit(e Event) { f(e) }
