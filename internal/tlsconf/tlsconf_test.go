package tlsconf_test

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeinfra/edgeinfra/internal/tlsconf"
	"github.com/edgeinfra/edgeinfra/internal/tlsconf/tlstest"
)

func TestConfigErrors(t *testing.T) {
	p := tlstest.New(t)
	other := tlstest.New(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name   string
		files  tlsconf.Files
		server bool
		want   string
	}{
		{"server without key", tlsconf.Files{Cert: p.Server.Cert}, true, "both --tls-cert and --tls-key"},
		{"server without cert", tlsconf.Files{Key: p.Server.Key}, true, "both --tls-cert and --tls-key"},
		{"client cert without key", tlsconf.Files{Cert: p.Client.Cert}, false, "both --tls-cert and --tls-key"},
		{"missing cert", tlsconf.Files{Cert: missing, Key: p.Server.Key}, true, "--tls-cert: open " + missing},
		{"missing key", tlsconf.Files{Cert: p.Server.Cert, Key: missing}, true, "--tls-key: open " + missing},
		{"missing CA", tlsconf.Files{Cert: p.Server.Cert, Key: p.Server.Key, CA: missing}, true, "--tls-ca: open"},
		{"mismatched key", tlsconf.Files{Cert: p.Server.Cert, Key: other.Server.Key}, true, "private key does not match public key"},
		{"cert not PEM", tlsconf.Files{Cert: garbage, Key: p.Server.Key}, true, "--tls-cert " + garbage},
		{"CA not PEM", tlsconf.Files{CA: garbage}, false, "holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.server {
				_, err = tt.files.Server()
			} else {
				_, err = tt.files.Client()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestEnabled(t *testing.T) {
	if (tlsconf.Files{}).Enabled() {
		t.Error("zero Files enabled")
	}
	if !(tlsconf.Files{CA: "x"}).Enabled() {
		t.Error("Files with a CA not enabled")
	}
}

// handshake runs one TLS handshake between a server and a client config
// and returns the client's error (or the server's, if only it failed).
func handshake(t *testing.T, server, client *tls.Config) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srvErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer c.Close()
		tc := tls.Server(c, server)
		err = tc.Handshake()
		if err == nil {
			_, err = tc.Write([]byte("ok"))
		}
		srvErr <- err
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err == nil {
		// With TLS 1.3 a refused client certificate surfaces on the
		// first read, not in Dial.
		_, err = io.ReadFull(c, make([]byte, 2))
		c.Close()
	}
	if sErr := <-srvErr; err == nil {
		err = sErr
	}
	return err
}

func TestHandshakes(t *testing.T) {
	p := tlstest.New(t)
	stranger := tlstest.New(t)
	must := func(c *tls.Config, err error) *tls.Config {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	plainServer := must(tlsconf.Files{Cert: p.Server.Cert, Key: p.Server.Key}.Server())
	mutualServer := must(p.Server.Server())
	if mutualServer.MinVersion != tls.VersionTLS12 || mutualServer.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("server config: min version %x, client auth %v", mutualServer.MinVersion, mutualServer.ClientAuth)
	}
	if c := must(p.Server.ServerNoClientAuth()); c.ClientAuth != tls.NoClientCert {
		t.Fatalf("ServerNoClientAuth asks for client certificates: %v", c.ClientAuth)
	}
	withCA := must(tlsconf.Files{CA: p.CA}.Client())
	withCert := must(p.Client.Client())
	strangerCert := must(tlsconf.Files{Cert: stranger.Client.Cert, Key: stranger.Client.Key, CA: p.CA}.Client())
	systemRoots := must(tlsconf.Files{}.Client())
	tls11 := must(tlsconf.Files{CA: p.CA}.Client())
	tls11.MinVersion, tls11.MaxVersion = tls.VersionTLS10, tls.VersionTLS11

	tests := []struct {
		name           string
		server, client *tls.Config
		wantErr        string // empty: the handshake succeeds
	}{
		{"server cert verified by CA", plainServer, withCA, ""},
		{"no CA: unknown authority", plainServer, systemRoots, "certificate signed by unknown authority"},
		{"mutual TLS with client cert", mutualServer, withCert, ""},
		{"mutual TLS without client cert", mutualServer, withCA, "certificate"},
		{"mutual TLS with a stranger's cert", mutualServer, strangerCert, "certificate"},
		{"TLS 1.1 refused", plainServer, tls11, "protocol version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := handshake(t, tt.server, tt.client)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("handshake: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("handshake error = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}
