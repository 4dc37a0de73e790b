package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
)

// A voice session names the provider's capture line; the connector turns it into what the
// engine dials (capture="provider") — here against the sandbox over HTTP, with and without its
// line running.
func TestSessionNamesTheCaptureLine(t *testing.T) {
	ctx := context.Background()
	req := &payment.SessionRequest{CallID: "call-line", Amount: payment.Amount{Minor: 1234, Currency: "GBP"}, Reference: "r1"}

	e := newEnv(t, sandbox.Config{CaptureLine: "sip:capture@127.0.0.1:5999"})
	s, err := e.open(t, "session").StartSession(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if s.FallbackURI != "sip:capture@127.0.0.1:5999" || s.FallbackNumber != s.FallbackURI {
		t.Errorf("capture line = %q (number %q), want the sandbox's line", s.FallbackURI, s.FallbackNumber)
	}
	if !regexp.MustCompile(`^[0-9]{8}$`).MatchString(s.LinkID) {
		t.Errorf("link id %q is not 8 keys a keypad sends", s.LinkID)
	}

	// No line running: the demo telephone number, which names no SIP address.
	e = newEnv(t, sandbox.Config{})
	s, err = e.open(t, "session").StartSession(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if s.FallbackURI != "" || s.FallbackNumber != sandbox.DemoFallbackNumber || s.LinkID == "" {
		t.Errorf("without a line: uri %q number %q link %q", s.FallbackURI, s.FallbackNumber, s.LinkID)
	}

	// A digital session has no capture line.
	s, err = e.open(t, "session").StartSession(ctx, &payment.SessionRequest{CallID: "call-dig", Digital: true, Phone: "+447700900123",
		Amount: payment.Amount{Minor: 100, Currency: "GBP"}})
	if err != nil || s.FallbackURI != "" || s.FallbackNumber != "" || s.LinkID != "" {
		t.Errorf("digital session: %+v %v", s, err)
	}
}

// What a provider says of its line is checked before anything is dialled or keyed.
func TestCaptureLineMapping(t *testing.T) {
	for _, tc := range []struct {
		number, link string
		uri, tel     string
		bad          bool
	}{
		{number: "sip:line@pci.example", link: "12345678", uri: "sip:line@pci.example", tel: "sip:line@pci.example"},
		{number: "sips:+4420@pci.example:5061;transport=tls", link: "*12#", uri: "sips:+4420@pci.example:5061;transport=tls", tel: "sips:+4420@pci.example:5061;transport=tls"},
		{number: "+441632960999", link: "42", tel: "+441632960999"},
		{number: "", link: ""},
		{number: "sip:line@pci.example?X-Hdr=1", link: "1", bad: true},                  // headers smuggled into the INVITE
		{number: "sip:line@", link: "1", bad: true},                                     // no host
		{number: "sip:a b@pci.example", link: "1", bad: true},                           // white space
		{number: "call me", link: "1", bad: true},                                       // neither
		{number: "+441632960999", link: "abc", bad: true},                               // not keys
		{number: "+441632960999", link: "123456789012345678901234567890123", bad: true}, // too long
	} {
		sess := &payment.Session{}
		err := captureLine(sess, &sessionCreated{DTMFFallbackNumber: tc.number, DTMFLinkID: tc.link})
		if tc.bad {
			if !errors.Is(err, ErrBadResponse) {
				t.Errorf("%q/%q: err %v, want ErrBadResponse", tc.number, tc.link, err)
			}
			continue
		}
		if err != nil || sess.FallbackURI != tc.uri || sess.FallbackNumber != tc.tel || sess.LinkID != tc.link {
			t.Errorf("%q/%q: %+v %v", tc.number, tc.link, sess, err)
		}
	}
}

// A provider whose answer names an unusable line fails the session's start with a
// connector error, before any call leg is placed.
func TestHostileCaptureLineIsRefused(t *testing.T) {
	sb := sandbox.New(sandbox.Config{})
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/globalpci/v1/selfservicesession" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"sessionId":"s-1","sessionState":"Created","dtmfFallbackNumber":"sip:x@evil.example?Route=x","dtmfLinkId":"1234"}`))
			return
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(hostile.Close)
	cs := NewConnectors(ConnectorsConfig{SandboxURL: hostile.URL, Attempts: NewMemoryStore()})
	c, err := cs.OpenConnector(&payment.ConnectorSpec{Name: "s", Type: "session", BaseURL: "sandbox", Account: "a",
		ClientCredentials: &payment.ClientCredentials{ClientID: "id", ClientSecret: "secret"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.StartSession(context.Background(), &payment.SessionRequest{CallID: "c", Amount: payment.Amount{Minor: 1, Currency: "GBP"}})
	if !errors.Is(err, ErrBadResponse) {
		t.Fatalf("err = %v, want ErrBadResponse", err)
	}
}
