package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/paybridge/paybridge/pan"
)

// The admin API accepts the token in three ways, all compared in constant time:
//
//   - Authorization: Bearer <token> — every client that can set headers (curl, Prometheus,
//     the console page's fetch calls).
//   - WebSocket subprotocol "bearer.<token>" beside "paybridge.v1" — how the console page
//     authenticates its live feed, since browsers cannot set headers on a WebSocket. The
//     server answers with "paybridge.v1"; the token never appears in a URL or a log.
//   - ?token=<token> on /api/events only — for tools that can neither set headers nor
//     subprotocols. It may end up in proxy logs: prefer the other two.
//
// The console page keeps the token in sessionStorage (per tab, gone when the tab closes).

// Subprotocol is the WebSocket subprotocol of the live feed.
const Subprotocol = "paybridge.v1"

const bearerProtocolPrefix = "bearer."

// auth wraps h with the admin token check. The valid token is always let through, even from
// an address that is locked out: otherwise anyone sharing the admin's address (behind the
// same proxy or NAT) could lock the admin out with a few bad tokens. A locked-out address
// gets 429 for every other request, unlogged; the token's length (MinTokenLen, 256 bits when
// generated) is what makes guessing hopeless.
func (s *Server) auth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.tokenHash != nil && tokenMatch(s.tokenHash, requestToken(r)) {
			h(w, r)
			return
		}
		if agent := s.agentFor(requestToken(r)); agent != "" {
			// A valid agent's token on an admin endpoint: refused, but it is no guess — not
			// counted by the lockout, and answered even from a locked-out address.
			s.log.Warn("console: an agent's token on an admin endpoint", "agent", agent, "method", r.Method, "path", pan.Redact(r.URL.Path))
			w.Header().Set("WWW-Authenticate", `Bearer realm="paybridge"`)
			writeError(w, http.StatusUnauthorized, "this needs the admin token; an agent's token reaches the agent desk only")
			return
		}
		ip := s.cfg.ClientIP(r)
		if blocked, left := s.limiter.blocked(ip); blocked {
			w.Header().Set("Retry-After", strconv.Itoa(int(left.Seconds())+1))
			writeError(w, http.StatusTooManyRequests, "too many failed sign-ins from this address; try again later")
			return
		}
		s.limiter.fail(ip)
		s.log.Warn("console: unauthorized request", "method", r.Method, "path", pan.Redact(r.URL.Path), "remote", ip)
		w.Header().Set("WWW-Authenticate", `Bearer realm="paybridge"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong admin token (Authorization: Bearer <token>)")
	})
}

// requestToken extracts the token a request presents, or "".
func requestToken(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, tok, ok := strings.Cut(a, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	if r.URL.Path != "/api/events" {
		return ""
	}
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			p = strings.TrimSpace(p)
			if strings.HasPrefix(p, bearerProtocolPrefix) {
				return p[len(bearerProtocolPrefix):]
			}
		}
	}
	return r.URL.Query().Get("token")
}
