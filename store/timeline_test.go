package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestAppendEventsBatch: one batch of 45 events over three calls (cut into statements of 32,
// 8 and 1 rows), after events the calls already had, one event of a call that does not exist
// and one with fields that are not an object. Every other event is on its call's timeline in
// the order given, numbered after what was there; the two bad ones are named in the error
// and the rest committed; a card number in a step or a field is masked like any other write.
func TestAppendEventsBatch(t *testing.T) { eachDialect(t, testAppendEventsBatch) }

func testAppendEventsBatch(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		must(t, s.CreateCall(ctx, Call{ID: id}))
	}
	must(t, s.AppendEvent(ctx, "a", EventRecord{Type: "call.started"}))
	must(t, s.AppendEvent(ctx, "b", EventRecord{Type: "call.started"}))
	var evs []CallEvent
	for i := range 45 {
		id := []string{"a", "b", "c"}[i%3]
		evs = append(evs, CallEvent{CallID: id, EventRecord: EventRecord{Type: "pay.progress", Step: "Pay",
			Fields: jsonFields(map[string]any{"n": i})}})
		if i == 10 {
			evs = append(evs, CallEvent{CallID: "ghost", EventRecord: EventRecord{Type: "pay.progress"}})
		}
		if i == 20 {
			evs = append(evs, CallEvent{CallID: "c", EventRecord: EventRecord{Type: "bad", Fields: json.RawMessage(`[1]`)}})
		}
	}
	evs = append(evs, CallEvent{CallID: "c", EventRecord: EventRecord{Type: "note", Step: "card 4242424242424242",
		Fields: jsonFields(map[string]any{"said": "4242 4242 4242 4242"})}})
	err := s.AppendEvents(ctx, evs)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "ghost") {
		t.Fatalf("AppendEvents = %v, want the missing call and the bad fields named", err)
	}
	for _, id := range []string{"a", "b", "c"} {
		_, got, err := s.GetCall(ctx, id)
		must(t, err)
		want := 15
		if id != "c" {
			want++ // call.started
		} else {
			want++ // the masked note
		}
		if len(got) != want {
			t.Fatalf("call %s: %d events, want %d", id, len(got), want)
		}
		n := -1
		for i, ev := range got {
			if ev.Seq != int64(i+1) {
				t.Errorf("call %s: event %d numbered %d", id, i, ev.Seq)
			}
			if ev.Type != "pay.progress" {
				continue
			}
			var f struct{ N int }
			must(t, json.Unmarshal(ev.Fields, &f))
			if f.N <= n || f.N%3 != int(id[0]-'a') {
				t.Errorf("call %s: event %d is n=%d after n=%d", id, i, f.N, n)
			}
			n = f.N
		}
		if id == "c" {
			last := got[len(got)-1]
			if strings.Contains(last.Step, "4242424242424242") || strings.Contains(string(last.Fields), "4242 4242 4242 4242") ||
				!strings.Contains(last.Step, "************4242") {
				t.Errorf("card number stored: step %q fields %s", last.Step, last.Fields)
			}
		}
	}
	// Control: the scan above can see a stored digit string (the step's last four).
	if _, got, _ := s.GetCall(ctx, "c"); !strings.Contains(got[len(got)-1].Step, "4242") {
		t.Fatal("control: the masked step lost its last four")
	}
}

// TestAppendEventsTwoWriters: two stores (two nodes on PostgreSQL, a node and a CLI on
// SQLite) append batches to the same calls at once. No number is taken twice and no event is
// lost.
func TestAppendEventsTwoWriters(t *testing.T) { eachDialect(t, testAppendEventsTwoWriters) }

func testAppendEventsTwoWriters(t *testing.T) {
	s1, target := openTest(t)
	s2 := openAgain(t, target)
	ctx := context.Background()
	for _, id := range []string{"x", "y"} {
		must(t, s1.CreateCall(ctx, Call{ID: id}))
	}
	var wg sync.WaitGroup
	for w, s := range []*Store{s1, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				// Opposite orders of the calls in each writer's batches: locks are taken in
				// one order whatever the batch's.
				ids := []string{"x", "y"}
				if w == 1 {
					ids = []string{"y", "x"}
				}
				var evs []CallEvent
				for _, id := range ids {
					for j := range 3 {
						evs = append(evs, CallEvent{CallID: id, EventRecord: EventRecord{Type: fmt.Sprintf("w%d.%d.%d", w, i, j)}})
					}
				}
				if err := s.AppendEvents(ctx, evs); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, id := range []string{"x", "y"} {
		_, evs, err := s1.GetCall(ctx, id)
		must(t, err)
		if len(evs) != 120 {
			t.Fatalf("call %s: %d events, want 120", id, len(evs))
		}
		last := map[int]int{0: -1, 1: -1}
		for i, ev := range evs {
			if ev.Seq != int64(i+1) {
				t.Fatalf("call %s: event %d numbered %d", id, i, ev.Seq)
			}
			var w, b, j int
			if _, err := fmt.Sscanf(ev.Type, "w%d.%d.%d", &w, &b, &j); err != nil {
				t.Fatal(err)
			}
			if n := b*3 + j; n != last[w]+1 {
				t.Errorf("call %s: writer %d's event %d after its %d", id, w, n, last[w])
			} else {
				last[w] = n
			}
		}
	}
}
