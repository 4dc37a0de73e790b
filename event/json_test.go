package event

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// reflectJSON is the encoding Event.MarshalJSON must reproduce byte for byte: the wire struct
// through encoding/json.
func reflectJSON(e Event) ([]byte, error) {
	w := wire{Time: e.Time, CallID: e.CallID, Type: e.Type(), Step: e.Step, Node: e.Node}
	if e.Data != nil {
		f, err := json.Marshal(e.Data)
		if err != nil {
			return nil, err
		}
		if string(f) != "{}" && string(f) != "null" {
			w.Fields = f
		}
	}
	return json.Marshal(w)
}

// sameAsReflection fails t unless e encodes exactly as reflectJSON does, through MarshalJSON
// and through json.Marshal of the event.
func sameAsReflection(t *testing.T, e Event) {
	t.Helper()
	want, werr := reflectJSON(e)
	got, err := e.MarshalJSON()
	if (err != nil) != (werr != nil) {
		t.Fatalf("%+v: MarshalJSON error %v, reflection's %v", e, err, werr)
	}
	if err != nil {
		return
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("MarshalJSON:\n got %s\nwant %s", got, want)
	}
	viaJSON, err := json.Marshal(e)
	if err != nil || !bytes.Equal(viaJSON, want) {
		t.Fatalf("json.Marshal(event) = %s, %v; want %s", viaJSON, err, want)
	}
}

// TestEventJSONAsReflection: the envelope written directly is exactly what encoding/json writes
// for every event type (every field set), for empty and absent parts, and for strings that
// encoding/json escapes (quotes, controls, HTML characters, non-ASCII, invalid UTF-8).
func TestEventJSONAsReflection(t *testing.T) {
	at := time.Date(2026, 12, 2, 9, 30, 1, 123456789, time.FixedZone("x", 3600))
	for _, name := range Types() {
		sameAsReflection(t, Event{Time: at, CallID: "c-1", Step: "Pay", Node: "n1", Data: filled(t, New(name))})
		sameAsReflection(t, Event{Time: at, Data: New(name)})
	}
	for _, s := range []string{"", "plain", `q"uote`, `back\\slash`, "tab\there", "nl\n", "<script>&amp;", "café", "\u2028\u2029", "bad\xffutf8", "\x00\x1f\x7f"} {
		sameAsReflection(t, Event{Time: at, CallID: s, Step: s, Node: s, Data: &Unknown{Name: s}})
		sameAsReflection(t, Event{Time: at, CallID: s, Data: &CallEnded{Result: s, Reason: s}})
	}
	sameAsReflection(t, Event{})                                                                                   // zero time, no data
	sameAsReflection(t, Event{Time: at, Data: &Unknown{Name: "x", Fields: json.RawMessage(` { "a" : [1, 2] } `)}}) // compacted
	sameAsReflection(t, Event{Time: at, Data: &Unknown{Name: "x", Fields: json.RawMessage(`{"a":`)}})              // does not encode
	sameAsReflection(t, Event{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Data: &CallEnded{}})             // does not encode
}

func FuzzEventJSON(f *testing.F) {
	f.Add("call-1", "Pay", "n1", "pay.progress", []byte(`{"digits":3}`), int64(1764667801123456789))
	f.Add("<&>", "\u2028", "\xff", "", []byte(` {"a" : "b"} `), int64(0))
	f.Fuzz(func(t *testing.T, call, step, node, typ string, fields []byte, nanos int64) {
		sameAsReflection(t, Event{Time: time.Unix(0, nanos).UTC(), CallID: call, Step: step, Node: node, Data: &Unknown{Name: typ, Fields: fields}})
	})
}

// BenchmarkEventJSON: a keypress event as the live feed encodes it — the envelope written
// directly (MarshalJSON) against the wire struct through encoding/json (reflection, what
// MarshalJSON did before) and json.Marshal of the event (which compacts MarshalJSON's output).
func BenchmarkEventJSON(b *testing.B) {
	e := Event{Time: time.Now(), CallID: "3f2a9c1e-77b1-4d0e-9a51-2c7e0d1b5f10", Step: "Pay", Node: "n1",
		Data: &PayProgress{Phase: "key", For: "payment-card-number", Attempt: 1, Digits: 12}}
	for _, c := range []struct {
		name string
		enc  func(Event) ([]byte, error)
	}{{"direct", Event.MarshalJSON}, {"reflection", reflectJSON}, {"json.Marshal", func(e Event) ([]byte, error) { return json.Marshal(e) }}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.enc(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
