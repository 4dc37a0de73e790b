// Package ivr is paybridge's SIP endpoint: it answers calls with sipgo, runs each call's media
// as a media.Session (package media: RTP, SDP offer/answer, codecs, ports, pacing, recording)
// and gives the engine one *Call per call, which implements engine.Channel. The
// SIP side — dialogs, re-INVITE and UPDATE, INFO, REFER, the UDP filter, the TCP guard — is
// here; media knows nothing of SIP, and this package reaches a call's media only through
// media.Session's methods.
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
// SIP over TLS (Config.TLSAddr, Config.TLS) passes the same guard above the TLS layer. A
// sips: Request-URI is taken over TLS only (416 otherwise); a TLS call is answered with a
// Contact on the TLS listener and its in-dialog requests are accepted over TLS only (403 and a
// log line otherwise), while paybridge's own go back on the caller's TLS connection.
//
// Once the ACK is in, the Router's CallHandler runs with the *Call. The handler (the callplan
// engine in `paybridge serve`) plays prompts, reads keys and hangs up; when it returns the
// server hangs up for it. BYE in either direction, CANCEL while ringing (487), re-INVITE and
// UPDATE (hold, unhold, refresh; 491 while one is pending, 500 for a CSeq that went back, 481
// outside a dialog), INFO with DTMF bodies, NOTIFY for a REFER we sent, OPTIONS (200, or 503
// "Draining" once Drain has begun, so that a dispatcher probing the node stops sending it calls;
// a full server's 503 says "Service Unavailable"), and 405
// with Allow for everything else are handled by the server.
//
// # Media
//
// Each call gets one RTP socket from the server's media.PortPool (even ports picked at
// random) and one media.Session on the server's media.Scheduler (one 10 ms tick paces every
// call; Server.SendJitter reports how late packets left). The offer of an INVITE, the answer
// in a late offer's ACK and the offer of each re-INVITE or UPDATE go through media.ParseSDP
// and media.NegotiateWith under the call's SRTP policy (Config.SRTP by transport, made stricter
// by Config.PlanSRTP); what they refuse is answered 488 with the reason in a Warning header. An
// SRTP call's keys live in its media.Session (fresh ones for our answers, re-keyed when a
// re-offer brings a new key, zeroed at hang-up; a re-offer may not turn encryption on or off);
// Call.Security says how the call is protected, and SRTP packets that fail authentication
// are counted (Metrics.SRTPDropped, Call.MediaStats), never logged one by one.
// The session applies the source rules (media/source.go: the SDP address, or once, early,
// a NAT mapping of the signalling source's IP, never with Config.StrictRTP; every other
// datagram foreign, counted in Call.MediaStats and Metrics.RTPForeign) and feeds the call's
// DTMF stream (Config.NewDTMF) with decoded audio, losses and RFC 4733 events; onInfo feeds
// it SIP INFO bodies through media.Session.Info, so the engine reads one keypress stream per
// call. No RTP for Config.MediaTimeout while the far end should be sending hangs the call up
// with cause "media-timeout". Play returns when the prompt has been sent; cancelling its
// context (the engine's barge-in) stops it at the next frame.
//
// Recordings (Config.Record or Call.Record) hold the caller's audio after the dtmf masker:
// no tone survives, and while the secure window is on (Call.Secure, turned on by Pay) they
// hold only the fill.
//
// # Card data
//
// Digits reach the engine only as dtmf.Event values (which print masked). INFO bodies are
// never logged; sipsafe.TraceSIP replaces every non-SDP body and every SDES key and passes the
// rest through pan.Redact (a card number in a header is masked too); sipgo's own log records go through
// sipsafe.LogHandler, which redacts message data; header values built from data pass
// sipsafe.CheckHeaderValue. Errors name positions and reasons, never keys.
//
// The test caller (`paybridge call`, and the caller these tests dial with) is package
// siptest, beside this one: it speaks to the endpoint only over the network.
package ivr
