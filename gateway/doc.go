// Package gateway pays: connectors for payment providers, OAuth2 client credentials, the
// embedded sandbox provider, payment links, SMS senders and signed result webhooks.
package gateway
