package tlsconf

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/testcert"
)

// serve accepts TLS connections on loopback with cfg and echoes a line; it returns the address.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				b := make([]byte, 5)
				if _, err := io.ReadFull(c, b); err == nil {
					c.Write(b)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// dial completes a handshake and an echo, returning the connection state.
func dial(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("hello")); err != nil {
		return tls.ConnectionState{}, err
	}
	b := make([]byte, 5)
	if _, err := io.ReadFull(c, b); err != nil {
		return tls.ConnectionState{}, err
	}
	return c.ConnectionState(), nil
}

func TestServerPolicyChainAndReload(t *testing.T) {
	ca := testcert.NewCA(t)
	cert, key := ca.Issue(testcert.Options{Name: "first"})
	srv, err := NewServer(Files{Cert: cert, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, srv.Config())
	client, err := Client(ClientOptions{CAFile: ca.CAFile(), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := dial(addr, client)
	if err != nil {
		t.Fatalf("a client trusting the root cannot connect (is the chain served?): %v", err)
	}
	if len(st.PeerCertificates) != 2 {
		t.Fatalf("the server sent %d certificates, want the leaf and its intermediate", len(st.PeerCertificates))
	}
	first := st.PeerCertificates[0].SerialNumber

	// TLS 1.1 and weak suites are refused.
	old := client.Clone()
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if _, err := dial(addr, old); err == nil {
		t.Fatal("a TLS 1.1 client was served")
	}
	weak := client.Clone()
	weak.MaxVersion = tls.VersionTLS12
	weak.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}
	if _, err := dial(addr, weak); err == nil {
		t.Fatal("a client offering only CBC / RSA key exchange suites was served")
	}
	t12 := client.Clone()
	t12.MaxVersion = tls.VersionTLS12
	if st, err := dial(addr, t12); err != nil || st.Version != tls.VersionTLS12 {
		t.Fatalf("TLS 1.2 with a modern suite: %v", err)
	}

	// A connection up across a reload keeps working; new ones get the new certificate.
	held, err := tls.Dial("tcp", addr, client)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := held.Handshake(); err != nil {
		t.Fatal(err)
	}
	c2, k2 := ca.Issue(testcert.Options{Name: "second"})
	copyFile(t, c2, cert)
	copyFile(t, k2, key)
	if err := srv.Reload(); err != nil {
		t.Fatal(err)
	}
	st, err = dial(addr, client)
	if err != nil {
		t.Fatal(err)
	}
	if st.PeerCertificates[0].SerialNumber.Cmp(first) == 0 {
		t.Fatal("new connections still get the old certificate after Reload")
	}
	held.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := held.Write([]byte("again")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	if _, err := io.ReadFull(held, b); err != nil || string(b) != "again" {
		t.Fatalf("the connection made before the reload broke: %v", err)
	}

	// A broken reload keeps the certificate in use.
	second := st.PeerCertificates[0].SerialNumber
	os.WriteFile(cert, []byte("not a certificate"), 0o600)
	if err := srv.Reload(); err == nil {
		t.Fatal("a reload of a broken file succeeded")
	}
	if st, err := dial(addr, client); err != nil || st.PeerCertificates[0].SerialNumber.Cmp(second) != 0 {
		t.Fatalf("after a failed reload: %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestServerRefusesExpiredAndMismatchedFiles(t *testing.T) {
	ca := testcert.NewCA(t)
	cert, key := ca.Issue(testcert.Options{Name: "old", NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	if _, err := NewServer(Files{Cert: cert, Key: key}); !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), "expired on") {
		t.Fatalf("expired certificate: %v", err)
	}
	c1, _ := ca.Issue(testcert.Options{Name: "a"})
	_, k2 := ca.Issue(testcert.Options{Name: "b"})
	if _, err := NewServer(Files{Cert: c1, Key: k2}); err == nil {
		t.Fatal("a key that does not match the certificate was taken")
	}
	if _, err := NewServer(Files{}); !errors.Is(err, ErrNoCertificate) {
		t.Fatalf("no files: %v", err)
	}
}

func TestMutualTLS(t *testing.T) {
	ca := testcert.NewCA(t)
	cert, key := ca.Issue(testcert.Options{})
	srv, err := NewServer(Files{Cert: cert, Key: key, ClientCA: ca.CAFile()})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, srv.Config())
	anon, _ := Client(ClientOptions{CAFile: ca.CAFile()})
	if _, err := dial(addr, anon); err == nil {
		t.Fatal("a client without a certificate was served under mutual TLS")
	} else if !strings.Contains(Explain(err).Error(), "client certificate") {
		t.Errorf("Explain: %v", Explain(err))
	}
	cc, ck := ca.Issue(testcert.Options{Client: true})
	withCert, err := Client(ClientOptions{CAFile: ca.CAFile(), Cert: cc, Key: ck})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(addr, withCert); err != nil {
		t.Fatalf("a client with a certificate from the CA: %v", err)
	}
	other := testcert.NewCA(t)
	oc, ok := other.Issue(testcert.Options{Client: true})
	stranger, _ := Client(ClientOptions{CAFile: ca.CAFile(), Cert: oc, Key: ok})
	if _, err := dial(addr, stranger); err == nil {
		t.Fatal("a client certificate from another CA was accepted")
	}
}

// A client is told in words why a server's certificate is refused.
func TestClientExplainsRefusals(t *testing.T) {
	ca := testcert.NewCA(t)
	for _, tc := range []struct {
		name string
		opt  testcert.Options
		want string
	}{
		{"expired", testcert.Options{Name: "x", NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}, "expired or not yet valid"},
		{"wrong host", testcert.Options{Name: "y", Hosts: []string{"sip.example.com"}}, `not for "127.0.0.1" (it names sip.example.com)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert, key := ca.Issue(tc.opt)
			pair, err := tls.LoadX509KeyPair(cert, key)
			if err != nil {
				t.Fatal(err)
			}
			addr := serve(t, &tls.Config{Certificates: []tls.Certificate{pair}})
			client, _ := Client(ClientOptions{CAFile: ca.CAFile(), ServerName: "127.0.0.1"})
			_, err = dial(addr, client)
			if err == nil {
				t.Fatal("the certificate was accepted")
			}
			if got := Explain(err).Error(); !strings.Contains(got, tc.want) {
				t.Fatalf("Explain: %q, want %q", got, tc.want)
			}
		})
	}
	cert, key := ca.Issue(testcert.Options{Name: "z"})
	pair, _ := tls.LoadX509KeyPair(cert, key)
	addr := serve(t, &tls.Config{Certificates: []tls.Certificate{pair}})
	client, _ := Client(ClientOptions{ServerName: "127.0.0.1"}) // the system roots: not our CA
	if _, err := dial(addr, client); err == nil || !strings.Contains(Explain(err).Error(), "--ca") {
		t.Fatalf("unknown authority: %v", Explain(err))
	}
	insecure, _ := Client(ClientOptions{InsecureSkipVerify: true})
	if _, err := dial(addr, insecure); err != nil {
		t.Fatalf("--insecure-skip-verify: %v", err)
	}
}
