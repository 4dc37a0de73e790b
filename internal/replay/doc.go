// Package replay runs a call plan offline: a recorded or typed keypress stream plays the
// caller, a virtual clock stands in for time, and the embedded sandbox provider (reached over
// real HTTP on a loopback port) stands in for the payment provider. It is the engine of
// `paybridge replay`.
//
// The model: an Input is a timeline of keys (offsets from the start of the call) and a
// length. Recordings become Inputs through the same dtmf.Stream a live call uses (in-band
// tones, RFC 4733 events and SIP INFO merged into one key per press); --digits strings
// become Inputs directly. Run schedules every key on an engine.VirtualClock, schedules the
// caller's hang-up Linger after the input ends, and runs the plan with engine.Run on a
// Channel whose prompts last exactly as long as their WAVs. Whenever the call waits and
// nothing is ready, the engine steps the clock to the next event, so a 60-second call replays
// in milliseconds and every run of the same input gives the same timeline.
package replay
