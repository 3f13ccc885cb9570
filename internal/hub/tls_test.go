package hub

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/edgeinfra/edgeinfra/internal/tlsconf"
	"github.com/edgeinfra/edgeinfra/internal/tlsconf/tlstest"
)

// TestTLSRefusals starts a hub with mutual TLS and shows who may connect
// to its NATS port and how HTTP is served.
func TestTLSRefusals(t *testing.T) {
	p := tlstest.New(t)
	stranger := tlstest.New(t)
	h := startHub(t, Config{TLS: p.Server})
	if !strings.HasPrefix(h.NATSURL(), "tls://") || !strings.HasPrefix(h.URL(), "https://") {
		t.Fatalf("NATSURL %s, URL %s: want tls:// and https://", h.NATSURL(), h.URL())
	}
	clientTLS := func(f tlsconf.Files) *tls.Config {
		c, err := f.Client()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name    string
		url     string
		opts    []nats.Option
		wantErr string // empty: the connection works
	}{
		{"CA and client certificate", h.NATSURL(), []nats.Option{nats.Secure(clientTLS(p.Client))}, ""},
		{"without the CA", h.NATSURL(), []nats.Option{nats.Secure(clientTLS(tlsconf.Files{Cert: p.Client.Cert, Key: p.Client.Key}))}, "certificate signed by unknown authority"},
		{"without a client certificate", h.NATSURL(), []nats.Option{nats.Secure(clientTLS(tlsconf.Files{CA: p.CA}))}, "tls"},
		{"a stranger's client certificate", h.NATSURL(), []nats.Option{nats.Secure(clientTLS(tlsconf.Files{Cert: stranger.Client.Cert, Key: stranger.Client.Key, CA: p.CA}))}, "tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := nats.Connect(tt.url, append(tt.opts, nats.Timeout(3*time.Second), nats.NoReconnect())...)
			if err == nil {
				// A refused client certificate may surface only once the
				// server has read it: make a round trip.
				err = nc.FlushTimeout(3 * time.Second)
				nc.Close()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("connect: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("connect error = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}

	// A client that speaks plain text is refused before it can publish.
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(h.NATSURL(), "tls://"), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	rd := bufio.NewReader(conn)
	info, err := rd.ReadString('\n')
	if err != nil || !strings.Contains(info, `"tls_required":true`) {
		t.Fatalf("INFO = %q, %v; want tls_required", info, err)
	}
	if _, err := conn.Write([]byte("CONNECT {\"verbose\":false}\r\nPUB edgeinfra.hb.n1 2\r\n{}\r\nPING\r\n")); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(rd)
	if strings.Contains(string(rest), "PONG") {
		t.Fatalf("a plain-text client got PONG: %q", rest)
	}

	// HTTP: HTTPS with the CA works; plain HTTP and HTTPS without the CA
	// do not. No client certificate is asked for.
	withCA := &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS(tlsconf.Files{CA: p.CA})}}
	defer withCA.CloseIdleConnections()
	resp, err := withCA.Get(h.URL() + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz over HTTPS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz over HTTPS = %d", resp.StatusCode)
	}
	noCA := &http.Client{Transport: &http.Transport{}}
	defer noCA.CloseIdleConnections()
	if _, err := noCA.Get(h.URL() + "/healthz"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("HTTPS without the CA: %v, want a certificate error", err)
	}
	plain := &http.Client{Transport: &http.Transport{}}
	defer plain.CloseIdleConnections()
	resp, err = plain.Get("http://" + h.HTTPAddr() + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP to the HTTPS port = %d, want 400 or an error", resp.StatusCode)
		}
	}
}

func TestTLSConfigErrors(t *testing.T) {
	p := tlstest.New(t)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"CA without a certificate", Config{TLS: tlsconf.Files{CA: p.CA}}, "both --tls-cert and --tls-key"},
		{"mismatched key", Config{TLS: tlsconf.Files{Cert: p.Server.Cert, Key: p.Client.Key}}, "private key does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Logger = quiet()
			h, err := Start(t.Context(), tt.cfg)
			if err == nil {
				h.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Start = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}
