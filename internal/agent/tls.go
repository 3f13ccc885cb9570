package agent

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/nats-io/nats.go"
)

// loadTLS builds the TLS configs of Config.TLS (the NATS client side) and
// Config.HTTPTLS (the local API), so that a bad file fails Start.
func (a *Agent) loadTLS() error {
	if a.cfg.TLS.Enabled() {
		cfg, err := a.cfg.TLS.Client()
		if err != nil {
			return fmt.Errorf("agent: NATS TLS: %w", err)
		}
		a.natsTLS = cfg
	}
	if a.cfg.HTTPTLS.Enabled() {
		files := a.cfg.HTTPTLS
		files.FlagPrefix = "http-"
		cfg, err := files.ServerNoClientAuth()
		if err != nil {
			return fmt.Errorf("agent: local API TLS: %w", err)
		}
		a.httpTLS = cfg
	}
	return nil
}

// natsTLSOptions returns the connect options that verify the hub's NATS
// certificate and present the agent's, if configured.
func (a *Agent) natsTLSOptions() []nats.Option {
	if a.natsTLS == nil {
		return nil
	}
	return []nats.Option{nats.Secure(a.natsTLS.Clone())}
}

// httpListener wraps the local API's listener in TLS if configured.
func (a *Agent) httpListener(ln net.Listener) net.Listener {
	if a.httpTLS == nil {
		return ln
	}
	return tls.NewListener(ln, a.httpTLS)
}
