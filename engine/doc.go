// Package engine runs a call plan — the model package callplan parses and validates — on one
// call: Run walks the plan's flow against a Channel (a live SIP call from ivr, or recorded keys
// on a virtual clock in replay), plays prompts with barge-in and type-ahead, collects input,
// calls a plan's HTTP steps, and pays through the payment package's Connector, which the
// gateway implements.
//
// The model: one goroutine per call blocks in one place (run_wait.go), waiting for the first of
// a key, the end of a prompt, a timer on the run's Clock, the end of the call or the context —
// in that order when several are ready. A live channel that starts prompts (PromptStarter,
// PCMStarter: ivr.Call) hands back a Playback whose end is one more channel in that wait, so
// a prompt costs no goroutine; a channel with only a blocking Play is played by a helper
// goroutine the run waits for the same way (playback.go). On a VirtualClock the engine steps the clock whenever
// nothing is ready, so replays cost no time and are reproducible.
//
// Card data: the Pay step (pay.go) keeps every digit in pan.SecureBuffers, hands them to the
// connector inside a payment.Card and wipes them on every way out. Events, the Outcome,
// published variables and logs carry masks and counts, never digits; credentials a plan
// fetched are masked in all of them too (secrets.go).
//
// A plan's HTTP steps cannot be turned against the host they run on: a redirect to another
// origin is followed only on request, a URL whose origin comes from untrusted data is refused
// unless the step allows it (trust.go; the validator applies the same rule), and connections
// go only where the operator's Destinations allow, checked on the dialled address
// (httpdest.go).
package engine
