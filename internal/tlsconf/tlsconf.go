// Package tlsconf turns the --tls-cert, --tls-key and --tls-ca files of the
// hub and the agent into a *tls.Config, with TLS 1.2 as the minimum and
// errors that name the file and say what to fix.
//
// The same three files serve both ends. On a server, Cert and Key are its
// certificate, and CA, when set, makes client certificates signed by that
// CA required (mutual TLS). On a client, CA verifies the server (the
// system's roots without it), and Cert and Key, when set, are the client
// certificate it presents.
//
// Files are read when the config is built; a certificate renewed on disk
// takes a restart.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// Files names the PEM files of one side of a TLS connection. The zero
// value means no TLS.
type Files struct {
	// Cert is a PEM certificate chain, leaf first.
	Cert string
	// Key is the PEM private key of Cert.
	Key string
	// CA is a PEM bundle of one or more CA certificates.
	CA string
	// FlagPrefix is put before "tls-cert", "tls-key" and "tls-ca" in error
	// messages: empty names --tls-cert, "http-" names --http-tls-cert.
	FlagPrefix string
}

func (f Files) flag(name string) string { return "--" + f.FlagPrefix + "tls-" + name }

// Enabled reports whether any file is set.
func (f Files) Enabled() bool { return f.Cert != "" || f.Key != "" || f.CA != "" }

// Server returns a server config: Cert and Key are required; with CA,
// clients must present a certificate that CA signed.
func (f Files) Server() (*tls.Config, error) {
	if f.Cert == "" || f.Key == "" {
		return nil, fmt.Errorf("tlsconf: a TLS server needs both %s and %s", f.flag("cert"), f.flag("key"))
	}
	cert, err := f.keyPair()
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if f.CA != "" {
		pool, err := loadPool(f.flag("ca"), f.CA)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ServerNoClientAuth is Server without the client certificate requirement,
// for endpoints that browsers use (the hub's HTTP API) while CA guards NATS.
func (f Files) ServerNoClientAuth() (*tls.Config, error) {
	f.CA = ""
	return f.Server()
}

// Client returns a client config: CA verifies the server (system roots
// when empty) and Cert with Key, when both are set, is presented as the
// client certificate.
func (f Files) Client() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if (f.Cert == "") != (f.Key == "") {
		return nil, fmt.Errorf("tlsconf: a client certificate needs both %s and %s", f.flag("cert"), f.flag("key"))
	}
	if f.Cert != "" {
		cert, err := f.keyPair()
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if f.CA != "" {
		pool, err := loadPool(f.flag("ca"), f.CA)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func (f Files) keyPair() (tls.Certificate, error) {
	certPEM, err := readFile(f.flag("cert"), f.Cert)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := readFile(f.flag("key"), f.Key)
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The standard library's messages ("private key does not match
		// public key", "failed to find any PEM data") are clear; add which
		// files.
		return tls.Certificate{}, fmt.Errorf("tlsconf: %s %s with %s %s: %w", f.flag("cert"), f.Cert, f.flag("key"), f.Key, err)
	}
	return cert, nil
}

func loadPool(flag, path string) (*x509.CertPool, error) {
	pem, err := readFile(flag, path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tlsconf: %s %s holds no PEM certificate (want one or more \"-----BEGIN CERTIFICATE-----\" blocks)", flag, path)
	}
	return pool, nil
}

func readFile(flag, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tlsconf: %s: %w", flag, err)
	}
	return b, nil
}
