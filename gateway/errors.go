package gateway

import (
	"errors"

	"github.com/paybridge/paybridge/payment"
)

// Sentinel errors of the gateway package. They never carry card data; wrap them with %w and
// test with errors.Is.
var (
	// ErrUnknownConnectorType: a <Connector type="…"> the gateway does not speak.
	ErrUnknownConnectorType = errors.New("gateway: unknown connector type")
	// ErrConnectorConfig: a connector spec is incomplete (no base URL, no credentials…).
	ErrConnectorConfig = errors.New("gateway: invalid connector configuration")
	// ErrUnknownConnector: no connector of that name has been opened.
	ErrUnknownConnector = errors.New("gateway: unknown connector")

	// ErrProviderUnavailable: the provider answered 5xx (or 429) on every try.
	ErrProviderUnavailable = errors.New("gateway: provider unavailable")
	// ErrProviderTimeout: the provider did not answer within the connector's timeout.
	ErrProviderTimeout = errors.New("gateway: provider timed out")
	// ErrProviderNetwork: the provider could not be reached (DNS, refused, reset).
	ErrProviderNetwork = errors.New("gateway: provider unreachable")
	// ErrUnauthorized: the provider refused our credentials, even with a fresh token.
	ErrUnauthorized = errors.New("gateway: provider refused credentials")
	// ErrProviderRejected: the provider refused the request itself (4xx other than a decline).
	ErrProviderRejected = errors.New("gateway: provider rejected the request")
	// ErrBadResponse: the provider's answer could not be understood.
	ErrBadResponse = errors.New("gateway: unreadable provider response")
	// ErrTokenFetch: the OAuth2 client-credentials exchange failed.
	ErrTokenFetch = errors.New("gateway: token request failed")

	// ErrNotFound: a stored record (attempt, link, delivery) does not exist.
	ErrNotFound = errors.New("gateway: not found")
	// ErrDuplicate: a stored record with that key already exists.
	ErrDuplicate = errors.New("gateway: duplicate record")

	// ErrLinkUsed: a payment link has already been paid (or has failed for good).
	ErrLinkUsed = errors.New("gateway: payment link already used")
	// ErrLinkExpired: a payment link is past its expiry.
	ErrLinkExpired = errors.New("gateway: payment link expired")
	// ErrLinkBusy: another submission of the same link is in progress.
	ErrLinkBusy = errors.New("gateway: payment link busy")
	// ErrBadToken: a link token is malformed (wrong length or alphabet).
	ErrBadToken = errors.New("gateway: malformed link token")

	// ErrSMSRefused: the SMS-pumping guard refused the destination.
	ErrSMSRefused = errors.New("gateway: SMS destination refused")
	// ErrSMSCap: the destination has reached its daily SMS cap.
	ErrSMSCap = errors.New("gateway: daily SMS cap reached")
	// ErrSMSSend: the SMS provider did not accept the message.
	ErrSMSSend = errors.New("gateway: SMS send failed")

	// ErrDestinationRefused: a status callback's URL is somewhere the node may not send to
	// (the callbacks' HTTP client refused it); the delivery is given up at once, not retried.
	ErrDestinationRefused = errors.New("gateway: callback destination refused")

	// ErrSignature: a webhook or callback signature header is malformed or does not verify.
	ErrSignature = errors.New("gateway: invalid signature")
	// ErrSignatureExpired: a signature's timestamp is outside the tolerance.
	ErrSignatureExpired = errors.New("gateway: signature timestamp outside tolerance")

	// ErrBadAmount: an amount string or currency is not valid.
	ErrBadAmount = errors.New("gateway: invalid amount")
	// ErrBadCard: a card field submitted on the payment page is malformed.
	ErrBadCard = errors.New("gateway: invalid card field")

	// ErrNotReceived: the request never reached the provider (the connection could not be
	// made on any try): nothing can have happened there.
	ErrNotReceived = errors.New("gateway: the request never reached the provider")

	// Lifecycle (capture, void, refund): the contract's sentinels, so that callers that know
	// only package payment (the console, the engine) can tell them apart.
	ErrPaymentState  = payment.ErrPaymentState
	ErrAmountExceeds = payment.ErrAmountExceeds
	ErrKeyReused     = payment.ErrKeyReused
	// ErrNoLedger: no lifecycle store is configured.
	ErrNoLedger = errors.New("gateway: no payment ledger")
)
