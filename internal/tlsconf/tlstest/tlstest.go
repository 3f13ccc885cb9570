// Package tlstest generates a throwaway CA and certificates signed by it,
// for tests of TLS between the hub, agents and HTTP clients.
package tlstest

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

	"github.com/edgeinfra/edgeinfra/internal/tlsconf"
)

// PKI is a CA with a server certificate (for 127.0.0.1, ::1 and
// localhost) and a client certificate, all as PEM files in one directory.
type PKI struct {
	// CA is the CA certificate file.
	CA string
	// Server and Client hold Cert and Key of their certificate, and CA.
	Server, Client tlsconf.Files
	// Pool holds the CA, for clients built by hand.
	Pool *x509.CertPool
}

// New writes a fresh PKI into t.TempDir(). Two calls make two unrelated
// CAs, which is how tests show that a stranger's certificate is refused.
func New(t testing.TB) *PKI {
	t.Helper()
	dir := t.TempDir()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "edgeinfra test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	p := &PKI{CA: writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER), Pool: x509.NewCertPool()}
	p.Pool.AddCert(caCert)
	p.Server = leaf(t, dir, "server", caCert, caKey, x509.ExtKeyUsageServerAuth)
	p.Server.CA = p.CA
	p.Client = leaf(t, dir, "client", caCert, caKey, x509.ExtKeyUsageClientAuth)
	p.Client.CA = p.CA
	return p
}

// leaf writes a certificate for 127.0.0.1, ::1 and localhost signed by ca,
// and its key, as name.pem and name-key.pem in dir.
func leaf(t testing.TB, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage) tlsconf.Files {
	t.Helper()
	key := newKey(t)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return tlsconf.Files{
		Cert: writePEM(t, dir, name+".pem", "CERTIFICATE", der),
		Key:  writePEM(t, dir, name+"-key.pem", "PRIVATE KEY", keyDER),
	}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
