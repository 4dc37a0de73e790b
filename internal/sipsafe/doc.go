// Package sipsafe keeps card data and injected headers out of what paybridge's SIP user
// agents — the endpoint (package ivr) and the test caller (package siptest) — write. Both
// import it; it imports only sipgo's message package and pan (the one redactor).
//
//   - CheckHeaderValue refuses a header value with CR, LF or NUL: data (a plan's transfer
//     target, a provider's text, a command-line From) can never add a header or cut a message.
//   - RedactSIP replaces every message body that is not SDP with a placeholder (SIP INFO
//     bodies carry keypresses) and passes the rest through pan.Redact (a card number in a
//     header is masked). TraceSIP writes every message sent and received through it.
//   - LogHandler is the slog handler sipgo logs through: the keys under which sipgo logs
//     whole messages or raw datagrams are redacted, and its errors demoted to debug.
//
// SDP stays readable in traces: it carries addresses and codecs, never a key.
package sipsafe
