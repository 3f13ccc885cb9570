package hub

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/edgeinfra/edgeinfra/internal/natsauth"
)

// Agents' NATS credentials (Config.NATSAuth, Config.CredsDir; see the
// Security section of the package documentation and package natsauth):
// the embedded server asks a natsauth.Authenticator about every client.
// The hub's own in-process connection signs with a key made at each start
// that only this process knows, and gets every permission.

// credsDir is where the credentials store is: CredsDir, else DataDir.
func (h *Hub) credsDir() string {
	if h.cfg.CredsDir != "" {
		return h.cfg.CredsDir
	}
	return h.cfg.DataDir
}

// natsServerAuth installs the authenticator on the embedded server's
// options when authentication is on, and returns the connect option of the
// hub's own connection.
func (h *Hub) natsServerAuth(sopts *server.Options) ([]nats.Option, error) {
	mode, err := natsauth.ParseMode(string(h.cfg.NATSAuth))
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	dir := h.credsDir()
	switch {
	case mode == natsauth.ModeOff:
		return nil, nil
	case dir == "" && mode == natsauth.ModeRequired:
		return nil, errors.New("hub: --auth required needs --data or --creds-dir, where 'edgeinfra hub creds create' keeps the agents' public keys")
	case dir == "":
		return nil, nil // auto without a directory: nothing can hold credentials
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("hub: key of the hub's own NATS connection: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	auth, err := natsauth.New(natsauth.Options{Dir: dir, Mode: mode, HubKey: pub, Logger: h.log})
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	h.auth = auth
	sopts.CustomClientAuthentication = auth
	sopts.AlwaysEnableNonce = true // the nonce that clients sign
	if auth.Required() {
		h.log.Info("NATS clients need credentials", "agents", auth.Agents(), "store", natsauth.StorePath(dir))
	} else {
		h.log.Info("NATS clients need no credentials until one is created", "store", natsauth.StorePath(dir))
	}
	return []nats.Option{nats.Nkey(pub, kp.Sign)}, nil
}

// watchCreds follows changes of the credentials store until ctx is done.
func (h *Hub) watchCreds(ctx context.Context) {
	if h.auth == nil || h.ns == nil {
		return
	}
	h.wg.Go(func() { h.auth.Run(ctx, h.ns) })
}

// checkExternalAuth refuses NATSAuth required with an external cluster:
// its operator configures authentication (natsauth.Template).
func (h *Hub) checkExternalAuth() error {
	if h.cfg.NATSAuth == natsauth.ModeRequired {
		return errors.New("hub: --auth required applies to the embedded NATS server; with --nats-url, configure the cluster's authorization (edgeinfra hub creds template --id ID prints an agent's entry)")
	}
	return nil
}
