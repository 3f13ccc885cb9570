package hub

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// TLS of the hub, from Config.TLS:
//
//   - embedded NATS: Cert and Key serve the client port over TLS (plain
//     clients are refused); CA requires and verifies client certificates.
//     The hub's own connection is in-process and needs neither.
//   - external NATS (NATSURL): the same files configure the hub's client
//     side: CA verifies the servers, Cert and Key are its client
//     certificate.
//   - HTTP: Cert and Key serve the API, /metrics and the dashboard over
//     HTTPS. Browsers do not present client certificates, so CA does not
//     apply there; the API token guards HTTP.

// natsServerTLS sets TLS on the embedded server's options.
func (h *Hub) natsServerTLS(sopts *server.Options) error {
	if !h.cfg.TLS.Enabled() {
		return nil
	}
	cfg, err := h.cfg.TLS.Server()
	if err != nil {
		return fmt.Errorf("hub: NATS TLS: %w", err)
	}
	sopts.TLS = true
	sopts.TLSConfig = cfg
	sopts.TLSVerify = cfg.ClientAuth == tls.RequireAndVerifyClientCert
	sopts.TLSTimeout = 5 // seconds; the server's default of 2 is tight on a loaded edge link
	return nil
}

// natsClientTLS returns the connect option for an external NATS cluster.
func (h *Hub) natsClientTLS() ([]nats.Option, error) {
	if !h.cfg.TLS.Enabled() {
		return nil, nil
	}
	cfg, err := h.cfg.TLS.Client()
	if err != nil {
		return nil, fmt.Errorf("hub: NATS TLS: %w", err)
	}
	return []nats.Option{nats.Secure(cfg)}, nil
}

// inProcessURL is the URL of the hub's own in-process connection: always
// nats://, since an in-process connection skips TLS (a tls:// URL would
// make the client insist on a handshake, and on a client certificate with
// mutual TLS).
func inProcessURL(ns *server.Server) string {
	u := ns.ClientURL()
	if rest, ok := strings.CutPrefix(u, "tls://"); ok {
		return "nats://" + rest
	}
	return u
}

// httpListener wraps ln in TLS when Cert and Key are set; on error it
// closes ln.
func (h *Hub) httpListener(ln net.Listener) (net.Listener, error) {
	if h.cfg.TLS.Cert == "" && h.cfg.TLS.Key == "" {
		return ln, nil
	}
	cfg, err := h.cfg.TLS.ServerNoClientAuth()
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("hub: HTTPS: %w", err)
	}
	return tls.NewListener(ln, cfg), nil
}

// scheme is the HTTP API's URL scheme.
func (h *Hub) scheme() string {
	if h.cfg.TLS.Cert != "" {
		return "https"
	}
	return "http"
}
