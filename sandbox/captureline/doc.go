// Package captureline is the sandbox provider's own secure capture line: the SIP endpoint a
// voice session's dtmfFallbackNumber names, so that a session connector with
// capture="provider" runs offline exactly as it runs against Vonage VCC or PCI Pal.
//
// # The model
//
// The line is a small SIP user agent server (sipgo) on a loopback UDP port. It answers every
// INVITE it can negotiate (media's offer/answer; 488 with the reason otherwise), opens one
// media.Session for the call and feeds what arrives — RFC 4733 events and in-band tones — into
// a dtmf.Stream. Then it reads, in order:
//
//  1. the session's dtmfLinkId, which the caller's platform keys down the line as soon as it is
//     answered (8 digits, the sandbox's length); a link id no open session has ends the call;
//  2. the card number, ended by '#' ('*' starts it again);
//  3. the expiry, four digits MMYY, ended by '#';
//  4. the security code, ended by '#'.
//
// — the keys paybridge's own Pay step asks for, in the same order. It then pays the session through the sandbox's own ledger (Ledger.PayOnLine) and hangs up
// with a BYE when the session is completed or failed; after a decline that leaves the session
// open it reads another card from step 2. A key not received within KeyTimeout, or a call
// longer than CallTimeout, ends the call; the session's status then tells paybridge how it went.
//
// # Card data
//
// Keys go straight from the stream's callback into pan.SecureBuffer values, which are wiped as
// soon as the ledger has the card and whenever a call ends; the link id is no card data. The
// line logs calls, link lookups and outcomes with masked cards only, and its SIP traces go
// through internal/sipsafe.
package captureline
