package console

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/paybridge/paybridge/event"
)

// BenchmarkWebSocketFanout publishes pay.progress events to N real WebSocket clients over
// loopback and waits until every client has read every event: the cost per event of the live
// feed end to end (encode, mask check, fan-out, frame write, client read).
func BenchmarkWebSocketFanout(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			f := newFixture(b, func(c *Config) {
				c.Hub = NewHubSize(1 << 16)
				c.WebSocket = &WebSocketConfig{PingInterval: time.Minute}
			})
			hub := f.srvHub(b)
			var wg sync.WaitGroup
			conns := make([]*websocket.Conn, n)
			for i := range conns {
				c, _, err := websocket.DefaultDialer.Dial(wsURL(f), http.Header{"Authorization": {"Bearer " + testToken}})
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				_, _, _ = c.ReadMessage() // snapshot
				conns[i] = c
			}
			e := event.Event{CallID: "call-1", Step: "Pay", Data: &event.PayProgress{For: "payment-card-number", Attempt: 1, Digits: 12}}
			b.ReportAllocs()
			b.ResetTimer()
			for _, c := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < b.N; i++ {
						_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
						if _, _, err := c.ReadMessage(); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			for i := 0; i < b.N; i++ {
				hub.Publish(e)
			}
			wg.Wait()
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "msgs/s")
			if d := hub.Stats().Dropped; d != 0 {
				b.Errorf("%d clients dropped", d)
			}
		})
	}
}
