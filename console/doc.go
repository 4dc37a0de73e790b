// Package console is the operator's view of paybridge: the admin HTTP API, the live WebSocket
// feed, the embedded web console page and the Prometheus metrics.
//
// # Model
//
// A Hub receives every masked call event (Publish never blocks) and fans it out to
// Subscriptions, each with a bounded buffer; a subscriber that falls a full buffer behind is
// dropped rather than slowing the call that produced the event. The hub also folds the events
// into a live-call table (current step, Pay progress as field / attempt / error type / digit
// count) that new subscribers receive first as a snapshot.
//
// NewServer builds the HTTP handler: read-only JSON views over the store (calls with their
// timelines, payments with their attempts, links, SMS outbox, audit log), the plans of a
// PlanSource with their validation messages, the live feed, /metrics, and the static console
// page. Everything except the page, its assets and /healthz requires the admin bearer token
// (AdminToken resolves it: flag, environment, or a generated 0600 file in the data directory).
//
// Metrics records the Prometheus series of the whole process; NewLogger builds the process
// logger behind a handler that masks any card number that reaches it.
//
// console imports store, gorilla/websocket and prometheus — not callplan, ivr or gateway: Event
// mirrors event.Event's JSON and PlanSource is implemented by serve. docs/operations.md is the
// operator's guide.
package console
