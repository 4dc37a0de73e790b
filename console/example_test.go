package console_test

import (
	"encoding/json"
	"fmt"

	"github.com/paybridge/paybridge/console"
)

// The hub turns a call's events into the live table a console shows, and streams them.
func ExampleHub() {
	hub := console.NewHub()
	feed, _ := hub.Subscribe()
	defer feed.Close()

	hub.Publish(console.Event{CallID: "call-1", Type: "call.started", Fields: map[string]any{"from": "+447700900001", "plan": "pay"}})
	hub.Publish(console.Event{CallID: "call-1", Type: "step", Step: "Pay"})
	hub.Publish(console.Event{CallID: "call-1", Type: "pay.progress", Step: "Pay",
		Fields: map[string]any{"for": "payment-card-number", "attempt": 1, "digits": 12}})

	for _, c := range hub.Live() {
		fmt.Println(c.CallID, c.From, c.Plan, c.Step, c.Pay.For, c.Pay.Attempt, c.Pay.Digits)
	}
	for len(feed.C()) > 0 {
		var e console.Event
		_ = json.Unmarshal(<-feed.C(), &e)
		fmt.Println(e.Type)
	}
	// Output:
	// call-1 +447700900001 pay Pay payment-card-number 1 12
	// call.started
	// step
	// pay.progress
}
