// Package siptest is a SIP test caller: the user agent behind `paybridge call`, and the
// outside caller the endpoint's own tests dial with. It stands beside the endpoint (package
// ivr), not inside it, and knows nothing of it: it speaks SIP through sipgo and describes and
// decodes its media through package media, exactly as any other phone would. ivr's tests
// import it; it never imports ivr.
//
// # The model
//
// Dial places one call and returns a JSON-ready CallerResult, over UDP, TCP or TLS (a sips:
// target; CallerConfig.TLS says which certificates it trusts, and a refused one is explained
// by tlsconf.Explain). It offers PCMU, PCMA and telephone-event (media.BuildOffer; RTP/SAVP
// with a fresh SDES key per suite with CallerConfig.SRTP, the answer then required to pick
// one, and every packet protected with media.SRTP), waits for the answer (a refusal is a result, not an
// error; when nothing answers at all the INVITE is dropped at the timeout rather than after
// Timer B), ACKs, and runs its own RTP: one socket, one SSRC and one sequence space, a 20 ms
// frame sent every 20 ms (silence when there is nothing to say), and symmetric RTP towards
// wherever the far end sends from.
//
// It then does one of three things: keys a digit script (ParseDigitScript: keys, 'w' and 'W'
// pauses, '|' waits for CallerConfig.Proceed) once the first prompt audio arrived — as RFC 4733 events (one timestamp per key, the
// end packet three times), in-band tones, or SIP INFO dtmf-relay bodies; streams 8 kHz PCM; or
// replays recorded RTP packets with their timing, restamped onto its own SSRC and sequence.
// Afterwards it waits for the far end's BYE or hangs up itself, and hands what it heard to
// CallerConfig.Heard.
//
// # Card data
//
// The result counts digits and never holds one; script errors name positions, never keys;
// sipgo's logs go through sipsafe.LogHandler, and a process-wide SIP trace (sipsafe.TraceSIP)
// redacts INFO bodies.
package siptest
