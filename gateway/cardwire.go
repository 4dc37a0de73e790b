package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
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
//   - Over TLS the buffer goes to crypto/tls in chunks of tlsCardChunk bytes, a size for which
//     the record layer encrypts in place in its pooled record buffer and never grows it (a grown
//     buffer would leave a plaintext copy behind); the plaintext is overwritten by the
//     ciphertext (docs/gateway.md, "Card data in memory").
//   - The answer is read through a bufio.Reader over a readRecorder, and every buffer a read
//     filled is zeroed when the connection is closed. Answers carry no card digits (the
//     sandbox's and the seeds' APIs return the mask at most); this is defence in depth.
type cardWire struct {
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)
	tls   *tls.Config                           // nil: crypto/tls defaults (system roots)
	proxy func(*http.Request) (*url.URL, error) // nil: no proxy
}

// tlsCardChunk is the most plaintext handed to crypto/tls in one Write. A TLS 1.3 record of n
// payload bytes needs a record buffer of 5+n+1+16 bytes; crypto/tls appends into a pooled
// buffer whose capacity is a Go size class. With n = 508 the buffer needs 530 bytes and no size
// class lies in [513, 530) (512 and 576 are neighbours), so an append either fits with room for
// the content type and the AEAD tag or grows the buffer before the plaintext is copied in: the
// plaintext is only ever written into the buffer the ciphertext then overwrites in place.
const tlsCardChunk = 508

// newCardWire takes the dialer, TLS settings and proxy of hc's transport when it is an
// *http.Transport (through any RedactingTransport); any other RoundTripper is not used for card
// requests, which then dial directly with system TLS roots and the environment's proxy.
func newCardWire(hc *http.Client) *cardWire {
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
	w := &cardWire{proxy: http.ProxyFromEnvironment}
	if t, ok := rt.(*http.Transport); ok {
		w.dial, w.tls, w.proxy = t.DialContext, t.TLSClientConfig, t.Proxy
	}
	if w.dial == nil {
		d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		w.dial = d.DialContext
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
	dialAddr := hostPort(u)
	if proxy != nil {
		dialAddr = hostPort(proxy)
	}
	raw, err := w.dial(ctx, "tcp", dialAddr)
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}

	conn, chunk := raw, 0
	target := u.RequestURI()
	extra := http.Header{}
	switch {
	case proxy != nil && u.Scheme == "https":
		if err := connectTunnel(raw, hostPort(u), proxy); err != nil {
			return nil, err
		}
	case proxy != nil:
		target = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}).String()
		if pa := proxyAuth(proxy); pa != "" {
			extra.Set("Proxy-Authorization", pa)
		}
	}
	if u.Scheme == "https" {
		cfg := &tls.Config{}
		if w.tls != nil {
			cfg = w.tls.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		defer tc.Close()
		conn, chunk = tc, tlsCardChunk
	}

	head, err := requestHead(method, target, u.Host, len(body), h, extra)
	if err != nil {
		return nil, err
	}
	msg := make([]byte, 0, len(head)+len(body))
	msg = append(append(msg, head...), body...)
	err = writeChunked(conn, msg, chunk)
	wipe(msg)
	if err != nil {
		return nil, err
	}

	rec := &readRecorder{Conn: conn}
	defer rec.wipe()
	resp, err := http.ReadResponse(bufio.NewReaderSize(rec, 4096), &http.Request{Method: method})
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, err
	}
	// A large body may have been read straight into b, which rec.wipe zeroes on return.
	return &wireAnswer{status: resp.StatusCode, header: resp.Header, body: slices.Clone(b)}, nil
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
