// Package ivr is paybridge's SIP/RTP endpoint: it answers calls with sipgo, negotiates SDP
// with pion/sdp, runs RTP media with pion/rtp and gives the callplan engine one *Call per
// call, which implements callplan.Channel.
//
// # The model
//
// A Server listens for SIP on one address over UDP and TCP. Each INVITE is validated (the
// headers every request must carry, their multiplicity, CSeq/method agreement, URI scheme,
// Require, Accept, Content-Type), routed by its Request-URI user through the Router (no route
// is 404, exactly like a refused number), given an RTP socket from the port pool and answered
// through sipgo's dialog layer, which fixes one To-tag and retransmits the 200 until the ACK.
// Early and late offers both work: the answer to our own offer arrives in the ACK.
//
// SIP over UDP is filtered before sipgo parses it (scanners, the rate limit, and RFC 3261
// §18.3: a request whose Content-Length exceeds the datagram gets 400). SIP over TCP goes
// through a guarded listener (tcpguard.go): connections are limited in total and per source,
// and one that completes no message in time (half-open, drip-fed) or falls silent is closed.
//
// Once the ACK is in, the Router's CallHandler runs with the *Call. The handler (the callplan
// engine in `paybridge serve`) plays prompts, reads keys and hangs up; when it returns the
// server hangs up for it. BYE in either direction, CANCEL while ringing (487), re-INVITE and
// UPDATE (hold, unhold, refresh; 491 while one is pending, 500 for a CSeq that went back, 481
// outside a dialog), INFO with DTMF bodies, NOTIFY for a REFER we sent, OPTIONS, and 405 with
// Allow for everything else are handled by the server.
//
// # Media
//
// A call's media is one UDP socket on a port picked at random from the pool. The receiver
// first decides by the source address (source.go): the address the SDP names, or — once,
// early, from the signalling source's IP, never in StrictRTP mode — a NAT mapping of it
// (symmetric RTP); every other datagram is foreign, dropped and counted (Call.MediaStats,
// Metrics.RTPForeign), whatever SSRC and sequence numbers it copies. It then checks each
// datagram (RTP version 2, a negotiated payload type, the locked SSRC, wrap-safe sequence
// numbers) and feeds the call's DTMFStream: decoded audio for the in-band detector, telephone-event payloads for the RFC
// 4733 receiver, and lost packets as gaps — never as silence. SIP INFO bodies go to the same
// stream, so the engine reads one keypress stream per call. No RTP for Config.MediaTimeout
// while the far end should be sending hangs the call up with cause "media-timeout".
//
// Outgoing RTP is paced by one scheduler for every call of the server (a 10 ms tick that
// sends whatever frames are due), not by a ticker per call; it measures how late each packet
// left (Server.SendJitter). Play queues 8 kHz PCM and returns when it has been sent; cancelling
// its context (the engine's barge-in) stops playback at the next frame.
//
// Recordings (Config.Record or Call.Record) hold the caller's audio after the dtmf masker:
// no tone survives, and while the secure window is on (Call.Secure, turned on by Pay) they
// hold only the fill.
//
// # Card data
//
// Digits reach the engine only as dtmf.Event values (which print masked). INFO bodies are
// never logged; TraceSIP replaces every non-SDP body and passes the rest through pan.Redact
// (a card number in a header is masked too); sipgo's own log records go through a handler
// that redacts message data. Errors name positions and reasons, never keys.
//
// # The test caller
//
// Dial places a call the way `paybridge call` does: it offers PCMU, PCMA and telephone-event,
// waits for the answer and the first prompt, keys a digit script as RFC 4733 events (one SSRC,
// one timestamp per key, the end packet three times), in-band tones or SIP INFO, or streams a
// recording, and returns a JSON-ready summary that counts digits but never holds them.
package ivr
