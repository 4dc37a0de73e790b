package gateway

import (
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The payment pages' defences, designed so that nobody can make a valid link unusable for
// its customer:
//
//   - Failures are counted, not requests. A client (its address, or what a trusted proxy says
//     it is) whose lookups of unknown or malformed tokens exceed ClientLimit a minute gets 429
//     for further unknown tokens; a request with a valid token is answered normally whoever
//     made the failures, so customers sharing an address (a proxy, a mobile carrier's NAT)
//     with a token guesser are not refused.
//   - A valid link has its own budgets (ViewLimit page views and SubmitLimit submissions a
//     minute) that only someone holding the token can spend; declines close it after
//     MaxAttempts.
//   - A submission from another site is refused (403): the browser's Sec-Fetch-Site header,
//     or failing that Origin against Host and the public URL, must say the form was posted
//     from its own page (net/http.CrossOriginProtection). Clients that send neither (curl, old
//     browsers) are not browsers a third-party page can drive, and are allowed.

// unknownToken answers a token that names no link: 404, or 429 once this client has failed
// too often this minute.
func (l *Links) unknownToken(w http.ResponseWriter, r *http.Request) {
	if ok, retry := l.badTokens.allow(l.cfg.ClientIP(r)); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())+1))
		l.render(w, http.StatusTooManyRequests, pageLimited)
		return
	}
	l.render(w, http.StatusNotFound, pageInvalid)
}

// newCrossOriginCheck refuses cross-site POSTs. The public URL's origin is trusted as well as
// the request's own Host, for proxies that rewrite Host.
func newCrossOriginCheck(baseURL string, log *slog.Logger) *http.CrossOriginProtection {
	c := http.NewCrossOriginProtection()
	if u, err := url.Parse(baseURL); err == nil && u.Scheme != "" && u.Host != "" {
		if err := c.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil && log != nil {
			log.Warn("payment links: public URL is not a usable origin", "url", baseURL, "error", err)
		}
	}
	return c
}

// clip bounds an untrusted header value for a log line.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
