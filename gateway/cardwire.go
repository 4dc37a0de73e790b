package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paybridge/paybridge/internal/cardsafe"
)

// cardWire sends the provider requests that carry card data (apiRequest.card). net/http would
// copy such a body into memory paybridge cannot zero — the persistent connection's
// bufio.Writer, io.Copy buffers, HTTP/2 frame buffers from a pool — and those copies outlive
// the request in the process's memory (a core image taken minutes later still held the whole
// capture body). cardWire owns every byte instead:
//
//   - Each card request gets a connection of its own (no keep-alive, no HTTP/2: ALPN offers
//     http/1.1 only), dialled with the HTTP client's dialer, TLS settings and proxy.
//   - The request line, headers and body are written from one buffer allocated at its exact
//     size and zeroed as soon as the write returns.
//   - TLS is 1.2 with AEAD cipher suites, whose record layer seals the plaintext straight from
//     that buffer into the record: crypto/tls keeps no plaintext copy. (Its TLS 1.3 record
//     layer first copies the plaintext into a pooled record buffer and, when that buffer is too
//     small for the tag, seals into a new one and abandons the copy. A provider that accepts
//     TLS 1.3 only is still reached — see tls13BodyChunk.)
//   - The answer is read through a bufio.Reader over a cardsafe.ReadRecorder, and every buffer a read
//     filled is zeroed when the connection is closed. Answers carry no card digits (the
//     sandbox's and the providers' published APIs return the mask at most); this is defence in depth.
type cardWire struct {
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)
	tls   *tls.Config                           // nil: crypto/tls defaults (system roots)
	proxy func(*http.Request) (*url.URL, error) // nil: no proxy
	log   *slog.Logger
	warn  sync.Map // host → struct{}: TLS 1.3-only providers already warned about
}

// tls13BodyChunk is the most of a card request's body handed to crypto/tls in one Write when
// the provider accepts TLS 1.3 only. A record buffer that TLS 1.3 abandons then holds at most
// this many bytes of the body: never a whole card number, an 8-digit run of one, or an expiry
// next to a security code. The request line and headers (no card data) go in one Write.
const tls13BodyChunk = 7

// tls12AEAD are the TLS 1.2 cipher suites of card connections: ECDHE key exchange, AEAD
// ciphers (crypto/tls's CBC suites copy the plaintext and feed it through an HMAC).
var tls12AEAD = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// newCardWire takes the dialer, TLS settings and proxy of hc's transport when it is an
// *http.Transport (through any RedactingTransport); any other RoundTripper is not used for card
// requests, which then dial directly with system TLS roots and the environment's proxy.
func newCardWire(hc *http.Client, log *slog.Logger) *cardWire {
	rt := hc.Transport
	for {
		r, ok := rt.(*RedactingTransport)
		if !ok {
			break
		}
		rt = r.Base
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	w := &cardWire{proxy: http.ProxyFromEnvironment, log: log}
	if t, ok := rt.(*http.Transport); ok {
		w.dial, w.tls, w.proxy = t.DialContext, t.TLSClientConfig, t.Proxy
	}
	if w.dial == nil {
		d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		w.dial = d.DialContext
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	return w
}

// wireAnswer is a provider's answer as cardWire read it.
type wireAnswer struct {
	status int
	header http.Header
	body   []byte
}

// send writes one request with header h and body (which the caller owns and zeroes) and reads
// the answer. ctx bounds the whole exchange.
func (w *cardWire) send(ctx context.Context, method, rawURL string, h http.Header, body []byte) (*wireAnswer, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: bad provider URL", ErrConnectorConfig)
	}
	var proxy *url.URL
	if w.proxy != nil {
		if proxy, err = w.proxy(&http.Request{Method: method, URL: u, Header: http.Header{}}); err != nil {
			return nil, fmt.Errorf("%w: proxy: %v", ErrConnectorConfig, err)
		}
		if proxy != nil && proxy.Scheme != "http" {
			return nil, fmt.Errorf("%w: card requests go through http:// proxies only, not %s://", ErrConnectorConfig, proxy.Scheme)
		}
	}
	// TLS 1.3 only when the HTTP client's settings demand it or the provider refuses 1.2.
	tls13 := u.Scheme == "https" && w.tls != nil && w.tls.MinVersion > tls.VersionTLS12
	c, err := w.connect(ctx, u, proxy, tls13)
	if err != nil && !tls13 && u.Scheme == "https" && versionRefused(err) {
		tls13 = true
		c, err = w.connect(ctx, u, proxy, true)
	}
	if tls13 && err == nil {
		if _, warned := w.warn.LoadOrStore(u.Host, struct{}{}); !warned {
			w.log.Warn("card requests to this provider use TLS 1.3: they are written in small pieces, "+
				"and crypto/tls may leave pieces of them in its record buffers (docs/gateway.md)", "host", u.Host)
		}
	}
	if err != nil {
		if !errors.Is(err, ErrConnectorConfig) {
			err = &notSentError{err} // nothing of the request was written
		}
		return nil, err
	}
	defer c.close()

	target := u.RequestURI()
	extra := http.Header{}
	if proxy != nil && u.Scheme == "http" {
		target = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}).String()
		if pa := proxyAuth(proxy); pa != "" {
			extra.Set("Proxy-Authorization", pa)
		}
	}
	head, err := requestHead(method, target, u.Host, len(body), h, extra)
	if err != nil {
		return nil, err
	}
	msg := make([]byte, 0, len(head)+len(body))
	msg = append(append(msg, head...), body...)
	if c.tls13 {
		if err = writeChunked(c, msg[:len(head)], 0); err == nil {
			err = writeChunked(c, msg[len(head):], tls13BodyChunk)
		}
	} else {
		err = writeChunked(c, msg, 0)
	}
	cardsafe.Wipe(msg)
	if err != nil {
		return nil, err
	}

	rec := &cardsafe.ReadRecorder{Conn: c}
	defer rec.Wipe()
	br := bufio.NewReaderSize(rec, 4096)
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 {
		resp, err = http.ReadResponse(br, &http.Request{Method: method}) // 100 Continue, 103 Early Hints
	}
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, err
	}
	// A large body may have been read straight into b, which rec.Wipe zeroes on return.
	return &wireAnswer{status: resp.StatusCode, header: resp.Header, body: slices.Clone(b)}, nil
}

// cardConn is the connection of one card request.
type cardConn struct {
	net.Conn          // what the request is written to: raw, or TLS over raw
	raw      net.Conn // the TCP connection
	tls13    bool     // TLS 1.3 (the provider refused 1.2)
	stop     func() bool
}

func (c *cardConn) close() {
	c.stop()
	_ = c.Conn.Close()
	_ = c.raw.Close()
}

// connect dials u (through proxy when set) and, for https, shakes hands: TLS 1.2 with AEAD
// suites, or TLS 1.3 when tls13 is set.
func (w *cardWire) connect(ctx context.Context, u, proxy *url.URL, tls13 bool) (*cardConn, error) {
	dialAddr := hostPort(u)
	if proxy != nil {
		dialAddr = hostPort(proxy)
	}
	raw, err := w.dial(ctx, "tcp", dialAddr)
	if err != nil {
		return nil, err
	}
	c := &cardConn{Conn: raw, raw: raw, tls13: tls13, stop: context.AfterFunc(ctx, func() { _ = raw.Close() })}
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	if proxy != nil && u.Scheme == "https" {
		if err := connectTunnel(raw, hostPort(u), proxy); err != nil {
			c.close()
			return nil, err
		}
	}
	if u.Scheme != "https" {
		return c, nil
	}
	cfg, err := cardTLSConfig(w.tls, u.Hostname(), tls13)
	if err != nil {
		c.close()
		return nil, err
	}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.close()
		return nil, err
	}
	c.Conn = tc
	return c, nil
}

// cardTLSConfig derives a card connection's TLS settings from the HTTP client's.
func cardTLSConfig(base *tls.Config, host string, tls13 bool) (*tls.Config, error) {
	cfg := &tls.Config{}
	if base != nil {
		cfg = base.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	cfg.NextProtos = []string{"http/1.1"}
	if tls13 {
		cfg.MinVersion = tls.VersionTLS13
		return cfg, nil
	}
	cfg.MaxVersion = tls.VersionTLS12
	suites := tls12AEAD
	if len(cfg.CipherSuites) > 0 {
		suites = slices.DeleteFunc(slices.Clone(cfg.CipherSuites), func(s uint16) bool { return !slices.Contains(tls12AEAD, s) })
		if len(suites) == 0 {
			return nil, fmt.Errorf("%w: the HTTP client's TLS settings allow no ECDHE AEAD cipher suite for card requests", ErrConnectorConfig)
		}
	}
	cfg.CipherSuites = suites
	return cfg, nil
}

// versionRefused reports whether a TLS handshake failed because the server would not speak
// TLS 1.2 (its protocol_version alert).
func versionRefused(err error) bool {
	return err != nil && strings.Contains(err.Error(), "tls: protocol version not supported")
}

// requestHead is the HTTP/1.1 request line and headers of a card request with a body of n
// bytes, ending with the blank line. Header values come from the connector's configuration and
// credentials; one holding a line break is refused rather than sent.
func requestHead(method, target, host string, n int, headers ...http.Header) ([]byte, error) {
	if !validToken(method) || strings.ContainsAny(target, " \r\n\x00") || strings.ContainsAny(host, " \r\n\x00") {
		return nil, fmt.Errorf("%w: bad request line", ErrConnectorConfig)
	}
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n")
	for _, h := range headers {
		keys := make([]string, 0, len(h))
		for k := range h {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			switch {
			case k == "Host" || k == "Content-Length" || k == "Connection":
				continue
			case !validToken(k):
				return nil, fmt.Errorf("%w: bad header name %q", ErrConnectorConfig, k)
			}
			for _, v := range h[k] {
				if strings.ContainsAny(v, "\r\n\x00") {
					return nil, fmt.Errorf("%w: header %s has a line break", ErrConnectorConfig, k)
				}
				b.WriteString(k + ": " + v + "\r\n")
			}
		}
	}
	b.WriteString("Content-Length: " + strconv.Itoa(n) + "\r\nConnection: close\r\n\r\n")
	return []byte(b.String()), nil
}

// validToken reports whether s is a non-empty HTTP token (a method or a header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// writeChunked writes b in pieces of at most chunk bytes (0: all at once).
func writeChunked(c net.Conn, b []byte, chunk int) error {
	if chunk <= 0 {
		chunk = len(b)
	}
	for len(b) > 0 {
		n := min(len(b), chunk)
		if _, err := c.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// connectTunnel asks an HTTP proxy for a tunnel to addr (no card data crosses it in clear: the
// TLS handshake with the provider follows).
func connectTunnel(c net.Conn, addr string, proxy *url.URL) error {
	req := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if pa := proxyAuth(proxy); pa != "" {
		req += "Proxy-Authorization: " + pa + "\r\n"
	}
	if strings.ContainsAny(addr, "\r\n ") {
		return fmt.Errorf("%w: bad provider host", ErrConnectorConfig)
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("proxy refused the tunnel: HTTP %d", resp.StatusCode)
	}
	if br.Buffered() > 0 {
		return errors.New("proxy sent data before the tunnel was up")
	}
	return nil
}

func proxyAuth(p *url.URL) string {
	if p.User == nil {
		return ""
	}
	pass, _ := p.User.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(p.User.Username()+":"+pass))
}

// hostPort is u's host with the scheme's default port when it names none.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}
