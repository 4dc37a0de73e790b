package event_test

import (
	"encoding/json"
	"fmt"

	"github.com/paybridge/paybridge/event"
)

// A consumer switches on the Data type: a field the producer renamed would not compile.
func Example() {
	var sink event.Sink = event.SinkFunc(func(e event.Event) {
		switch d := e.Data.(type) {
		case *event.PayCompleted:
			fmt.Println(e.CallID, d.Result, d.AmountMinor, d.Currency, d.MaskedCard)
		case *event.LinkPaid:
			fmt.Println(e.CallID, "paid by link", d.LinkID)
		}
	})
	sink.Emit(event.Event{CallID: "call-1", Step: "Pay", Data: &event.PayCompleted{Payment: event.Payment{
		Channel: event.ChannelVoice, AmountMinor: 1234, Currency: "GBP", Result: event.ResultSuccess,
		MaskedCard: "************4242"}}})

	b, _ := json.Marshal(event.Event{CallID: "call-1", Data: &event.Played{Prompt: "welcome"}})
	fmt.Println(string(b))
	// Output:
	// call-1 success 1234 GBP ************4242
	// {"time":"0001-01-01T00:00:00Z","call_id":"call-1","type":"play","fields":{"prompt":"welcome"}}
}
