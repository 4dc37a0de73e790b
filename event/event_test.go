package event

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// filled returns d with every exported field set to a non-zero value, so that a round trip
// proves each field is written and read back.
func filled(t *testing.T, d Data) Data {
	t.Helper()
	v := reflect.ValueOf(d).Elem()
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			switch f.Kind() {
			case reflect.String:
				f.SetString(v.Type().Field(i).Name + "-value")
			case reflect.Int, reflect.Int64:
				f.SetInt(int64(7 + i))
			case reflect.Bool:
				f.SetBool(true)
			case reflect.Struct:
				if f.Type() == reflect.TypeOf(time.Time{}) {
					f.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
				} else {
					fill(f)
				}
			case reflect.Slice:
				// one element, itself filled (a list of strings, of structs)
				e := reflect.New(f.Type().Elem()).Elem()
				switch e.Kind() {
				case reflect.String:
					e.SetString(v.Type().Field(i).Name + "-item")
				case reflect.Struct:
					fill(e)
				default:
					t.Fatalf("%T: field %s: slice of %s not covered", d, v.Type().Field(i).Name, e.Kind())
				}
				f.Set(reflect.Append(reflect.MakeSlice(f.Type(), 0, 1), e))
			case reflect.Pointer:
				f.Set(reflect.New(f.Type().Elem()))
				fill(f.Elem())
			case reflect.Map:
				f.Set(reflect.MakeMap(f.Type()))
				f.SetMapIndex(reflect.ValueOf("key"), reflect.ValueOf(v.Type().Field(i).Name+"-value"))
			default:
				t.Fatalf("%T: field %s of kind %s not covered", d, v.Type().Field(i).Name, f.Kind())
			}
		}
	}
	fill(v)
	return d
}

func TestEveryTypeRoundTrips(t *testing.T) {
	types := Types()
	sort.Strings(types)
	if len(types) < 20 {
		t.Fatalf("only %d types registered: %v", len(types), types)
	}
	for _, name := range types {
		d := filled(t, New(name))
		if d.Type() != name {
			t.Fatalf("New(%q).Type() = %q", name, d.Type())
		}
		in := Event{Time: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC), CallID: "call-1", Step: "Pay", Data: d}
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var out Event
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		if !reflect.DeepEqual(in, out) {
			t.Errorf("%s: round trip\n in  %#v\n out %#v\n%s", name, in.Data, out.Data, b)
		}
		if !strings.Contains(string(b), `"type":"`+name+`"`) {
			t.Errorf("%s: no type in %s", name, b)
		}
	}
}

// TestPaymentFieldsOnTheWire pins the JSON names that replay expectations, the console and
// stored timelines rely on.
func TestPaymentFieldsOnTheWire(t *testing.T) {
	b, err := json.Marshal(Event{CallID: "c", Step: "Pay", Data: &PayCompleted{Payment{SessionID: "s1", Channel: ChannelVoice,
		Connector: "provider", AmountMinor: 1234, Currency: "GBP", Reference: "ACC-1", Result: ResultSuccess,
		MaskedCard: "************4242", CardType: "visa"}}})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Type   string         `json:"type"`
		Fields map[string]any `json:"fields"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"sessionId": "s1", "channel": "voice", "connector": "provider", "amountMinor": 1234.0,
		"currency": "GBP", "reference": "ACC-1", "result": "success", "maskedCard": "************4242", "cardType": "visa",
		"attempts": 0.0}
	if got.Type != "pay.completed" || !reflect.DeepEqual(got.Fields, want) {
		t.Fatalf("wire = %s", b)
	}
}

func TestUnknownTypeKeepsItsFields(t *testing.T) {
	src := `{"time":"2026-01-01T00:00:00Z","call_id":"c","type":"future.thing","fields":{"a":1,"b":"x"}}`
	var e Event
	if err := json.Unmarshal([]byte(src), &e); err != nil {
		t.Fatal(err)
	}
	u, ok := e.Data.(*Unknown)
	if !ok || e.Type() != "future.thing" || string(u.Fields) != `{"a":1,"b":"x"}` {
		t.Fatalf("event = %#v", e)
	}
	b, _ := json.Marshal(e)
	if string(b) != src {
		t.Fatalf("marshal = %s", b)
	}
}

func TestEventWithoutFields(t *testing.T) {
	b, err := json.Marshal(Event{Data: &LinkOpened{}})
	if err != nil {
		t.Fatal(err)
	}
	// A zero LinkOpened still names its link field; an event with nothing to say has no fields.
	if !strings.Contains(string(b), `"fields":{"linkId":""}`) {
		t.Fatalf("marshal = %s", b)
	}
	var e Event
	if err := json.Unmarshal([]byte(`{"type":"step"}`), &e); err != nil || e.Type() != "step" {
		t.Fatalf("unmarshal = %#v, %v", e, err)
	}
}

func TestPaymentOf(t *testing.T) {
	for _, d := range []Data{&PayCompleted{}, &LinkPaid{}, &LinkDeclined{}, &PaymentReconciled{}} {
		if PaymentOf(d) == nil {
			t.Errorf("PaymentOf(%T) = nil", d)
		}
	}
	if PaymentOf(&LinkSent{}) != nil || PaymentOf(nil) != nil {
		t.Error("PaymentOf of a non-payment event")
	}
}

// TestNodeOnTheWire: the node an event happened on travels with it (the live feed between
// nodes), and a node-less event says nothing about nodes.
func TestNodeOnTheWire(t *testing.T) {
	in := Event{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), CallID: "c1", Node: "pb-2", Data: &CallAnswered{From: "+44"}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"node":"pb-2"`) {
		t.Fatalf("marshal = %s", b)
	}
	var out Event
	if err := json.Unmarshal(b, &out); err != nil || out.Node != "pb-2" || out.CallID != "c1" {
		t.Fatalf("round trip = %+v, %v", out, err)
	}
	b, _ = json.Marshal(Event{Data: &CallAnswered{}})
	if strings.Contains(string(b), "node") {
		t.Fatalf("node-less event = %s", b)
	}
}
