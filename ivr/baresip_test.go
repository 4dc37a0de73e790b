package ivr

import (
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/baresip"
)

// TestBaresipKeysCard dials paybridge from baresip (ctrl_tcp: dial, then sndcode per key) and
// checks that the Channel receives the whole card.
func TestBaresipKeysCard(t *testing.T) {
	got := make(chan collected, 1)
	s, logs := startServer(t, Config{Router: digitCollector(len(sippCard), got)})
	b := baresip.Start(t)
	b.Command(t, "dial", "sip:+441632960000@"+s.Addr().String())
	b.WaitEvent(t, "CALL_ESTABLISHED", 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	for i := 0; i < len(sippCard); i++ {
		b.Command(t, "sndcode", sippCard[i:i+1])
		time.Sleep(250 * time.Millisecond)
	}
	var c collected
	select {
	case c = <-got:
	case <-time.After(20 * time.Second):
		t.Fatalf("handler never finished\n%s", b.Output())
	}
	if c.digits != sippCard {
		t.Fatalf("channel got %d digits (want %d), equal=%v\nbaresip:\n%s", len(c.digits), len(sippCard), c.digits == sippCard, tail(b.Output(), 3000))
	}
	b.WaitEvent(t, "CALL_CLOSED", 10*time.Second)
	assertNoCards(t, "server logs", logs.String())
}
