// Package sandbox is paybridge's embedded payment provider: a real http.Handler that serves
// the provider side of every API the gateway's connectors speak, so that everything can be
// tried and tested with no account anywhere.
//
// # A provider, not part of the gateway
//
// The sandbox talks to paybridge only through the public HTTP contracts, exactly as a real
// provider would. It imports nothing of the gateway, the call-plan engine or the store — only
// pan (the card rules every provider applies: Luhn, brands, the mask) and internal/cardsafe
// (the zeroing of card bodies it shares with the payment page; TestImportGraph holds it to
// that). It keeps its own copy of the JSON shapes it answers with (shapes.go), its own
// amounts, ids and signature check. The gateway's client owns the contract it speaks (gateway/contract.go);
// gateway's TestSandboxHonoursTheContract checks, field by field, that the two copies agree,
// and this package's TestClientRequestsAreUnderstood replays the client's recorded requests
// (testdata/gateway/wire) against the sandbox. serve mounts a Provider under /sandbox/ of its
// public listener while a plan uses it; `paybridge sandbox` serves one alone; replay starts
// one on a loopback port.
//
// # What it serves
//
//   - OAuth2 client credentials (POST /auth/connect/token).
//   - The self-service session API of Vonage VCC / PCI Pal plus paybridge's capture call (voice and
//     digital sessions, status with captures, signed results posted from outside with the
//     account's payment key).
//   - Twilio's Generic Pay Connector contract (POST /generic).
//   - A Stripe-shaped API: tokens, charges, search by metadata, 402 card errors.
//   - An SMS Messages API, a demo billing API (Config.Accounts) and its ledger (GET /ledger).
//   - Fault injection ([Faults]: latency, failures, lost answers, hangs, token expiry) and
//     request counters, under /admin/.
//
// Every charge, approved or declined, is kept once per idempotency key, and a replayed key
// gets the first answer (Idempotent-Replayed: true): the sandbox never charges twice, so the
// gateway's retries and reconciliation can be tested against it. See docs/gateway.md for every
// endpoint, shape, test card and fault.
//
// # Card data
//
// The sandbox runs inside the paybridge process when serve mounts it, so what it receives sits
// in the same memory as what paybridge sent, and it follows the same rule: card digits are read
// from the request into buffers it owns and zeroes (internal/cardsafe), decoded straight into
// byte slices (cardfields.go), and never become Go strings. Its ledger, sessions and tokens
// keep the mask and the last four digits at most, and never a security code.
//
// # Who may read what
//
// The provider API authenticates as the real APIs do. The routes that show other people's
// data (/ledger, /billing/…, GET /sms/Messages) and fault injection (/admin/*) need
// Config.AdminToken when one is set; the inspection routes also accept Config.InspectKey in
// the InspectKeyHeader header.
package sandbox
