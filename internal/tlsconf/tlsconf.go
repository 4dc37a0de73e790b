// Package tlsconf is paybridge's one TLS policy: the server side of SIP over TLS and HTTPS —
// TLS 1.2 at least, modern cipher suites only, a certificate (with its chain) read from PEM
// files and reloaded on demand (SIGHUP) without dropping a connection, optional verification
// of client certificates (mutual TLS) — and the client side the test caller dials with.
//
// A reload reads the files again and swaps the configuration that new handshakes get;
// connections already up keep theirs. A reload that fails (a missing file, a key that does
// not match, an expired certificate) keeps the previous certificate and says why.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// MinVersion is the oldest TLS version paybridge speaks (PCI DSS: no SSL, no TLS 1.0/1.1).
const MinVersion = tls.VersionTLS12

// CipherSuites are the TLS 1.2 suites paybridge accepts: ECDHE key exchange (forward secrecy)
// with an AEAD cipher. TLS 1.3's suites are all of that kind and are not configurable in Go.
var CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// Errors of loading a certificate.
var (
	ErrNoCertificate = errors.New("tlsconf: no certificate and key given")
	ErrExpired       = errors.New("tlsconf: certificate expired")
	ErrNotYetValid   = errors.New("tlsconf: certificate not yet valid")
)

// Files names what a server reads: the certificate (PEM; the server's certificate first, then
// its chain), its private key (PEM), and — for mutual TLS — the CA certificates that sign the
// clients it accepts ("" = clients are not asked for a certificate).
type Files struct {
	Cert, Key string
	ClientCA  string
}

// Server is a TLS server configuration that can be reloaded. Config is what a listener takes.
type Server struct {
	files Files
	cur   atomic.Pointer[tls.Config]
	leaf  atomic.Pointer[x509.Certificate]
	now   func() time.Time
}

// NewServer reads the files; an error says which file and what is wrong.
func NewServer(f Files) (*Server, error) {
	if f.Cert == "" || f.Key == "" {
		return nil, ErrNoCertificate
	}
	s := &Server{files: f, now: time.Now}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads the files again; new handshakes get the new certificate (and client CAs),
// connections up keep theirs. On error the previous configuration stays.
func (s *Server) Reload() error {
	cert, err := tls.LoadX509KeyPair(s.files.Cert, s.files.Key)
	if err != nil {
		return fmt.Errorf("tlsconf: %s / %s: %w", s.files.Cert, s.files.Key, err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return fmt.Errorf("tlsconf: %s: %w", s.files.Cert, err)
	}
	now := s.now()
	if now.After(leaf.NotAfter) {
		return fmt.Errorf("%w: %s expired on %s", ErrExpired, s.files.Cert, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return fmt.Errorf("%w: %s is valid from %s", ErrNotYetValid, s.files.Cert, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	cert.Leaf = leaf
	cfg := &tls.Config{
		MinVersion:   MinVersion,
		CipherSuites: CipherSuites,
		Certificates: []tls.Certificate{cert},
	}
	if s.files.ClientCA != "" {
		pool, err := ReadCertPool(s.files.ClientCA)
		if err != nil {
			return err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	s.cur.Store(cfg)
	s.leaf.Store(leaf)
	return nil
}

// Config is the configuration a listener is made with: each handshake takes the current one.
func (s *Server) Config() *tls.Config {
	return &tls.Config{
		MinVersion:   MinVersion,
		CipherSuites: CipherSuites,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return s.cur.Load(), nil
		},
	}
}

// MutualTLS reports whether clients must present a certificate signed by Files.ClientCA.
func (s *Server) MutualTLS() bool { return s.files.ClientCA != "" }

// Describe says in one line what the current certificate is: its subject, names and expiry.
func (s *Server) Describe() string {
	l := s.leaf.Load()
	names := strings.Join(l.DNSNames, ", ")
	for _, ip := range l.IPAddresses {
		if names != "" {
			names += ", "
		}
		names += ip.String()
	}
	return fmt.Sprintf("%s (for %s; expires %s)", l.Subject.CommonName, names, l.NotAfter.UTC().Format("2006-01-02"))
}

// ExpiresIn is how long the current certificate stays valid.
func (s *Server) ExpiresIn() time.Duration { return s.leaf.Load().NotAfter.Sub(s.now()) }

// ReadCertPool reads PEM CA certificates.
func ReadCertPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tlsconf: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("tlsconf: %s holds no PEM certificate", path)
	}
	return pool, nil
}

// ClientOptions is how a client (the test caller) checks the server it dials.
type ClientOptions struct {
	// CAFile holds the CA certificates to trust (PEM); "" = the system's.
	CAFile string
	// InsecureSkipVerify accepts any certificate (for tests against a throwaway one).
	InsecureSkipVerify bool
	// ServerName is the name the certificate must carry (default: the host dialled).
	ServerName string
	// Cert and Key are the client's own certificate for mutual TLS ("" = none).
	Cert, Key string
}

// Client makes a client configuration with paybridge's policy.
func Client(o ClientOptions) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: MinVersion, CipherSuites: CipherSuites, ServerName: o.ServerName,
		InsecureSkipVerify: o.InsecureSkipVerify}
	if o.CAFile != "" {
		pool, err := ReadCertPool(o.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if o.Cert != "" || o.Key != "" {
		cert, err := tls.LoadX509KeyPair(o.Cert, o.Key)
		if err != nil {
			return nil, fmt.Errorf("tlsconf: client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Explain turns a handshake error into a sentence a person can act on: an expired
// certificate, one for another host, one signed by an unknown authority, a refused client
// certificate. Other errors come back as they are.
func Explain(err error) error {
	if err == nil {
		return nil
	}
	var inv x509.CertificateInvalidError
	var host x509.HostnameError
	var unknown x509.UnknownAuthorityError
	var verr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		return fmt.Errorf("the server's TLS certificate is expired or not yet valid (%s): %w", inv.Detail, err)
	case errors.As(err, &host):
		return fmt.Errorf("the server's TLS certificate is not for %q (it names %s): %w", host.Host, certNames(host.Certificate), err)
	case errors.As(err, &unknown):
		return fmt.Errorf("the server's TLS certificate is signed by an authority this caller does not trust (give its CA with --ca, or --insecure-skip-verify for a test): %w", err)
	case errors.As(err, &verr):
		return fmt.Errorf("the server's TLS certificate was refused: %w", err)
	case strings.Contains(err.Error(), "certificate required") || strings.Contains(err.Error(), "bad certificate"):
		return fmt.Errorf("the server refused this caller's TLS client certificate (mutual TLS): %w", err)
	}
	return err
}

func certNames(c *x509.Certificate) string {
	if c == nil {
		return "nothing"
	}
	var n []string
	n = append(n, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		n = append(n, ip.String())
	}
	if len(n) == 0 {
		return "CN=" + c.Subject.CommonName
	}
	return strings.Join(n, ", ")
}
