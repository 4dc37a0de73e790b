package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/internal/tlsconf"
)

// Encryption on every wire (issue 12): SIP over TLS with its own certificate, HTTPS for the
// console, API, feed and payment pages with theirs, both reloaded on SIGHUP; SRTP policies by
// transport (--srtp) and by plan (<CallPlan srtp>). Without HTTPS serve says at start what
// is plaintext, and a real SMS provider is never sent a payment link that is not https.

// sipTLSAddr is where SIP over TLS listens: --sip-tls-addr, or the --sip-addr host on port
// 5061 when only a certificate is given; "" without a certificate.
func (c Config) sipTLSAddr() string {
	switch {
	case c.TLSCert == "":
		return ""
	case c.SIPTLSAddr != "":
		return c.SIPTLSAddr
	}
	host, _, err := net.SplitHostPort(c.SIPAddr)
	if err != nil {
		host = "0.0.0.0"
	}
	return net.JoinHostPort(host, "5061")
}

// loadCertificates reads the SIP and HTTP certificates given on the command line.
func (a *App) loadCertificates() error {
	var err error
	if a.cfg.TLSCert != "" {
		if a.sipTLS, err = tlsconf.NewServer(tlsconf.Files{Cert: a.cfg.TLSCert, Key: a.cfg.TLSKey, ClientCA: a.cfg.TLSClientCA}); err != nil {
			return fmt.Errorf("--tls-cert: %w", err)
		}
	}
	if a.cfg.HTTPTLSCert != "" {
		if a.httpTLS, err = tlsconf.NewServer(tlsconf.Files{Cert: a.cfg.HTTPTLSCert, Key: a.cfg.HTTPTLSKey}); err != nil {
			return fmt.Errorf("--http-tls-cert: %w", err)
		}
	}
	return nil
}

// ReloadCertificates reads the SIP and HTTP certificates again (SIGHUP): new handshakes get
// the new ones, calls and connections up keep theirs. A certificate that cannot be read keeps
// the previous one; the error says which and why.
func (a *App) ReloadCertificates() error {
	var errs []error
	for _, s := range []struct {
		name string
		srv  *tlsconf.Server
	}{{"SIP", a.sipTLS}, {"HTTPS", a.httpTLS}} {
		if s.srv == nil {
			continue
		}
		if err := s.srv.Reload(); err != nil {
			errs = append(errs, fmt.Errorf("%s certificate kept, reload failed: %w", s.name, err))
			continue
		}
		a.log.Info("certificate reloaded", "listener", s.name, "certificate", s.srv.Describe())
	}
	return errors.Join(errs...)
}

// httpsOn reports whether the HTTP listener serves HTTPS.
func (a *App) httpsOn() bool { return a.httpTLS != nil }

// errPlainLink: a payment link that is not https is not texted through a real SMS provider.
var errPlainLink = errors.New("payment links are not texted through an SMS provider over plain http: serve HTTPS (--http-tls-cert) or set --public-url to an https address")

// plainLinkRefuser stands in for a real SMS provider when the links would be plain http.
type plainLinkRefuser struct{}

func (plainLinkRefuser) SendSMS(context.Context, *gateway.SMS) (string, error) {
	return "", errPlainLink
}

// hstsMaxAge is the Strict-Transport-Security lifetime (a year, as browsers' preload lists
// ask).
const hstsMaxAge = 365 * 24 * time.Hour

// secureHeaders is the HTTPS listener's handler wrapper: Strict-Transport-Security on every
// answer, and every cookie Secure (paybridge sets none today; the rule holds for any later).
func secureHeaders(next http.Handler) http.Handler {
	hsts := fmt.Sprintf("max-age=%d; includeSubDomains", int(hstsMaxAge.Seconds()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", hsts)
		next.ServeHTTP(&secureCookieWriter{ResponseWriter: w}, r)
	})
}

// secureCookieWriter marks every Set-Cookie Secure before the header is written.
type secureCookieWriter struct {
	http.ResponseWriter
	done bool
}

func (w *secureCookieWriter) fix() {
	if w.done {
		return
	}
	w.done = true
	cs := w.Header().Values("Set-Cookie")
	for i, c := range cs {
		if !strings.Contains(strings.ToLower(c), "; secure") {
			cs[i] = c + "; Secure"
		}
	}
}

func (w *secureCookieWriter) WriteHeader(code int) { w.fix(); w.ResponseWriter.WriteHeader(code) }

func (w *secureCookieWriter) Write(b []byte) (int, error) { w.fix(); return w.ResponseWriter.Write(b) }

// Unwrap lets http.ResponseController reach the connection (the WebSocket feed hijacks it).
func (w *secureCookieWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the connection over (the WebSocket feed's upgrade asserts http.Hijacker).
func (w *secureCookieWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("app: the response writer cannot be hijacked")
	}
	return h.Hijack()
}

// Flush passes flushes through (the live feed's fallback streams).
func (w *secureCookieWriter) Flush() {
	w.fix()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// plaintextWarnings are what serve says at start about what is not encrypted.
func (a *App) plaintextWarnings() []string {
	var out []string
	if !a.httpsOn() {
		w := "the console, API, live feed and payment pages are served over plain HTTP (--http-tls-cert/--http-tls-key serve HTTPS)"
		if !strings.HasPrefix(a.publicURL(), "https://") {
			w += "; payment links are http:// links"
		}
		out = append(out, w)
	}
	if a.cfg.SMSURL != "" && !strings.HasPrefix(a.publicURL(), "https://") {
		out = append(out, "payment links will not be texted through --sms-url: their base URL is not https")
	}
	if a.sipTLS == nil {
		out = append(out, "SIP has no TLS listener (--tls-cert/--tls-key): signalling, DTMF INFO bodies and SRTP keys cross the network in the clear")
	}
	for _, s := range []struct {
		name string
		srv  *tlsconf.Server
	}{{"SIP", a.sipTLS}, {"HTTPS", a.httpTLS}} {
		if s.srv != nil && s.srv.ExpiresIn() < 14*24*time.Hour {
			out = append(out, fmt.Sprintf("the %s certificate expires in %s: %s", s.name, s.srv.ExpiresIn().Round(time.Hour), s.srv.Describe()))
		}
	}
	return out
}
