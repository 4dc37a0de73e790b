package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/paybridge/paybridge/internal/testcert"
	"github.com/paybridge/paybridge/internal/tlsconf"
	"github.com/paybridge/paybridge/media"
	"github.com/paybridge/paybridge/siptest"
	"github.com/paybridge/paybridge/store"
)

// TestServeOverTLSAndHTTPS is serve with every wire encrypted: a caller on SIP over TLS with
// SRTP pays the bundled pay plan (the node reaches its own sandbox on loopback), the call
// record says how it was protected, the console answers over HTTPS with HSTS and nothing over
// plain HTTP, payment links are https, and SIGHUP's certificate reload changes the
// certificate new connections get.
func TestServeOverTLSAndHTTPS(t *testing.T) {
	ca := testcert.NewCA(t)
	cert, key := ca.Issue(testcert.Options{Name: "node"})
	a, out, stop := startNode(t, "--tls-cert", cert, "--tls-key", key, "--sip-tls-addr", "127.0.0.1:0",
		"--http-tls-cert", cert, "--http-tls-key", key, "--srtp", "udp=optional tcp=optional tls=required")
	defer stop()
	client, err := tlsconf.Client(tlsconf.ClientOptions{CAFile: ca.CAFile()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
		Target: fmt.Sprintf("sips:+441632960208@%s", a.sip.TLSAddr()), TLS: client, SRTP: media.DefaultSuites,
		From: "+447700900123", Digits: "4242424242424242#W1230#W123#W12345#", Timeout: 60 * time.Second,
	})
	if err != nil || !res.Answered || res.SRTP == "" || res.HangupBy != "remote" {
		t.Fatalf("Dial = %+v, %v\n%s", res, err, out)
	}
	ctx := context.Background()
	var pays []store.PaymentSession
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if pays, _ = a.Store().ListPayments(ctx, store.PaymentFilter{}); len(pays) > 0 && pays[0].Result != "" {
			break
		}
	}
	if len(pays) != 1 || pays[0].Result != "success" {
		t.Fatalf("payments %+v\n%s", pays, out)
	}
	calls, err := a.Store().ListCalls(ctx, store.CallFilter{})
	if err != nil || len(calls) != 1 || calls[0].SIPTransport != "TLS" || calls[0].SRTP != res.SRTP || !calls[0].Encrypted {
		t.Fatalf("call record %+v, %v", calls, err)
	}

	// The console over HTTPS: HSTS; plain HTTP on the same port gets nothing.
	base := "https://" + a.HTTPAddr()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: client}, Timeout: 10 * time.Second}
	req, _ := http.NewRequest("GET", base+"/api/calls/"+calls[0].ID, nil)
	req.Header.Set("Authorization", "Bearer test-admin-token-0123456789abcdef")
	r, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Strict-Transport-Security"), "max-age=31536000") ||
		!strings.Contains(string(body), `"encrypted":true`) {
		t.Fatalf("GET /api/calls over HTTPS: %d %q\n%s", r.StatusCode, r.Header.Get("Strict-Transport-Security"), body)
	}
	// The live feed over wss://.
	d := websocket.Dialer{TLSClientConfig: client, HandshakeTimeout: 5 * time.Second, Subprotocols: []string{"paybridge.v1", "bearer.test-admin-token-0123456789abcdef"}}
	ws, wsr, err := d.Dial("wss://"+a.HTTPAddr()+"/api/events", nil)
	if err != nil {
		t.Fatalf("the live feed over HTTPS: %v (%v)", err, wsr)
	}
	ws.Close()
	if r, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + a.HTTPAddr() + "/healthz"); err == nil && r.StatusCode < 400 {
		t.Fatalf("plain HTTP was served on the HTTPS listener: %d", r.StatusCode)
	}
	if !strings.HasPrefix(a.publicURL(), "https://") {
		t.Fatalf("payment links are built on %s", a.publicURL())
	}
	for _, want := range []string{"SIP TLS      127.0.0.1:", "SRTP         udp optional, tcp optional, tls required", "HTTPS        certificate", "console      https://"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the banner lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out.String(), "plain HTTP") || strings.Contains(out.String(), "no TLS listener") {
		t.Errorf("plaintext warnings with everything encrypted:\n%s", out)
	}

	// SIGHUP: new certificates for new connections.
	serial := func(addr string) string {
		c, err := tls.Dial("tcp", addr, client)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial(a.HTTPAddr())
	c2, k2 := ca.Issue(testcert.Options{Name: "renewed"})
	copyTo(t, c2, cert)
	copyTo(t, k2, key)
	if err := a.ReloadCertificates(); err != nil {
		t.Fatal(err)
	}
	if serial(a.HTTPAddr()) == before || serial(a.sip.TLSAddr().String()) == before {
		t.Fatal("a reload did not change the certificate of new connections")
	}
	os.WriteFile(cert, []byte("garbage"), 0o600)
	if err := a.ReloadCertificates(); err == nil || !strings.Contains(err.Error(), "certificate kept") {
		t.Fatalf("a broken reload: %v", err)
	}
}

func copyTo(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Without TLS, serve says what is plaintext, and never texts an http:// payment link through a
// real SMS provider; with an https link base it does.
func TestPlainHTTPWarnsAndKeepsLinksFromSMSProviders(t *testing.T) {
	var texts atomic.Int32
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		texts.Add(1)
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"sid":"SM1"}`))
	}))
	defer provider.Close()
	for _, tc := range []struct {
		name      string
		extra     []string
		sent      bool
		warnLinks bool
	}{
		{"http link base", nil, false, true},
		{"https link base", []string{"--public-url", "https://pay.example.com"}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			texts.Store(0)
			a, out, stop := startNode(t, append([]string{"--sms-url", provider.URL}, tc.extra...)...)
			defer stop()
			if !strings.Contains(out.String(), "WARNING      the console, API, live feed and payment pages are served over plain HTTP") ||
				!strings.Contains(out.String(), "WARNING      SIP has no TLS listener") {
				t.Errorf("no plaintext warnings:\n%s", out)
			}
			if got := strings.Contains(out.String(), "will not be texted through --sms-url"); got != tc.warnLinks {
				t.Errorf("SMS warning %v, want %v:\n%s", got, tc.warnLinks, out)
			}
			res, err := siptest.Dial(context.Background(), siptest.CallerConfig{Target: fmt.Sprintf("sip:+441632960000@%s", a.SIPAddr()),
				From: "+447700900123", Digits: "12345678# W 4242*", Timeout: 60 * time.Second})
			if err != nil || !res.Answered {
				t.Fatalf("Dial = %+v, %v", res, err)
			}
			var sms []store.SMS
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if sms, _ = a.Store().ListSMS(context.Background(), store.SMSFilter{}); len(sms) > 0 {
					break
				}
			}
			if len(sms) != 1 {
				t.Fatalf("outbox %+v\n%s", sms, out)
			}
			if tc.sent {
				if texts.Load() != 1 || sms[0].Status != store.SMSSent || !strings.Contains(sms[0].Body, "https://pay.example.com/pay/") {
					t.Fatalf("texts %d, record %+v", texts.Load(), sms[0])
				}
				return
			}
			if texts.Load() != 0 || sms[0].Status != store.SMSFailed || !strings.Contains(sms[0].Error, "plain http") {
				t.Fatalf("an http:// link reached the provider (%d texts) or the refusal is unclear: %+v", texts.Load(), sms[0])
			}
		})
	}
}

func TestSecureHeadersMarkCookiesSecure(t *testing.T) {
	h := secureHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1", HttpOnly: true})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2", Secure: true})
		w.Write([]byte("ok"))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	cs := rec.Result().Cookies()
	if len(cs) != 2 || !cs[0].Secure || !cs[1].Secure {
		t.Fatalf("cookies %v", rec.Header().Values("Set-Cookie"))
	}
	if rec.Header().Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS")
	}
}

func TestParseConfigTLSAndSRTP(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", "c.pem"}, "go together"},
		{[]string{"--sip-tls-addr", "127.0.0.1:5061"}, "need --tls-cert"},
		{[]string{"--tls-client-ca", "ca.pem"}, "need --tls-cert"},
		{[]string{"--http-tls-key", "k.pem"}, "go together"},
		{[]string{"--srtp", "mandatory"}, "off, optional or required"},
		{[]string{"--srtp", "udp=off sctp=required"}, "transport"},
		{[]string{"--sms-url", "http://sms.example.com/Messages"}, "plain http outside loopback"},
		{[]string{"--webhook-url", "http://hooks.example.com/x"}, "plain http outside loopback"},
	} {
		if _, err := ParseConfig(tc.args, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseConfig(%q) = %v, want %q", tc.args, err, tc.want)
		}
	}
	c, err := ParseConfig([]string{"--srtp", "tls=required, udp=off", "--tls-cert", "c", "--tls-key", "k", "--sip-addr", "10.0.0.1:5060"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := c.SRTPPolicies()
	if p.TLS != media.SRTPRequired || p.UDP != media.SRTPOff || p.TCP != media.SRTPOptional || c.sipTLSAddr() != "10.0.0.1:5061" {
		t.Fatalf("policies %+v, TLS address %q", p, c.sipTLSAddr())
	}
	if d, _ := ParseConfig(nil, env(nil), io.Discard); d.SRTP != "optional" || d.sipTLSAddr() != "" {
		t.Fatalf("defaults: srtp %q, TLS address %q", d.SRTP, d.sipTLSAddr())
	}
}
