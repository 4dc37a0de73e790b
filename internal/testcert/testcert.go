// Package testcert makes throwaway certificate authorities and certificates for tests, at
// run time: no private key is ever committed. A CA issues server certificates (for host names
// and IP addresses, through an intermediate CA so the PEM file holds a chain), client
// certificates for mutual TLS, and broken ones — expired, not yet valid, for another host —
// for the negative tests. Files go into the test's temporary directory with mode 0600.
//
// It is test tooling; nothing in the product imports it.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a root certificate authority and an intermediate it signed, which signs the leaves.
type CA struct {
	t        testing.TB
	dir      string
	root     *x509.Certificate
	rootKey  *ecdsa.PrivateKey
	inter    *x509.Certificate
	interKey *ecdsa.PrivateKey
	rootPEM  []byte
	interPEM []byte
	serial   int64
}

// NewCA makes a root and an intermediate valid from an hour ago for a day.
func NewCA(t testing.TB) *CA {
	t.Helper()
	ca := &CA{t: t, dir: t.TempDir(), serial: 1}
	now := time.Now()
	ca.rootKey = newKey(t)
	ca.root, ca.rootPEM = ca.sign(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "paybridge test root CA", Organization: []string{"paybridge tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, &ca.rootKey.PublicKey, nil, ca.rootKey)
	ca.interKey = newKey(t)
	ca.inter, ca.interPEM = ca.sign(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "paybridge test intermediate CA", Organization: []string{"paybridge tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, &ca.interKey.PublicKey, ca.root, ca.rootKey)
	return ca
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (ca *CA) sign(tmpl *x509.Certificate, pub *ecdsa.PublicKey, parent *x509.Certificate, key *ecdsa.PrivateKey) (*x509.Certificate, []byte) {
	ca.t.Helper()
	ca.serial++
	tmpl.SerialNumber = big.NewInt(ca.serial)
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		ca.t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		ca.t.Fatal(err)
	}
	return c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// CAFile writes the root certificate (what a client trusts) and returns its path.
func (ca *CA) CAFile() string {
	p := filepath.Join(ca.dir, "ca.pem")
	ca.write(p, ca.rootPEM)
	return p
}

// Options describe a leaf certificate.
type Options struct {
	// Hosts are the DNS names and IP addresses it is for (default 127.0.0.1 and localhost).
	Hosts []string
	// NotBefore and NotAfter (default: from an hour ago for a day).
	NotBefore, NotAfter time.Time
	// Client makes a client certificate (mutual TLS) instead of a server one.
	Client bool
	// Name is the file name prefix (default "server" or "client"); a new name per certificate
	// keeps earlier files.
	Name string
}

// Issue makes a leaf certificate signed by the intermediate and writes the certificate with
// its chain (leaf, intermediate) and the private key as PEM files, returning their paths.
func (ca *CA) Issue(o Options) (certFile, keyFile string) {
	ca.t.Helper()
	now := time.Now()
	if o.NotBefore.IsZero() {
		o.NotBefore = now.Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = now.Add(24 * time.Hour)
	}
	if len(o.Hosts) == 0 {
		o.Hosts = []string{"127.0.0.1", "localhost"}
	}
	if o.Name == "" {
		o.Name = "server"
		if o.Client {
			o.Name = "client"
		}
	}
	tmpl := &x509.Certificate{
		Subject:   pkix.Name{CommonName: o.Hosts[0], Organization: []string{"paybridge tests"}},
		NotBefore: o.NotBefore,
		NotAfter:  o.NotAfter,
		KeyUsage:  x509.KeyUsageDigitalSignature,
	}
	if o.Client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	for _, h := range o.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	key := newKey(ca.t)
	_, leafPEM := ca.sign(tmpl, &key.PublicKey, ca.inter, ca.interKey)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		ca.t.Fatal(err)
	}
	certFile = filepath.Join(ca.dir, o.Name+".pem")
	keyFile = filepath.Join(ca.dir, o.Name+"-key.pem")
	ca.write(certFile, append(append([]byte(nil), leafPEM...), ca.interPEM...))
	ca.write(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	return certFile, keyFile
}

// Combined writes certificate, chain and key into one PEM file (what some tools, baresip's
// sip_certificate among them, take) and returns its path.
func Combined(t testing.TB, certFile, keyFile string) string {
	t.Helper()
	c, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	k, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	p := certFile + ".combined"
	if err := os.WriteFile(p, append(c, k...), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (ca *CA) write(path string, b []byte) {
	ca.t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		ca.t.Fatal(err)
	}
}
