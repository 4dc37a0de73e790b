package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/internal/clientip"
	"github.com/paybridge/paybridge/ivr"
	"github.com/paybridge/paybridge/media"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
	"github.com/paybridge/paybridge/store"
)

// Config is everything `paybridge serve` can be told. Each field has a flag and an environment
// variable (PAYBRIDGE_ + the flag name in upper case with '-' → '_'); a flag given on the command
// line wins over the environment, which wins over the default.
type Config struct {
	SIPAddr      string        // --sip-addr: UDP and TCP listen address for SIP
	SIPTLSAddr   string        // --sip-tls-addr: SIP over TLS listen address ("" = the --sip-addr host, port 5061, when --tls-cert is given)
	TLSCert      string        // --tls-cert: SIP over TLS certificate, PEM (the chain after it)
	TLSKey       string        // --tls-key: its private key, PEM
	TLSClientCA  string        // --tls-client-ca: CA certificates that sign the clients SIP over TLS accepts (mutual TLS; "" = no client certificate asked)
	SRTP         string        // --srtp: off | optional | required, or per transport: "udp=optional tcp=optional tls=required"
	HTTPAddr     string        // --http-addr: console, API, WebSocket, payment pages, sandbox
	HTTPTLSCert  string        // --http-tls-cert: HTTPS certificate, PEM (the chain after it)
	HTTPTLSKey   string        // --http-tls-key: its private key, PEM
	RTPPortMin   int           // --rtp-ports low end (even)
	RTPPortMax   int           // --rtp-ports high end
	RTPStrict    bool          // --rtp-strict: media only from the SDP address (no symmetric-RTP latching)
	PublicIP     string        // --public-ip: address put in Contact and SDP c= ("" = the SIP listen address)
	PublicURL    string        // --public-url: base URL of payment links ("" = http://HTTP_ADDR)
	DataDir      string        // --data: SQLite file, admin token, recordings
	DB           string        // --db: a PostgreSQL URL shared by several nodes ("" = the SQLite file in DataDir)
	NodeID       string        // --node-id: this node's id, unique among live nodes ("" = the host name)
	Reconcile    time.Duration // --reconcile-every: how often pending payments are asked about
	PlansDir     string        // --plans: plan directory ("" = the bundled examples)
	AdminToken   string        // --admin-token: bearer token for the admin API ("" = generated)
	LogFormat    string        // --log-format: text | json
	LogLevel     string        // --log-level: debug | info | warn | error
	Record       bool          // --record: record every call (masked) to DATA/recordings
	MediaTimeout time.Duration // --media-timeout: hang up after this long without RTP
	DrainTimeout time.Duration // --drain-timeout: how long calls may finish after SIGTERM
	Retention    time.Duration // --retention: purge records older than this (0 = keep)
	SMSURL       string        // --sms-url: HTTP "Messages" endpoint; "" = the outbox only
	SMSUser      string        // --sms-user
	SMSPassword  string        // --sms-password (prefer the environment)
	SMSFrom      string        // --sms-from
	// The merchant that payment pages and link texts name when a plan's connector has no
	// <Merchant>: --merchant-name, --merchant-logo, --merchant-support, --merchant-locale.
	Merchant    payment.Merchant
	SMSPrefixes string // --sms-prefixes: allowed destination prefixes, space separated
	WebhookURL  string // --webhook-url: where signed payment results are posted
	WebhookKey  string // --webhook-secret: HMAC key for result webhooks
	PaymentKeys string // --payment-keys: account:key,… that sign results posted to the sandbox from outside
	AgentTokens string // --agent-tokens: agent=token,… that reach the Payments API, the feed and the desk for their own bridged calls
	// --provider-webhook-secrets: name:secret,… of providers posting events to /webhooks/provider/{name}
	ProviderHooks string
	RateLimit     float64 // --sip-rate: new SIP transactions per second per source (0 = off)
	AllowList     string  // --sip-allow: sources exempt from the rate limit (CIDRs, space separated)
	SIPTrace      bool    // --sip-trace: log every SIP message, redacted (INFO bodies, SDP keys)

	TTS         string        // --tts: library | process | http | off — the text-to-speech engine of <Say>
	TTSURL      string        // --tts-url: the external service (--tts http)
	TTSHeader   string        // --tts-header: "Name: value" sent to it (e.g. Authorization; prefer the environment)
	TTSVersion  string        // --tts-version: part of the cache key; change it when the service's voices change
	TTSTimeout  time.Duration // --tts-timeout: one request to the service
	TTSCache    string        // --tts-cache: rendered speech ("" = DATA/tts)
	TTSCacheMiB int           // --tts-cache-mb: bound of the cache directory
	MaxCalls    string        // --max-calls: "auto" (the admission controller's limit, up to the RTP ports) or a ceiling
	Admission   string        // --admission: "auto" (media health moves the limit) or "fixed" (the --max-calls ceiling alone: a measurement mode)

	Sandbox        string // --sandbox: auto (mounted when a loaded plan uses it) | on | off
	CaptureLine    bool   // --sandbox-capture-line: run the sandbox's SIP capture line on a loopback port
	TrustedProxies string // --trusted-proxies: reverse proxies whose X-Forwarded-For / Forwarded is believed (CIDRs)
	HTTPAllow      string // --http-allow: where plan HTTP steps may connect ("public", hosts, CIDRs)
}

// DefaultConfig returns the embedded defaults: everything on one machine, no account anywhere.
func DefaultConfig() Config {
	return Config{
		SIPAddr:      "0.0.0.0:5060",
		SRTP:         "optional",
		HTTPAddr:     "127.0.0.1:8080",
		RTPPortMin:   10000,
		RTPPortMax:   20000,
		DataDir:      "./data",
		Reconcile:    time.Minute,
		LogFormat:    "text",
		LogLevel:     "info",
		MediaTimeout: 30 * time.Second,
		DrainTimeout: 60 * time.Second,
		Retention:    0,
		SMSPrefixes:  "+44 +1",
		RateLimit:    50,
		MaxCalls:     "auto",
		Admission:    "auto",
		AllowList:    "127.0.0.0/8 ::1/128",
		Sandbox:      "auto",
		HTTPAllow:    "public",
		TTS:          "library",
		TTSTimeout:   5 * time.Second,
		TTSCacheMiB:  256,
	}
}

// ParseConfig reads flags from args and PAYBRIDGE_* variables through getenv.
func ParseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rtpPorts string
	str := func(p *string, name, usage string) { fs.StringVar(p, name, *p, usage) }
	str(&c.SIPAddr, "sip-addr", "SIP listen address (UDP and TCP)")
	str(&c.SIPTLSAddr, "sip-tls-addr", "SIP over TLS listen address (default with --tls-cert: the --sip-addr host, port 5061)")
	str(&c.TLSCert, "tls-cert", "SIP over TLS certificate (PEM, chain after it); reloaded on SIGHUP")
	str(&c.TLSKey, "tls-key", "private key of --tls-cert (PEM)")
	str(&c.TLSClientCA, "tls-client-ca", "SIP over TLS: accept only clients with a certificate from these CAs (PEM; mutual TLS for trunks)")
	str(&c.SRTP, "srtp", `media encryption: off, optional or required; or per transport, e.g. "udp=optional tcp=optional tls=required"`)
	str(&c.HTTPAddr, "http-addr", "HTTP listen address (console, API, payment pages, sandbox)")
	str(&c.HTTPTLSCert, "http-tls-cert", "serve HTTPS with this certificate (PEM, chain after it); reloaded on SIGHUP")
	str(&c.HTTPTLSKey, "http-tls-key", "private key of --http-tls-cert (PEM)")
	rtpPorts = fmt.Sprintf("%d-%d", c.RTPPortMin, c.RTPPortMax)
	fs.StringVar(&rtpPorts, "rtp-ports", rtpPorts, "RTP port range LOW-HIGH")
	fs.BoolVar(&c.RTPStrict, "rtp-strict", c.RTPStrict, "accept media only from the address and port the caller's SDP names (no symmetric-RTP latching for callers behind NAT)")
	str(&c.PublicIP, "public-ip", "address for SIP Contact and SDP c= (default: the SIP listen address)")
	str(&c.PublicURL, "public-url", "base URL of payment links (default: https:// or http://HTTP-ADDR)")
	str(&c.DataDir, "data", "data directory (database, admin token, recordings)")
	str(&c.DB, "db", "the database of records: a PostgreSQL URL (postgres://…) shared by the nodes of a cluster; default: DATA/paybridge.db (SQLite)")
	str(&c.NodeID, "node-id", "this node's id, recorded on its calls and unique among the live nodes (default: the host name)")
	fs.DurationVar(&c.Reconcile, "reconcile-every", c.Reconcile, "how often payments left pending (no answer from the provider) are asked about again")
	str(&c.PlansDir, "plans", "call-plan directory (default: the bundled examples)")
	str(&c.AdminToken, "admin-token", "admin API bearer token (default: generated into DATA/admin.token)")
	str(&c.LogFormat, "log-format", "log format: text or json")
	str(&c.LogLevel, "log-level", "log level: debug, info, warn, error")
	fs.BoolVar(&c.Record, "record", c.Record, "record every call, masked, to DATA/recordings")
	fs.DurationVar(&c.MediaTimeout, "media-timeout", c.MediaTimeout, "hang up after this long without RTP")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", c.DrainTimeout, "how long calls may finish after SIGTERM")
	fs.DurationVar(&c.Retention, "retention", c.Retention, "purge records older than this (0 keeps everything)")
	str(&c.SMSURL, "sms-url", "HTTP Messages endpoint of an SMS provider (default: outbox only)")
	str(&c.SMSUser, "sms-user", "SMS provider user (Basic auth)")
	str(&c.SMSPassword, "sms-password", "SMS provider password (prefer PAYBRIDGE_SMS_PASSWORD)")
	str(&c.SMSFrom, "sms-from", "SMS sender id or number")
	str(&c.Merchant.Name, "merchant-name", "the merchant payment pages and link texts name, unless a plan's <Merchant> says otherwise")
	str(&c.Merchant.Logo, "merchant-logo", "the merchant's logo on payment pages: a PNG, JPEG, GIF, WebP or SVG file of at most 64 KiB")
	str(&c.Merchant.Support, "merchant-support", `how customers reach the merchant, on payment pages and in link texts ("0800 123 4567")`)
	str(&c.Merchant.Locale, "merchant-locale", "how amounts are written on payment pages and in link texts: "+strings.Join(payment.Locales(), ", "))
	str(&c.SMSPrefixes, "sms-prefixes", "allowed SMS destination prefixes, space separated")
	str(&c.WebhookURL, "webhook-url", "URL that receives signed payment results")
	str(&c.WebhookKey, "webhook-secret", "HMAC key for result webhooks (prefer PAYBRIDGE_WEBHOOK_SECRET)")
	str(&c.PaymentKeys, "payment-keys", "merchant payment keys, account:key,…: results posted to the sandbox from outside must be signed with the account's key (prefer PAYBRIDGE_PAYMENT_KEYS)")
	str(&c.AgentTokens, "agent-tokens", "per-agent API tokens, agent=token,…: each reaches the Payments API, the live feed and the console's agent desk for the calls bridged to that agent only (prefer PAYBRIDGE_AGENT_TOKENS)")
	str(&c.ProviderHooks, "provider-webhook-secrets", "providers that post events (capture settled, refund completed, chargeback) to /webhooks/provider/NAME, as NAME:secret,… (prefer PAYBRIDGE_PROVIDER_WEBHOOK_SECRETS; the embedded sandbox is \"sandbox\", with a secret of its own)")
	fs.Float64Var(&c.RateLimit, "sip-rate", c.RateLimit, "new SIP requests per second per source (0 = off)")
	str(&c.AllowList, "sip-allow", "sources exempt from the SIP rate limit (CIDRs, space separated)")
	str(&c.MaxCalls, "max-calls", `ceiling of calls in progress, new calls beyond it get 503; "auto": the RTP ports of the range, and below it what the media health allows (docs/operations.md)`)
	str(&c.Admission, "admission", `"auto": below --max-calls, new calls are held to what the media health allows; "fixed": to --max-calls alone, whatever the health — a mode for measuring memory and CPU per call on a shared machine, never for production (docs/sip.md)`)
	fs.BoolVar(&c.SIPTrace, "sip-trace", c.SIPTrace, "write every SIP message to the log output, redacted (DTMF INFO bodies never appear)")
	str(&c.TTS, "tts", "text-to-speech engine for <Say>: library (libespeak-ng in the process), process (the espeak-ng program), http (--tts-url) or off")
	str(&c.TTSURL, "tts-url", "external text-to-speech service: one POST per request, WAV back (docs/tts.md)")
	str(&c.TTSHeader, "tts-header", `header sent to the TTS service, "Name: value" (prefer PAYBRIDGE_TTS_HEADER)`)
	str(&c.TTSVersion, "tts-version", "the TTS service's voice version, part of the cache key (change it when its voices change)")
	fs.DurationVar(&c.TTSTimeout, "tts-timeout", c.TTSTimeout, "one request to the TTS service")
	str(&c.TTSCache, "tts-cache", "directory of rendered speech (default DATA/tts)")
	fs.IntVar(&c.TTSCacheMiB, "tts-cache-mb", c.TTSCacheMiB, "bound of the speech cache directory, MiB")
	str(&c.Sandbox, "sandbox", "mount the sandbox provider on /sandbox/: auto (when a loaded plan uses it), on or off")
	fs.BoolVar(&c.CaptureLine, "sandbox-capture-line", c.CaptureLine, `run the sandbox's SIP capture line on a loopback port, so a session connector with capture="provider" can dial it (its voice sessions' dtmfFallbackNumber names it)`)
	str(&c.TrustedProxies, "trusted-proxies", "reverse proxies whose X-Forwarded-For / Forwarded names the client (CIDRs, space separated)")
	str(&c.HTTPAllow, "http-allow", `where plan ApiInteraction steps may connect: "public", host names, IPs or CIDRs, space separated (loopback, private and link-local only when listed)`)

	// The environment sets values first; flags given on the command line then override them.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		key := "PAYBRIDGE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(key); v != "" {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s=%q: %w", key, v, err)
			}
		}
	})
	if envErr != nil {
		return c, envErr
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	lo, hi, err := parsePortRange(rtpPorts)
	if err != nil {
		return c, fmt.Errorf("--rtp-ports: %w", err)
	}
	c.RTPPortMin, c.RTPPortMax = lo, hi
	return c, c.validate()
}

func parsePortRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not LOW-HIGH", s)
	}
	if lo, err = strconv.Atoi(strings.TrimSpace(a)); err != nil {
		return 0, 0, fmt.Errorf("%q: bad low port", s)
	}
	if hi, err = strconv.Atoi(strings.TrimSpace(b)); err != nil {
		return 0, 0, fmt.Errorf("%q: bad high port", s)
	}
	if lo < 1024 || hi > 65535 || hi-lo < 2 {
		return 0, 0, fmt.Errorf("%q: need 1024 <= LOW < HIGH <= 65535 with room for a pair", s)
	}
	return lo, hi, nil
}

func (c Config) validate() error {
	var errs []error
	for name, addr := range map[string]string{"--sip-addr": c.SIPAddr, "--http-addr": c.HTTPAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", name, addr, err))
		}
	}
	if c.SIPTLSAddr != "" {
		if _, _, err := net.SplitHostPort(c.SIPTLSAddr); err != nil {
			errs = append(errs, fmt.Errorf("--sip-tls-addr %q: %w", c.SIPTLSAddr, err))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	if c.TLSCert == "" && (c.SIPTLSAddr != "" || c.TLSClientCA != "") {
		errs = append(errs, errors.New("--sip-tls-addr and --tls-client-ca need --tls-cert and --tls-key"))
	}
	if (c.HTTPTLSCert == "") != (c.HTTPTLSKey == "") {
		errs = append(errs, errors.New("--http-tls-cert and --http-tls-key go together"))
	}
	if _, err := c.SRTPPolicies(); err != nil {
		errs = append(errs, fmt.Errorf("--srtp: %w", err))
	}
	for name, u := range map[string]string{"--sms-url": c.SMSURL, "--webhook-url": c.WebhookURL} {
		if err := checkOutboundURL(u); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if c.PublicIP != "" && net.ParseIP(c.PublicIP) == nil {
		errs = append(errs, fmt.Errorf("--public-ip %q is not an IP address", c.PublicIP))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data must not be empty"))
	}
	if c.DB != "" && !store.IsPostgresURL(c.DB) {
		errs = append(errs, fmt.Errorf("--db: want a PostgreSQL URL (postgres://user@host:5432/db); the SQLite database is DATA/paybridge.db"))
	}
	if c.NodeID != "" && !validNodeID(c.NodeID) {
		errs = append(errs, fmt.Errorf("--node-id %q: 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", c.NodeID))
	}
	if c.Reconcile < time.Second {
		errs = append(errs, fmt.Errorf("--reconcile-every %v is too short (minimum 1s)", c.Reconcile))
	}
	if c.MediaTimeout < time.Second {
		errs = append(errs, fmt.Errorf("--media-timeout %v is too short (minimum 1s)", c.MediaTimeout))
	}
	if c.RateLimit < 0 {
		errs = append(errs, errors.New("--sip-rate must not be negative"))
	}
	if _, err := c.fixedAdmission(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.maxCalls(); err != nil {
		errs = append(errs, err)
	}
	switch c.Sandbox {
	case "auto", "on", "off":
	default:
		errs = append(errs, fmt.Errorf("--sandbox %q: want auto, on or off", c.Sandbox))
	}
	if _, err := clientip.New(strings.Fields(c.TrustedProxies)); err != nil {
		errs = append(errs, fmt.Errorf("--trusted-proxies: %w", err))
	}
	if _, err := engine.NewDestinations(strings.Fields(c.HTTPAllow)); err != nil {
		errs = append(errs, fmt.Errorf("--http-allow: %w", err))
	}
	switch c.TTS {
	case "library", "process", "off":
	case "http":
		if c.TTSURL == "" {
			errs = append(errs, errors.New("--tts http needs --tts-url"))
		}
	default:
		errs = append(errs, fmt.Errorf("--tts %q: want library, process, http or off", c.TTS))
	}
	if c.TTSURL != "" && c.TTS != "http" {
		errs = append(errs, fmt.Errorf("--tts-url is for --tts http (the engine is %s)", c.TTS))
	}
	if c.TTSHeader != "" && !strings.Contains(c.TTSHeader, ":") {
		errs = append(errs, errors.New(`--tts-header: want "Name: value"`))
	}
	if c.TTSTimeout < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("--tts-timeout %v is too short (minimum 100ms)", c.TTSTimeout))
	}
	if c.TTSCacheMiB < 1 {
		errs = append(errs, errors.New("--tts-cache-mb must be at least 1"))
	}
	if _, err := sandbox.ParsePaymentKeys(c.PaymentKeys); err != nil {
		errs = append(errs, fmt.Errorf("--payment-keys: %w", err))
	}
	errs = append(errs, c.checkMerchant()...)
	if _, err := console.ParseAgentTokens(c.AgentTokens); err != nil {
		errs = append(errs, fmt.Errorf("--agent-tokens: %w", err))
	}
	if hooks, err := gateway.ParseSecrets(c.ProviderHooks); err != nil {
		errs = append(errs, fmt.Errorf("--provider-webhook-secrets: %w", err))
	} else if _, ok := hooks[sandboxHookName]; ok && c.Sandbox != "off" {
		errs = append(errs, fmt.Errorf("--provider-webhook-secrets: %q is the embedded sandbox's (it has a secret of its own)", sandboxHookName))
	}
	return errors.Join(errs...)
}

// checkMerchant checks the --merchant-* flags: the page a customer sees must not fail later.
func (c Config) checkMerchant() []error {
	var errs []error
	m := c.Merchant
	if m.Name == "" {
		m.Name = "paybridge" // the default; only the other flags are checked then
	}
	for _, p := range payment.CheckMerchant(m) {
		errs = append(errs, fmt.Errorf("--merchant-%s: %s", p.Attr, p.Message))
	}
	if m.Logo != "" {
		b, err := os.ReadFile(m.Logo)
		if err == nil {
			_, err = payment.LogoType(b)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--merchant-logo %s: %w", m.Logo, err))
		}
	}
	return errs
}

// SRTPPolicies reads --srtp: one policy for every transport ("required"), or policies by
// transport ("udp=optional tcp=optional tls=required"; a transport not named is optional).
func (c Config) SRTPPolicies() (ivr.SRTPPolicies, error) {
	v := strings.TrimSpace(c.SRTP)
	if !strings.Contains(v, "=") {
		p, err := media.ParseSRTPPolicy(v)
		return ivr.AllSRTP(p), err
	}
	out := ivr.AllSRTP(media.SRTPOptional)
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' }) {
		t, val, _ := strings.Cut(f, "=")
		p, err := media.ParseSRTPPolicy(val)
		if err != nil {
			return out, err
		}
		switch strings.ToLower(t) {
		case "udp":
			out.UDP = p
		case "tcp":
			out.TCP = p
		case "tls":
			out.TLS = p
		default:
			return out, fmt.Errorf("%q: transport %q (want udp, tcp or tls)", f, t)
		}
	}
	return out, nil
}

// checkOutboundURL accepts "" and https URLs, and plain http only on loopback: SMS texts carry
// payment links (bearer secrets), webhooks carry payment results.
func checkOutboundURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	if u.Scheme == "http" {
		ip := net.ParseIP(u.Hostname())
		if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("plain http outside loopback (%s): use https", u.Host)
		}
	}
	return nil
}

// DatabasePath is the SQLite file inside the data directory.
func (c Config) DatabasePath() string { return filepath.Join(c.DataDir, "paybridge.db") }

// SpeechCacheDir is where rendered speech is kept.
func (c Config) SpeechCacheDir() string {
	if c.TTSCache != "" {
		return c.TTSCache
	}
	return filepath.Join(c.DataDir, "tts")
}

// Database is what the store opens: --db, or the SQLite file in the data directory.
func (c Config) Database() string {
	if c.DB != "" {
		return c.DB
	}
	return c.DatabasePath()
}

// Node is this node's id: --node-id, or the host name.
func (c Config) Node() string {
	if c.NodeID != "" {
		return c.NodeID
	}
	h, err := os.Hostname()
	if err != nil || !validNodeID(h) {
		return "paybridge"
	}
	return h
}

// validNodeID: 1-63 of [A-Za-z0-9._-], starting with a letter or digit (a host name fits).
func validNodeID(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case i > 0 && (r == '.' || r == '_' || r == '-'):
		default:
			return false
		}
	}
	return true
}

// RecordingsDir is where masked call recordings go.
func (c Config) RecordingsDir() string { return filepath.Join(c.DataDir, "recordings") }

// EnsureDataDir creates the data directory (0700: it holds the admin token).
func (c Config) EnsureDataDir() error {
	return os.MkdirAll(c.DataDir, 0o700)
}

// fixedAdmission is --admission as ivr.Config.FixedLimit: "fixed" needs a --max-calls number.
func (c Config) fixedAdmission() (bool, error) {
	switch c.Admission {
	case "auto", "":
		return false, nil
	case "fixed":
		if n, err := c.maxCalls(); err != nil || n == 0 {
			return false, fmt.Errorf("--admission fixed: needs --max-calls N (the number of calls to hold to)")
		}
		return true, nil
	}
	return false, fmt.Errorf("--admission %q: want auto or fixed", c.Admission)
}

// maxCalls is --max-calls as ivr.Config.MaxCalls: 0 for "auto".
func (c Config) maxCalls() (int, error) {
	if c.MaxCalls == "auto" || c.MaxCalls == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(c.MaxCalls)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("--max-calls %q: want auto or a number of calls (1 or more)", c.MaxCalls)
	}
	return n, nil
}
