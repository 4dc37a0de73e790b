package console

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/event"
)

func TestHubDeliversInOrder(t *testing.T) {
	h := NewHubSize(64)
	sub, live := h.Subscribe()
	defer sub.Close()
	if len(live) != 0 {
		t.Fatalf("fresh hub has live calls: %v", live)
	}
	for i := 0; i < 50; i++ {
		h.Publish(event.Event{CallID: "c1", Step: fmt.Sprint(i), Data: &event.StepEntered{}})
	}
	for i := 0; i < 50; i++ {
		var e event.Event
		if err := json.Unmarshal(<-sub.C(), &e); err != nil || e.Step != fmt.Sprint(i) || e.Time.IsZero() {
			t.Fatalf("event %d = %+v, %v", i, e, err)
		}
	}
}

// TestHubSlowSubscriberDropped: a subscriber that never reads is dropped once its buffer is
// full; the publisher never waits and the other subscribers get everything.
func TestHubSlowSubscriberDropped(t *testing.T) {
	h := NewHubSize(8)
	slow, _ := h.Subscribe() // never reads
	fast, _ := h.Subscribe()
	defer fast.Close()
	const rounds, per = 100, 4
	for r := 0; r < rounds; r++ {
		for i := 0; i < per; i++ {
			h.Publish(event.Event{CallID: "c", Step: fmt.Sprint(r*per + i), Data: &event.StepEntered{}})
		}
		for i := 0; i < per; i++ {
			select {
			case msg := <-fast.C():
				var e event.Event
				if err := json.Unmarshal(msg, &e); err != nil || e.Step != fmt.Sprint(r*per+i) {
					t.Fatalf("fast subscriber got %s, want step %d", msg, r*per+i)
				}
			case <-fast.Done():
				t.Fatal("a subscriber that keeps up was dropped")
			}
		}
	}
	select {
	case <-slow.Done():
	default:
		t.Fatal("slow subscriber was not dropped")
	}
	if st := h.Stats(); st.Dropped != 1 || st.Subscribers != 1 || st.Delivered != rounds*per+8 {
		t.Errorf("stats = %+v", st)
	}
	slow.Close() // closing a dropped subscription is fine
	slow.Close()
}

func TestHubLiveTable(t *testing.T) {
	h := NewHub()
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	h.Publish(event.Event{Time: t0, CallID: "b", Data: &event.CallStarted{From: "+44770", To: "+44163", Plan: "pay"}})
	h.Publish(event.Event{Time: t0.Add(-time.Second), CallID: "a", Data: &event.CallStarted{}})
	h.Publish(event.Event{Time: t0.Add(time.Second), CallID: "b", Data: &event.CallAnswered{}})
	h.Publish(event.Event{Time: t0.Add(2 * time.Second), CallID: "b", Step: "Pay", Data: &event.StepEntered{}})
	h.Publish(event.Event{Time: t0.Add(3 * time.Second), CallID: "b", Step: "Pay",
		Data: &event.PayProgress{For: "payment-card-number", Attempt: 2, ErrorType: "invalid-card-number", Digits: 7}})
	live := h.Live()
	if len(live) != 2 || live[0].CallID != "a" {
		t.Fatalf("live = %+v", live)
	}
	b := live[1]
	if b.From != "+44770" || b.To != "+44163" || b.Plan != "pay" || b.State != "answered" || b.Step != "Pay" || b.Pay == nil ||
		*b.Pay != (PayState{For: "payment-card-number", Attempt: 2, ErrorType: "invalid-card-number", Digits: 7}) {
		t.Errorf("live call b = %+v %+v", b, b.Pay)
	}
	// Snapshots are copies.
	live[1].Pay.Digits = 99
	if h.Live()[1].Pay.Digits != 7 {
		t.Error("Live returned shared state")
	}
	h.Publish(event.Event{CallID: "b", Data: &event.PayCompleted{Payment: event.Payment{Result: "success", MaskedCard: "************4242", CardType: "visa"}}})
	if p := h.Live()[1].Pay; p.Result != "success" || p.MaskedCard != "************4242" || p.CardType != "visa" {
		t.Errorf("after pay.completed: %+v", p)
	}
	sub, snap := h.Subscribe()
	defer sub.Close()
	if len(snap) != 2 {
		t.Errorf("snapshot = %+v", snap)
	}
	h.Publish(event.Event{CallID: "b", Data: &event.CallEnded{}})
	h.Publish(event.Event{CallID: "a", Data: &event.CallEnded{}})
	if len(h.Live()) != 0 {
		t.Errorf("ended calls still live: %+v", h.Live())
	}
	h.Publish(event.Event{Data: &event.LinkSent{}}) // no call id: forwarded, not tracked
	if len(sub.C()) != 3 {
		t.Errorf("subscriber got %d messages, want 3", len(sub.C()))
	}
}

func TestHubMasksCardNumbers(t *testing.T) {
	h := NewHub()
	sub, _ := h.Subscribe()
	defer sub.Close()
	h.Publish(event.Event{CallID: "c", Step: "4242424242424242", Data: &event.Unknown{Name: "pay.progress",
		Fields: json.RawMessage(`{"oops": "5555 5555 5555 4444", "n": 378282246310005}`)}})
	h.Publish(event.Event{CallID: "c", Data: &event.APICalled{Error: "oops 4242424242424242"}})
	for i := 0; i < 2; i++ {
		msg := string(<-sub.C())
		for _, pan := range testPANs {
			if strings.Contains(msg, pan) {
				t.Errorf("published message holds a PAN: %s", msg)
			}
		}
		if i == 1 && !strings.Contains(msg, "************4242") {
			t.Errorf("mask missing: %s", msg)
		}
	}
}

// TestHubEncodesOnlyForSubscribers: an event nobody watches only updates the live table — no
// JSON, no redaction (the live feed's whole cost was paid per keypress before). The control: the
// same Publish with one subscriber does encode (allocates), and the subscriber gets the event.
func TestHubEncodesOnlyForSubscribers(t *testing.T) {
	h := NewHub()
	h.Publish(event.Event{CallID: "c", Data: &event.CallStarted{Plan: "pay"}})
	key := event.Event{Time: time.Now(), CallID: "c", Step: "Pay", Data: &event.PayProgress{Phase: "key", For: "payment-card-number", Attempt: 1, Digits: 3}}
	h.Publish(key) // the live row's Pay state exists from here on
	if n := testing.AllocsPerRun(100, func() { h.Publish(key) }); n != 0 {
		t.Errorf("Publish without subscribers: %v allocations, want 0 (nothing encoded)", n)
	}
	if l := h.Live(); len(l) != 1 || l[0].Pay == nil || l[0].Pay.Digits != 3 {
		t.Errorf("live table not updated without subscribers: %+v", l)
	}
	sub, _ := h.Subscribe()
	defer sub.Close()
	if n := testing.AllocsPerRun(10, func() { h.Publish(key); <-sub.C() }); n == 0 {
		t.Error("Publish with a subscriber allocated nothing: the control cannot see encoding")
	}
	sub.Close()
	if n := testing.AllocsPerRun(100, func() { h.Publish(key) }); n != 0 {
		t.Errorf("Publish after the last subscriber left: %v allocations, want 0", n)
	}
}

// TestHubPublishMessage: an event encoded once by Encode (the live feed on a shared database
// sends the same message to the other nodes) reaches subscribers as encoded, masked.
func TestHubPublishMessage(t *testing.T) {
	h := NewHub()
	sub, _ := h.Subscribe()
	defer sub.Close()
	e := event.Event{CallID: "c", Step: "Pay", Data: &event.APICalled{Error: "provider said " + testPANs[0]}}
	m := Encode(e)
	h.PublishMessage(e, m)
	got := <-sub.C()
	if string(got) != string(m.Bytes()) {
		t.Errorf("subscriber got %s, want the message as encoded %s", got, m.Bytes())
	}
	for _, p := range testPANs {
		if strings.Contains(string(got), p) {
			t.Errorf("message holds a PAN: %s", got)
		}
	}
	if !strings.Contains(string(got), "************"+testPANs[0][len(testPANs[0])-4:]) {
		t.Errorf("mask missing (the scan would not see the number): %s", got)
	}
}

func BenchmarkHubPublish(b *testing.B) {
	for _, subs := range []int{0, 1, 10, 100} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			h := NewHubSize(1 << 14)
			for i := 0; i < subs; i++ {
				s, _ := h.Subscribe()
				go func() {
					for range s.C() {
					}
				}()
				defer s.Close()
			}
			e := event.Event{CallID: "call-1", Step: "Pay", Data: &event.PayProgress{For: "payment-card-number", Attempt: 1, Digits: 12}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h.Publish(e)
			}
			b.ReportMetric(float64(h.Stats().Dropped), "dropped")
		})
	}
}

// TestHubPartiesFromAnyEvent: serve names the parties on call.answered, the engine its plan on
// call.started; the live row gets both whatever the order.
func TestHubPartiesFromAnyEvent(t *testing.T) {
	h := NewHub()
	h.Publish(event.Event{CallID: "c", Data: &event.CallAnswered{From: "+44770", To: "+44163", Plan: "pay"}})
	h.Publish(event.Event{CallID: "c", Data: &event.CallStarted{Plan: "pay", Version: "1"}})
	if l := h.Live(); len(l) != 1 || l[0].From != "+44770" || l[0].To != "+44163" || l[0].Plan != "pay" || l[0].State != "answered" {
		t.Errorf("live = %+v", l)
	}
}

// TestHubEndedCallsStayEnded: events of a call that has ended — its payment link opened and
// paid later, a recorder catching up — never bring it back into the live table (it used to
// come back as "ringing, ? → ?" until restart).
func TestHubEndedCallsStayEnded(t *testing.T) {
	h := NewHub()
	h.Publish(event.Event{CallID: "c", Data: &event.CallAnswered{From: "+44770", To: "+44163", Plan: "pay"}})
	h.Publish(event.Event{CallID: "c", Step: "Pay", Data: &event.PayCompleted{Payment: event.Payment{Result: "caller-interrupted-with-star"}}})
	h.Publish(event.Event{CallID: "c", Data: &event.CallEnded{Result: "hangup"}})
	for _, d := range []event.Data{&event.LinkOpened{LinkID: "lnk_1"}, &event.LinkPaid{LinkID: "lnk_1"},
		&event.LinkDeclined{LinkID: "lnk_1"}, &event.StepEntered{}, &event.PayProgress{}, &event.ConnectorRequest{},
		&event.CallAnswered{From: "+44770"}, &event.CallStarted{Plan: "pay"}} {
		h.Publish(event.Event{CallID: "c", Data: d})
		if l := h.Live(); len(l) != 0 {
			t.Fatalf("after a late %s the ended call is live again: %+v", d.Type(), l)
		}
	}
	// Events of a call the hub never saw start (a link of a call from before a restart) do not
	// make one up either.
	h.Publish(event.Event{CallID: "older", Data: &event.LinkPaid{LinkID: "lnk_2"}})
	if l := h.Live(); len(l) != 0 {
		t.Fatalf("a link of an unknown call made it live: %+v", l)
	}
	// The memory of ended calls is bounded.
	for i := 0; i < maxEnded+10; i++ {
		h.Publish(event.Event{CallID: fmt.Sprint("x", i), Data: &event.CallAnswered{}})
		h.Publish(event.Event{CallID: fmt.Sprint("x", i), Data: &event.CallEnded{}})
	}
	if n := len(h.ended.in); n != maxEnded || len(h.live) != 0 {
		t.Fatalf("ended set holds %d ids (max %d), live %d", n, maxEnded, len(h.live))
	}
}
