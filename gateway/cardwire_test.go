package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/testlog"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
)

// protoSeen records, per path, how requests arrived at a server.
type protoSeen struct {
	mu  sync.Mutex
	got map[string][]string
}

func (p *protoSeen) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		if p.got == nil {
			p.got = map[string][]string{}
		}
		p.got[r.URL.Path] = append(p.got[r.URL.Path], r.Proto+" close="+strconv.FormatBool(r.Close))
		p.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// Card-bearing requests bypass the HTTP client (its transport logs no capture) and arrive as
// HTTP/1.1 with Connection: close; requests without card data keep using the client.
func TestCardRequestsUseTheirOwnConnection(t *testing.T) {
	for _, typ := range []string{"session", "generic", "stripe"} {
		t.Run(typ, func(t *testing.T) {
			logs := &testlog.Buffer{}
			seen := &protoSeen{}
			srv := httptest.NewServer(seen.wrap(sandbox.New(sandbox.Config{})))
			t.Cleanup(srv.Close)
			// The default client logs every request it sends at debug level.
			e := &env{cs: NewConnectors(ConnectorsConfig{SandboxURL: srv.URL, Logger: newDebugLogger(logs)})}
			c := e.open(t, typ)
			res, err := c.Pay(context.Background(), &payment.Request{CallID: "c-" + typ, IdempotencyKey: "k-" + typ,
				Amount: payment.Amount{Minor: 500, Currency: "GBP"}, Card: card(t, "4242424242424242", "123")})
			if err != nil || res.Status != payment.Approved {
				t.Fatalf("pay: %+v %v", res, err)
			}
			cardPath := map[string]string{"session": "/capture", "generic": "/generic", "stripe": "/v1/tokens"}[typ]
			n := 0
			for path, protos := range seen.got {
				if !strings.HasSuffix(path, cardPath) {
					continue
				}
				for _, p := range protos {
					n++
					if p != "HTTP/1.1 close=true" {
						t.Errorf("%s arrived as %s, want HTTP/1.1 close=true", path, p)
					}
				}
			}
			if n != 1 {
				t.Fatalf("the card request arrived %d times, want once: %v", n, seen.got)
			}
			out := logs.String()
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "provider request") && strings.Contains(line, cardPath) {
					t.Errorf("the card request went through the HTTP client: %s", line)
				}
			}
			if typ != "generic" && !strings.Contains(out, "provider request") {
				t.Errorf("requests without card data no longer go through the HTTP client:\n%s", out)
			}
			assertNoPAN(t, "logs", out)
		})
	}
}

// A header value with a line break (a misconfigured API key) is refused before anything is
// sent, as a configuration error.
func TestCardRequestRefusesHeaderInjection(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	c, err := e.cs.OpenConnector(&payment.ConnectorSpec{Name: "inj", Type: "stripe", BaseURL: "sandbox",
		APIKey: "sk_test\r\nX-Injected: 1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Pay(context.Background(), &payment.Request{CallID: "c", IdempotencyKey: "k",
		Amount: payment.Amount{Minor: 500, Currency: "GBP"}, Card: card(t, "4242424242424242", "123")})
	if !errors.Is(err, ErrConnectorConfig) || ConnectorError(err) != "config" {
		t.Fatalf("err = %v, want a config error", err)
	}
	if n := e.sb.Stats().Requests["POST /v1/tokens"]; n != 0 {
		t.Fatalf("the sandbox received %d token requests", n)
	}
	for _, bad := range []struct{ method, target, host string }{
		{"PO ST", "/x", "h"}, {"POST", "/x y", "h"}, {"POST", "/x", "h\r\nX: y"}, {"", "/x", "h"},
	} {
		if _, err := requestHead(bad.method, bad.target, bad.host, 0); !errors.Is(err, ErrConnectorConfig) {
			t.Errorf("requestHead(%q, %q, %q) = %v, want a config error", bad.method, bad.target, bad.host, err)
		}
	}
	if _, err := requestHead("POST", "/x", "h", 0, http.Header{"Bad Name": {"v"}}); !errors.Is(err, ErrConnectorConfig) {
		t.Errorf("a header name with a space was accepted: %v", err)
	}
}

// connectProxy is an HTTP proxy: CONNECT tunnels, and absolute-form requests forwarded to
// their origin. It records the request lines it saw.
type connectProxy struct {
	ln   net.Listener
	mu   sync.Mutex
	seen []string
	auth []string
}

func startProxy(t *testing.T) *connectProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &connectProxy{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *connectProxy) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.seen = append(p.seen, req.Method+" "+req.RequestURI)
	p.auth = append(p.auth, req.Header.Get("Proxy-Authorization"))
	p.mu.Unlock()
	if req.Method == http.MethodConnect {
		up, err := net.Dial("tcp", req.Host)
		if err != nil {
			io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
			return
		}
		defer up.Close()
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		go func() { _, _ = io.Copy(up, br) }()
		_, _ = io.Copy(c, up)
		return
	}
	req.RequestURI = ""
	req.Header.Del("Proxy-Authorization")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
		return
	}
	defer resp.Body.Close()
	_ = resp.Write(c)
}

// Card requests go through the HTTP client's proxy: a CONNECT tunnel for an https provider
// (TLS end to end through it), an absolute-form request for an http one, with the proxy's
// credentials.
func TestCardRequestsThroughProxy(t *testing.T) {
	for _, scheme := range []string{"http", "https"} {
		t.Run(scheme, func(t *testing.T) {
			sb := sandbox.New(sandbox.Config{})
			srv := httptest.NewUnstartedServer(sb)
			tr := &http.Transport{}
			if scheme == "https" {
				srv.StartTLS()
				tr.TLSClientConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
			} else {
				srv.Start()
			}
			t.Cleanup(srv.Close)
			px := startProxy(t)
			pu, _ := url.Parse("http://user:pw@" + px.ln.Addr().String())
			tr.Proxy = http.ProxyURL(pu)
			cs := NewConnectors(ConnectorsConfig{SandboxURL: srv.URL, HTTPClient: &http.Client{Transport: tr}, Timeout: 5 * time.Second})
			c, err := cs.OpenConnector(&payment.ConnectorSpec{Name: "g", Type: "generic", BaseURL: "sandbox",
				BasicAuth: &payment.BasicAuth{Username: "m", Password: "p"}})
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Pay(context.Background(), &payment.Request{CallID: "c", IdempotencyKey: "k",
				Amount: payment.Amount{Minor: 500, Currency: "GBP"}, Card: card(t, "4242424242424242", "123")})
			if err != nil || res.Status != payment.Approved {
				t.Fatalf("pay through the proxy: %+v %v", res, err)
			}
			px.mu.Lock()
			defer px.mu.Unlock()
			host := strings.TrimPrefix(strings.TrimPrefix(srv.URL, "https://"), "http://")
			want := "POST " + srv.URL + "/generic"
			if scheme == "https" {
				want = "CONNECT " + host
			}
			if len(px.seen) != 1 || px.seen[0] != want {
				t.Fatalf("the proxy saw %q, want [%q]", px.seen, want)
			}
			if px.auth[0] != "Basic dXNlcjpwdw==" {
				t.Errorf("Proxy-Authorization = %q", px.auth[0])
			}
		})
	}
}

// Card connections speak TLS 1.2 with ECDHE AEAD suites only, within what the client's own
// TLS settings allow.
func TestCardTLSConfig(t *testing.T) {
	cfg, err := cardTLSConfig(nil, "provider.example", false)
	if err != nil || cfg.MaxVersion != tls.VersionTLS12 || cfg.ServerName != "provider.example" ||
		len(cfg.NextProtos) != 1 || cfg.NextProtos[0] != "http/1.1" || len(cfg.CipherSuites) != len(tls12AEAD) {
		t.Fatalf("default: %+v %v", cfg, err)
	}
	base := &tls.Config{CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}}
	if cfg, err = cardTLSConfig(base, "h", false); err != nil || len(cfg.CipherSuites) != 1 || cfg.CipherSuites[0] != tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 {
		t.Fatalf("intersection: %v %v", cfg.CipherSuites, err)
	}
	if _, err = cardTLSConfig(&tls.Config{CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}}, "h", false); !errors.Is(err, ErrConnectorConfig) {
		t.Fatalf("CBC only: %v, want a config error", err)
	}
	if cfg, err = cardTLSConfig(base, "h", true); err != nil || cfg.MinVersion != tls.VersionTLS13 || cfg.MaxVersion != 0 {
		t.Fatalf("TLS 1.3: %+v %v", cfg, err)
	}
}

// A provider that refuses TLS 1.2 is paid over TLS 1.3, with one warning.
func TestCardRequestsTLS13OnlyProvider(t *testing.T) {
	srv := httptest.NewUnstartedServer(sandbox.New(sandbox.Config{}))
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS13}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	logs := &testlog.Buffer{}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}}
	cs := NewConnectors(ConnectorsConfig{SandboxURL: srv.URL, HTTPClient: &http.Client{Transport: tr}, Timeout: 5 * time.Second,
		Logger: newDebugLogger(logs)})
	c, err := cs.OpenConnector(&payment.ConnectorSpec{Name: "s", Type: "stripe", BaseURL: "sandbox", APIKey: "sk_test_x"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		res, err := c.Pay(context.Background(), &payment.Request{CallID: "c", IdempotencyKey: "k" + string(rune('0'+i)),
			Amount: payment.Amount{Minor: 500, Currency: "GBP"}, Card: card(t, "4242424242424242", "123")})
		if err != nil || res.Status != payment.Approved {
			t.Fatalf("pay %d: %+v %v", i, res, err)
		}
	}
	if n := strings.Count(logs.String(), "use TLS 1.3"); n != 1 {
		t.Fatalf("%d TLS 1.3 warnings, want 1:\n%s", n, logs)
	}
}

// Informational answers (103 Early Hints) before the final one are skipped.
func TestCardRequestSkipsInformationalAnswers(t *testing.T) {
	sb := sandbox.New(sandbox.Config{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cs := NewConnectors(ConnectorsConfig{SandboxURL: srv.URL, Timeout: 5 * time.Second})
	c, err := cs.OpenConnector(&payment.ConnectorSpec{Name: "g", Type: "generic", BaseURL: "sandbox",
		BasicAuth: &payment.BasicAuth{Username: "m", Password: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Pay(context.Background(), &payment.Request{CallID: "c", IdempotencyKey: "k",
		Amount: payment.Amount{Minor: 500, Currency: "GBP"}, Card: card(t, "4242424242424242", "123")})
	if err != nil || res.Status != payment.Approved {
		t.Fatalf("pay: %+v %v", res, err)
	}
}
