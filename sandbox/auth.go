package sandbox

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"
)

// accessToken is an access token the sandbox issued.
type accessToken struct {
	client  string
	scope   string
	expires time.Time
	uses    int
	maxUses int
}

// handleToken is the OAuth2 client-credentials token endpoint (RFC 6749 §4.4): credentials in
// HTTP Basic or in the form, grant_type=client_credentials.
func (s *Provider) handleToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.TokenRequests++
	s.mu.Unlock()
	oauthErr := func(status int, code, desc string) {
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
	}
	if err := r.ParseForm(); err != nil {
		oauthErr(http.StatusBadRequest, "invalid_request", "unreadable form")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthErr(http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" || secret == "" {
		oauthErr(http.StatusUnauthorized, "invalid_client", "client credentials required")
		return
	}
	if s.cfg.Clients != nil {
		want, known := s.cfg.Clients[id]
		if !known || subtle.ConstantTimeCompare([]byte(want), []byte(secret)) != 1 {
			oauthErr(http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
			return
		}
	}
	s.mu.Lock()
	ttl := s.faults.TokenTTL
	if ttl == 0 {
		ttl = time.Hour
	}
	tok := "sbx_at_" + randomHex(20)
	s.tokens[tok] = &accessToken{client: id, scope: r.PostForm.Get("scope"), expires: s.now().Add(ttl), maxUses: s.faults.TokenMaxUses}
	s.sweepLocked()
	s.mu.Unlock()
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int(ttl / time.Second),
		"scope":        r.PostForm.Get("scope"),
	})
}

// requireToken checks an access token from the token endpoint and counts its use. It writes the
// 401 itself and returns false when the token is missing, unknown, expired or used up.
func (s *Provider) requireToken(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := bearer(r)
	s.mu.Lock()
	t := s.tokens[tok]
	valid := ok && t != nil && s.now().Before(t.expires) && (t.maxUses == 0 || t.uses < t.maxUses)
	if valid {
		t.uses++
	}
	s.mu.Unlock()
	if !valid {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"Message": "invalid or expired access token", "error": "invalid_token"})
		return false
	}
	return true
}

// requireAPIKey checks a Stripe-style secret key (Bearer, or Basic with the key as user name).
func (s *Provider) requireAPIKey(w http.ResponseWriter, r *http.Request) bool {
	key, ok := bearer(r)
	if !ok {
		key, _, ok = r.BasicAuth()
	}
	valid := ok && strings.HasPrefix(key, "sk_")
	if valid && len(s.cfg.APIKeys) > 0 {
		valid = false
		for _, k := range s.cfg.APIKeys {
			if subtle.ConstantTimeCompare([]byte(k), []byte(key)) == 1 {
				valid = true
			}
		}
	}
	if !valid {
		writeJSON(w, http.StatusUnauthorized, stripeError("invalid_request_error", "", "Invalid API Key provided."))
		return false
	}
	return true
}

// requireBasic checks HTTP Basic credentials (generic connector, SMS API).
func (s *Provider) requireBasic(w http.ResponseWriter, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	valid := ok && user != ""
	if valid && s.cfg.Basic != nil {
		want, known := s.cfg.Basic[user]
		valid = known && subtle.ConstantTimeCompare([]byte(want), []byte(pass)) == 1
	}
	if !valid {
		w.Header().Set("WWW-Authenticate", `Basic realm="sandbox"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error_code": "unauthorized", "error_message": "basic credentials required"})
		return false
	}
	return true
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}
