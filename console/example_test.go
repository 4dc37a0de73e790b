package console_test

import (
	"encoding/json"
	"fmt"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/event"
)

// The hub turns a call's events into the live table a console shows, and streams them.
func ExampleHub() {
	hub := console.NewHub()
	feed, _ := hub.Subscribe()
	defer feed.Close()

	hub.Publish(event.Event{CallID: "call-1", Data: &event.CallStarted{From: "+447700900001", Plan: "pay"}})
	hub.Publish(event.Event{CallID: "call-1", Step: "Pay", Data: &event.StepEntered{}})
	hub.Publish(event.Event{CallID: "call-1", Step: "Pay", Data: &event.PayProgress{For: "payment-card-number", Attempt: 1, Digits: 12}})

	for _, c := range hub.Live() {
		fmt.Println(c.CallID, c.From, c.Plan, c.Step, c.Pay.For, c.Pay.Attempt, c.Pay.Digits)
	}
	for len(feed.C()) > 0 {
		var e event.Event
		_ = json.Unmarshal(<-feed.C(), &e)
		fmt.Println(e.Type())
	}
	// Output:
	// call-1 +447700900001 pay Pay payment-card-number 1 12
	// call.started
	// step
	// pay.progress
}
