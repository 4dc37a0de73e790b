package console

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"

	"github.com/paybridge/paybridge/pan"
)

// Per-agent tokens: an agent's desktop may hold a token narrower than the admin's. It reaches
// the Payments API, GET /api/agent/calls, GET /api/whoami and the live feed, and only for the
// calls bridged to that agent (the <Sip agent="…"> of the target that answered): another call
// answers 404, as if it did not exist, and the feed carries only those calls' bridge and
// payment events (agentfeed.go). Everything else (the lists, the console page's other
// sections) needs the admin token and answers 401 to an agent's.

// ParseAgentTokens reads --agent-tokens: "agent=token" pairs separated by spaces or commas.
// Agent ids follow the language's rule for <Sip agent>; tokens the admin token's (MinTokenLen
// or more token characters), each different from the others.
func ParseAgentTokens(s string) (map[string]string, error) {
	out := map[string]string{}
	seen := map[string]bool{}
	for _, pair := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\n' || r == '\t' }) {
		agent, tok, ok := strings.Cut(pair, "=")
		if !ok || agent == "" {
			return nil, fmt.Errorf("agent token %d: write agent=token", len(out)+1)
		}
		if !validAgent(agent) {
			return nil, fmt.Errorf("agent %q: 1–64 letters, digits, '.', '_', '-', '+' or '@'", agent)
		}
		if err := checkToken(tok); err != nil {
			return nil, fmt.Errorf("agent %s: %v", agent, strings.Replace(err.Error(), "admin token", "token", 1))
		}
		if _, dup := out[agent]; dup {
			return nil, fmt.Errorf("agent %s has two tokens", agent)
		}
		if seen[tok] {
			return nil, fmt.Errorf("agent %s: the same token is given to another agent", agent)
		}
		seen[tok] = true
		out[agent] = tok
	}
	return out, nil
}

func validAgent(a string) bool {
	if len(a) == 0 || len(a) > 64 {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-+@", c) >= 0) {
			return false
		}
	}
	return true
}

type agentKey struct{}

// agentOf is the agent a request was authenticated as ("" = the admin).
func agentOf(r *http.Request) string {
	a, _ := r.Context().Value(agentKey{}).(string)
	return a
}

// agentAuth lets the admin token through, and an agent's token for the calls bridged to that
// agent ({id} of the path; GET /api/agent/calls filters). The lockout is the admin auth's.
func (s *Server) agentAuth(h http.HandlerFunc) http.Handler {
	admin := s.auth(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		agent := s.agentFor(requestToken(r))
		if agent == "" {
			admin.ServeHTTP(w, r)
			return
		}
		if id := r.PathValue("id"); id != "" {
			bridgedTo, ok := "", false
			if s.cfg.Agents != nil {
				bridgedTo, ok = s.cfg.Agents.Bridged()[id]
			}
			if !ok || bridgedTo != agent {
				s.log.Warn("console: an agent asked for a call not bridged to them", "agent", agent, "path", pan.Redact(r.URL.Path))
				writeError(w, http.StatusNotFound, "no such call bridged to you")
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), agentKey{}, agent)))
	})
}

// agentFor is the agent whose token tok is, or "". Every agent's token is compared (in
// constant time), so the time taken does not tell which one matched.
func (s *Server) agentFor(tok string) string {
	agent := ""
	if tok == "" {
		return ""
	}
	for a, want := range s.agentTokens {
		if tokenMatch(want, tok) {
			agent = a
		}
	}
	return agent
}

// agentTokenHashes hashes the configured tokens once.
func agentTokenHashes(tokens map[string]string) map[string][]byte {
	out := make(map[string][]byte, len(tokens))
	for a, t := range tokens {
		h := sha256.Sum256([]byte(t))
		out[a] = h[:]
	}
	return out
}

// whoami tells the console page what its token is: the admin, or which agent (the page then
// shows the agent desk only; the server enforces the scope whatever the page shows).
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	if a := agentOf(r); a != "" {
		writeJSON(w, http.StatusOK, map[string]string{"role": "agent", "agent": a})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"role": "admin"})
}
