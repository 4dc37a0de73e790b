// Package gateway pays: connectors for payment providers and the contracts they speak, OAuth2
// client credentials, payment links, SMS senders and signed result webhooks.
//
// # The model
//
// A plan's <Connector> becomes a [Connector] through [Connectors.Open]. Each speaks one
// provider API over HTTP — "session" (the Vonage VCC / PCI Pal self-service session),
// "generic" (Twilio's Generic Pay Connector contract) or "stripe" (Stripe-style form
// posts) — and they share one request discipline:
//
//   - Credentials: an OAuth2 client-credentials token ([TokenSource]) cached until its expiry
//     minus a skew, fetched once for any number of concurrent callers; on a 401 the token is
//     dropped and the request sent once more, with the same body and idempotency key. Basic
//     auth and bearer API keys are static.
//   - Timeouts from the spec, per request. Retries, with exponential backoff, only of requests
//     that are idempotent (every payment carries an idempotency key the provider dedupes on),
//     and only on timeouts, network errors, 429 and 5xx.
//   - A decline is a [payment.Result] with the provider's code; an error (wrapping
//     ErrProviderTimeout, ErrProviderUnavailable, …; named by [ConnectorError]) means the
//     provider gave no answer, which the engine reports as payment-connector-error.
//
// # Card data
//
// The card arrives as *pan.SecureBuffer. A connector copies its digits once, into a request
// body allocated at its exact final size (so no stray copy is left by append), sends it, and
// zeroes it. It sends it with its own HTTP/1.1 writer (cardWire), on a connection of its own
// whose write and read buffers it zeroes, over TLS 1.2 — never through net/http, whose pooled
// buffers would keep a copy. The payment page reads a card form into one buffer it zeroes, and
// zeroes net/http's read buffer of its connection (internal/cardsafe, shared with the sandbox).
// Bodies are never logged: [RedactingTransport] logs method, host, path, status and header
// names only. Attempts, links, SMS and webhooks hold the mask (last four) at most; security
// codes are never kept at all.
//
// # Exactly once
//
// [Connector.Pay] writes a pending [Attempt] with its idempotency key to the [AttemptLog]
// before calling the provider, and its outcome after. If the process dies in between, or the
// provider's answer is lost, the attempt stays pending and [Reconcile] asks the provider what
// became of that key (session status captures, Stripe search by metadata) — nothing is lost
// and, because the provider dedupes on the key, nothing is charged twice. A failed write to the
// attempt log never changes a payment's outcome and is always logged with the attempt's key.
//
// # Links
//
// [Links] is the SMS fallback: [Links.SendPaymentLink] checks the SMS-pumping guard, binds a
// 256-bit random token (stored only as its SHA-256) to the call's provider session, and texts
// it. GET /pay/{token} shows an accessible page under a strict CSP and never consumes the link;
// POST claims it atomically, pays into the same session and finishes the claim (used, retry, or
// failed after too many declines).
//
// # Persistence
//
// The gateway declares what it stores — [AttemptLog], [LinkStore], [SMSOutbox],
// [WebhookStore], together [Store] — and [MemoryStore] implements them in memory (replay,
// tests). The store package's SQLite repository is adapted to them by the binary.
//
// # The contracts
//
// The client owns the contracts it speaks: contract.go holds the JSON of the session API and
// the Generic Pay Connector in full, and the fields of the Stripe-shaped API the connectors
// read. Providers are held to them — the embedded one (package sandbox) is a provider like any
// other: it keeps its own copy of the JSON, shares no code with this package, and the contract
// tests (TestSandboxHonoursTheContract here, TestClientRequestsAreUnderstood there) check that
// the two copies agree field by field. No code of this package depends on the sandbox; its
// tests use it as their provider. See docs/gateway.md for every endpoint and shape.
package gateway
