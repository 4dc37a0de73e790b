package sandbox

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
)

// Config configures the sandbox provider. The zero value is a permissive sandbox: any client id
// and secret, any sk_… key, any Basic credentials, no faults, the demo billing accounts.
type Config struct {
	// Clients, when set, are the only OAuth2 client id → secret pairs the token endpoint accepts.
	Clients map[string]string
	// APIKeys, when set, are the only bearer secrets the Stripe-shaped API accepts; otherwise
	// any key starting with "sk_".
	APIKeys []string
	// Basic, when set, are the only user → password pairs the generic and SMS APIs accept.
	Basic map[string]string
	// PaymentKeys maps an AccountConfigurationId to its merchant payment key: results posted
	// from outside for that account's sessions must be signed with it (the Quiq pattern).
	PaymentKeys map[string]string
	// Accounts are the billing accounts of GET /billing/accounts/{id}/balance (nil: the
	// DemoAccounts the example plans look up; empty: none).
	Accounts []Account
	// DefaultCurrency of sessions whose PaymentData has none (default GBP).
	DefaultCurrency string
	// SessionTTL is how long a session accepts captures (default 7 days, longer than links).
	SessionTTL time.Duration
	// Faults are injected from the start; PUT /admin/faults changes them while running.
	Faults Faults
	// AdminToken, when set, is the bearer token the operator routes require: /admin/* (fault
	// injection, counters) and the inspection routes that show other people's data — /ledger
	// (last four digits, amounts, references, idempotency keys), /billing/… (names, mobile
	// numbers) and GET /sms/Messages (texts with their links). serve mounts the sandbox on its
	// public listener with the admin token here.
	AdminToken string
	// InspectKey, when set, is a second credential the inspection routes (not /admin/*)
	// accept, in the InspectKeyHeader header: serve's plan HTTP client sends it on the requests
	// a plan makes to $(Sandbox.Url), so the example plans can read balances and the ledger.
	InspectKey string
	// AuthorizationTTL is how long an authorisation holds its amount before it expires
	// (default 7 days, as card networks allow); ShortAuthorizationTTL is the lifetime of the
	// expiring test card's authorisations (default 2s).
	AuthorizationTTL      time.Duration
	ShortAuthorizationTTL time.Duration
	// SettleAfter is when pending refunds (bank accounts, the failing card) settle and the
	// chargeback card's chargeback arrives (default 1s).
	SettleAfter time.Duration
	// WebhookURL, when set, receives the sandbox's events (a capture settled, a refund
	// completed or failed, an authorisation expired, a chargeback), signed with WebhookSecret.
	WebhookURL    string
	WebhookSecret string
	// WebhookDelay is how long after the request that caused it an event is sent (default 200ms).
	WebhookDelay time.Duration
	// CaptureLine is the SIP URI of the sandbox's capture line (package sandbox/captureline),
	// which a voice session's dtmfFallbackNumber then names, so a session connector with
	// capture="provider" can dial it. Empty: the line is not running, and dtmfFallbackNumber is
	// the demo telephone number DemoFallbackNumber, which has no SIP address.
	CaptureLine string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives one line per request: method, path, status (never bodies).
	Logger *slog.Logger
}

// InspectKeyHeader carries Config.InspectKey.
const InspectKeyHeader = "Paybridge-Sandbox-Key"

// ParsePaymentKeys reads merchant payment keys written as "account:key,account:key" (commas
// or white space between pairs), as `serve --payment-keys`, PAYBRIDGE_PAYMENT_KEYS and
// `sandbox --payment-keys` take them. The keys are not echoed in errors.
func ParsePaymentKeys(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		account, key, ok := strings.Cut(p, ":")
		if !ok || account == "" || key == "" {
			return nil, fmt.Errorf("payment keys: an entry is not account:key (account %q)", account)
		}
		if _, dup := out[account]; dup {
			return nil, fmt.Errorf("payment keys: account %q is given twice", account)
		}
		out[account] = key
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
