package app

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/sandbox"
)

// What serve exposes on its one public HTTP listener besides the console, and what a plan's
// HTTP steps may reach from it:
//
//   - the sandbox provider, mounted on /sandbox/ only when --sandbox on, or (auto, the
//     default) while a loaded plan uses it (callplan.Plan.UsesSandbox), reloads included. Its
//     inspection routes (ledger, billing, SMS list) and fault injection need the admin token;
//     plans read them through their HTTP client, which adds the sandbox's inspection key to
//     requests for $(Sandbox.Url) (never to redirects, never elsewhere);
//   - plan HTTP steps connect only where --http-allow says (engine.Destinations), plus the
//     node's own listener, so the sandbox on loopback keeps working.

// sandboxState answers "is the sandbox mounted?" for the current plan set.
type sandboxState struct {
	mode string // auto | on | off
	mu   sync.Mutex
	set  *callplan.PlanSet // the set users was computed for
	used []string          // names of the plans of set that use the sandbox
}

// users returns the loaded plans that use the sandbox.
func (s *sandboxState) users(set *callplan.PlanSet) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if set != s.set {
		s.set, s.used = set, nil
		for _, p := range set.Plans() {
			if p.UsesSandbox() {
				s.used = append(s.used, p.Name)
			}
		}
	}
	return s.used
}

// on reports whether the sandbox is mounted now.
func (a *App) sandboxOn() bool {
	switch a.sandboxMode.mode {
	case "on":
		return true
	case "off":
		return false
	}
	return len(a.sandboxMode.users(a.plans.Set())) > 0
}

// sandboxHandler serves /sandbox/ while the sandbox is on, 404 otherwise.
func (a *App) sandboxHandler() http.Handler {
	h := http.StripPrefix("/sandbox", a.sandbox)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.sandboxOn() {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// sandboxNote is the banner's word on the sandbox.
func (a *App) sandboxNote() string {
	const guarded = "; ledger, billing and admin routes need the admin token"
	switch a.sandboxMode.mode {
	case "on":
		return a.sandboxURL + "/ (on: --sandbox on" + guarded + ")"
	case "off":
		return "off (--sandbox off)"
	}
	if users := a.sandboxMode.users(a.plans.Set()); len(users) > 0 {
		return a.sandboxURL + "/ (on: used by " + strings.Join(users, ", ") + guarded + ")"
	}
	return "off (no loaded plan uses it; --sandbox on mounts it)"
}

// newPlanHTTPClient is the client of every plan's ApiInteraction steps.
func (a *App) newPlanHTTPClient() (*http.Client, error) {
	var always []netip.AddrPort
	if ap, err := netip.ParseAddrPort(loopbackFor(a.httpLn.Addr().String())); err == nil {
		always = append(always, ap)
	}
	dest, err := engine.NewDestinations(strings.Fields(a.cfg.HTTPAllow), always...)
	if err != nil {
		return nil, err
	}
	hc := dest.HTTPClient()
	u, err := url.Parse(a.sandboxURL)
	if err != nil {
		return nil, err
	}
	hc.Transport = &sandboxKeyTransport{next: hc.Transport, scheme: u.Scheme, host: u.Host, path: u.Path + "/", key: a.sandboxKey}
	return hc, nil
}

// sandboxKeyTransport adds the sandbox's inspection key to a plan's own requests for the
// sandbox: not to redirects (a response chose those), not to any other address.
type sandboxKeyTransport struct {
	next               http.RoundTripper
	scheme, host, path string
	key                string
}

func (t *sandboxKeyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Response == nil && r.URL.Scheme == t.scheme && r.URL.Host == t.host && strings.HasPrefix(r.URL.Path, t.path) {
		r = r.Clone(r.Context())
		r.Header.Set(sandbox.InspectKeyHeader, t.key)
	}
	return t.next.RoundTrip(r)
}

func randomKey() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
