// Package event holds the typed events of a call's masked timeline: what the engine
// (package engine), the gateway (payment links, provider requests) and serve produce, and what
// serve's recorder, the store, the console and the webhooks consume. Producer and consumer
// share these structs, so a renamed or missing field does not compile, where a map of
// string keys drifted silently (payments were once stored without their amount because the
// link page wrote "session_id" and the recorder read "sessionId").
//
// An Event is when (Time), which call (CallID), which step (Step) and what happened (Data,
// one of this package's types). Its JSON is
//
//	{"time": …, "call_id": …, "type": "pay.completed", "step": "Pay", "node": "pb-1", "fields": {…Data…}}
//
// Node names the paybridge node the event happened on, when several share one database (the live
// feed of any node shows every node's events).
//
// and Unmarshal turns it back into the typed Data (types it does not know become Unknown).
//
// No event carries card data: a card appears as its mask (last four) and brand, keypresses as
// a count. Payment carries the facts every payment record needs (amount, currency, reference,
// connector, channel, provider session, masked card, brand), so that a record of a payment
// that did not complete still ties to the session a later link pays.
//
// The package imports the standard library only.
package event
