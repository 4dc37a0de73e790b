package payment

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/paybridge/paybridge/internal/suggest"
)

// The one rule set for connectors. CheckConnector decides whether a <Connector> can be opened,
// and fills in the sandbox defaults; `paybridge validate` (through Parse) and the gateway's
// Connectors.Open both call it, so that a plan that validates opens, and one that would not
// open does not validate.
//
// Sandbox defaults: the embedded sandbox accepts any credentials, so a connector on
// baseUrl="sandbox" needs none. A new user's first plan is
//
//	<Connector name="provider" baseUrl="sandbox"/>
//
// and it pays. Off the sandbox every credential is required.
const (
	sandboxAccount       = "sandbox"            // account of a session connector on the sandbox
	sandboxClientID      = "paybridge-sandbox"  // client credentials of a session connector on the sandbox
	sandboxClientSecret  = "sandbox-not-secret" // (the sandbox accepts any pair)
	sandboxAPIKey        = "sk_test_sandbox"    // bearer key of a stripe connector on the sandbox
	sandboxUsername      = "paybridge-sandbox"  // Basic credentials of a generic connector on the sandbox
	sandboxPassword      = "sandbox-not-secret" //
	sandboxBaseURL       = "sandbox"            // the baseUrl that means the embedded sandbox
	DefaultConnectorType = "session"            // a <Connector> without type
	connectorTypeList    = "session, generic or stripe"
)

// connectorTypes are the connector types there are.
var connectorTypes = []string{"session", "generic", "stripe"}

// ConnectorProblem is one reason a connector cannot be opened. Attr names what it is about:
// an attribute of <Connector> ("name", "type", "baseUrl", "account", "apiKey"), a child
// ("ClientCredentials", "BasicAuth") or a child's attribute ("ClientCredentials.tokenUrl").
type ConnectorProblem struct {
	Attr    string
	Kind    ProblemKind
	Message string
}

// ProblemKind is what is wrong: something is missing, two things conflict, or a value is bad.
type ProblemKind int

const (
	ProblemMissing ProblemKind = iota
	ProblemConflict
	ProblemInvalid
)

func (p ConnectorProblem) Error() string { return p.Message }

// IsSandbox reports whether the connector is the embedded sandbox provider.
func (s *ConnectorSpec) IsSandbox() bool { return s.BaseURL == sandboxBaseURL }

// CheckConnector returns spec as it will be opened — the default type, and on the sandbox the
// default account and credentials — and every problem that stops it from opening (none when
// it can be opened).
func CheckConnector(spec ConnectorSpec) (ConnectorSpec, []ConnectorProblem) {
	var probs []ConnectorProblem
	add := func(kind ProblemKind, attr, format string, args ...any) {
		probs = append(probs, ConnectorProblem{Attr: attr, Kind: kind, Message: fmt.Sprintf(format, args...)})
	}
	name := spec.Name
	if name == "" {
		add(ProblemMissing, "name", "a connector needs a name")
	}
	if spec.Type == "" {
		spec.Type = DefaultConnectorType
	}
	if !slices.Contains(connectorTypes, spec.Type) {
		add(ProblemInvalid, "type", "connector type %q: use %s%s", spec.Type, connectorTypeList, suggest.DidYouMean(spec.Type, connectorTypes))
	}
	switch {
	case spec.BaseURL == "":
		add(ProblemMissing, "baseUrl", "connector %q needs a baseUrl (a provider's https URL, or \"sandbox\")", name)
	default:
		if err := checkConnectorURL(spec.BaseURL); err != nil {
			add(ProblemInvalid, "baseUrl", "baseUrl: %v", err)
		}
	}
	if cc := spec.ClientCredentials; cc != nil {
		if cc.TokenURL != "" {
			if err := checkConnectorURL(cc.TokenURL); err != nil || cc.TokenURL == sandboxBaseURL {
				if err == nil {
					err = fmt.Errorf("\"sandbox\" is a baseUrl, not a token URL")
				}
				add(ProblemInvalid, "ClientCredentials.tokenUrl", "tokenUrl: %v", err)
			}
		}
		if cc.ClientID == "" {
			add(ProblemMissing, "ClientCredentials.clientId", "connector %q: <ClientCredentials> needs a clientId", name)
		}
		if cc.ClientSecret == "" {
			add(ProblemMissing, "ClientCredentials.clientSecret", "connector %q: <ClientCredentials> needs a clientSecret", name)
		}
	}
	if spec.ClientCredentials != nil && spec.BasicAuth != nil {
		add(ProblemConflict, "BasicAuth", "connector %q has both <ClientCredentials> and <BasicAuth>: choose one", name)
	}
	if b := spec.BasicAuth; b != nil && b.Username == "" {
		add(ProblemMissing, "BasicAuth.username", "connector %q: <BasicAuth> needs a username", name)
	}
	if b := spec.BasicAuth; b != nil && b.Password == "" {
		add(ProblemMissing, "BasicAuth.password", "connector %q: <BasicAuth> needs a password", name)
	}
	switch spec.Capture {
	case "", CapturePaybridge:
	case CaptureProvider:
		if spec.Type != "session" {
			add(ProblemConflict, "capture", "connector %q: capture=\"provider\" needs a session connector (its sessions have a capture line); a %s connector has none", name, spec.Type)
		}
	default:
		add(ProblemInvalid, "capture", "connector %q: capture %q: use paybridge (the default) or provider%s", name, spec.Capture, suggest.DidYouMean(spec.Capture, []string{CapturePaybridge, CaptureProvider}))
	}
	sandbox := spec.IsSandbox()
	switch spec.Type {
	case "session":
		if spec.BasicAuth != nil {
			add(ProblemConflict, "BasicAuth", "session connector %q authenticates with <ClientCredentials>, not <BasicAuth>", name)
		}
		if spec.APIKey != "" {
			add(ProblemConflict, "apiKey", "session connector %q authenticates with <ClientCredentials>, not an apiKey", name)
		}
		switch {
		case spec.Account == "" && sandbox:
			spec.Account = sandboxAccount
		case spec.Account == "":
			add(ProblemMissing, "account", "session connector %q needs account=\"…\" (its AccountConfigurationId) off the sandbox", name)
		}
		switch {
		case spec.ClientCredentials == nil && sandbox:
			spec.ClientCredentials = &ClientCredentials{ClientID: sandboxClientID, ClientSecret: sandboxClientSecret}
		case spec.ClientCredentials == nil:
			add(ProblemMissing, "ClientCredentials", "session connector %q needs <ClientCredentials clientId=… clientSecret=\"#(env:NAME)\"/> off the sandbox", name)
		}
	case "generic":
		if spec.APIKey != "" {
			add(ProblemConflict, "apiKey", "generic connector %q authenticates with <BasicAuth> or <ClientCredentials>, not an apiKey", name)
		}
		switch {
		case spec.BasicAuth == nil && spec.ClientCredentials == nil && sandbox:
			spec.BasicAuth = &BasicAuth{Username: sandboxUsername, Password: sandboxPassword}
		case spec.BasicAuth == nil && spec.ClientCredentials == nil:
			add(ProblemMissing, "BasicAuth", "generic connector %q needs <BasicAuth> or <ClientCredentials> off the sandbox", name)
		}
	case "stripe":
		if spec.BasicAuth != nil {
			add(ProblemConflict, "BasicAuth", "stripe connector %q authenticates with apiKey or <ClientCredentials>, not <BasicAuth>", name)
		}
		switch {
		case spec.APIKey == "" && spec.ClientCredentials == nil && sandbox:
			spec.APIKey = sandboxAPIKey
		case spec.APIKey == "" && spec.ClientCredentials == nil:
			add(ProblemMissing, "apiKey", "stripe connector %q needs apiKey=\"#(env:NAME)\" off the sandbox", name)
		}
	}
	return spec, probs
}

// checkConnectorURL accepts "sandbox", https URLs, and http URLs on loopback only.
func checkConnectorURL(s string) error {
	if s == "sandbox" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q is not an absolute http(s) URL (or \"sandbox\")", redactedURL(s))
	}
	if u.User != nil {
		return fmt.Errorf("credentials in a connector URL are not allowed: use <ClientCredentials> or <BasicAuth> with #(env:…)")
	}
	if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		return fmt.Errorf("connector URL %q uses plain http outside loopback: card data and tokens need https", redactedURL(s))
	}
	return nil
}

// redactedURL drops user info and query from a URL for messages.
func redactedURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "…"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}

// loopbackHost: localhost, *.localhost or a loopback IP.
func loopbackHost(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
