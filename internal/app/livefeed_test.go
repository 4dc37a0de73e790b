package app

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/store"
)

// TestLiveFeedAnnouncesRedacted: on a shared database a node encodes each live event once
// (console.Encode, which redacts) and sends that message both to its own console and to the
// other nodes. What goes over the database holds no card number — the raw announcement is
// read here as any listener on the channel would (store.Announce masks as well: two layers) —
// and the other node's console shows the event, masked. The control: the mask of the number is found where the number was.
func TestLiveFeedAnnouncesRedacted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := testDatabase(t)
	open := func() *store.Store {
		s, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s1, s2, s3 := open(), open(), open()
	if !s1.Shared() {
		t.Fatal("a PostgreSQL store is not shared")
	}
	f1 := newLiveFeed("n1", console.NewHub(), s1, log)
	f2 := newLiveFeed("n2", console.NewHub(), s2, log)
	go f1.run(ctx)
	go f2.run(ctx)
	raw := make(chan string, 1024)
	followErr := make(chan error, 1)
	go func() {
		followErr <- s3.Follow(ctx, func(msg []byte) {
			select {
			case raw <- string(msg):
			default:
			}
		})
	}()
	own, _ := f1.hub.Subscribe()
	defer own.Close()
	other, _ := f2.hub.Subscribe()
	defer other.Close()

	const card = "4242424242424242"
	e := event.Event{CallID: "c1", Data: &event.APICalled{Error: "provider echoed " + card}}
	// Both listeners on the database start in the background: publish until n2's console and
	// the raw channel have each shown the event (one may be listening well before the other).
	deadline := time.After(30 * time.Second)
	var seen, mine, announced string
	for seen == "" || mine == "" || announced == "" {
		f1.Publish(e)
		tick := time.After(200 * time.Millisecond)
	wait:
		for {
			select {
			case m := <-other.C():
				seen = string(m)
			case m := <-own.C():
				mine = string(m)
			case m := <-raw:
				announced = m
			case err := <-followErr:
				t.Fatalf("listening on the database channel: %v", err)
			case <-tick:
				break wait
			case <-deadline:
				t.Fatalf("after 30 s: n2's console %t, n1's console %t, the database channel %t", seen != "", mine != "", announced != "")
			}
		}
	}
	for name, msg := range map[string]string{"n2's console": seen, "n1's console": mine, "the database channel": announced} {
		if strings.Contains(msg, card) {
			t.Errorf("%s holds the card number: %s", name, msg)
		}
		if !strings.Contains(msg, "************4242") || !strings.Contains(msg, `"type":"api"`) {
			t.Errorf("%s: the masked event is missing: %s", name, msg)
		}
	}
	if !strings.Contains(seen, `"node":"n1"`) {
		t.Errorf("n2 shows the event without its node: %s", seen)
	}
}
