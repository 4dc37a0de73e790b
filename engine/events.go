package engine

import "github.com/paybridge/paybridge/event"

// Event is one entry of a call's masked timeline (package event defines it and every type of
// Data). The engine emits them; serve stores them and streams them to the console, replay
// prints them. An Event never carries a card digit: Pay progress reports the field, attempt,
// error type and the count of digits entered.
type Event = event.Event

// EventSink receives a call's events in order. Emit must not block for long: a slow consumer
// buffers or drops, it never slows the call.
type EventSink = event.Sink

// EventSinkFunc adapts a function to EventSink.
type EventSinkFunc = event.SinkFunc
