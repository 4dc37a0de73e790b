package payment

import "errors"

// ErrAmount: an amount or currency is malformed. (The message keeps the prefix plan authors
// see in $(Pay.ConnectorError) and validate's messages.)
var ErrAmount = errors.New("callplan: bad amount")

// ErrNotCharged marks a connector error after which the provider provably holds no payment
// for the attempt: the request never reached it (the connection was refused), or it was asked
// afterwards and has no such payment and can no longer take one. Only such an error lets a
// payment go on to the next connector (FailOver).
var ErrNotCharged = errors.New("payment: nothing was charged")

// ErrUnsupported: the connector's provider does not offer what was asked (authorize on a
// provider without holds, a bank account on a card-only API, a second capture).
var ErrUnsupported = errors.New("payment: not supported by this connector")

// The lifecycle's refusals (Lifecycle), the same whoever implements it.
var (
	// ErrPaymentState: the payment cannot do that now (a capture of a payment holding nothing,
	// a refund of one that captured nothing, a void after a capture, anything after a
	// chargeback).
	ErrPaymentState = errors.New("payment: the payment's state does not allow it")
	// ErrAmountExceeds: more than the authorisation has left to capture, or than the captured
	// amount has left to refund (operations still pending count).
	ErrAmountExceeds = errors.New("payment: amount exceeds what is left")
	// ErrKeyReused: an idempotency key given again with another operation or amount.
	ErrKeyReused = errors.New("payment: idempotency key reused for another operation")
)
