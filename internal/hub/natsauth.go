package hub

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/edgeinfra/edgeinfra/internal/creds"
	"github.com/edgeinfra/edgeinfra/internal/wire"
)

// AuthMode says when the embedded NATS server requires agent credentials.
type AuthMode string

// The auth modes; the zero value is AuthAuto.
const (
	// AuthAuto requires credentials exactly while the credentials store
	// under DataDir has a record (active or revoked): issuing the first
	// credential turns auth on, in a running hub too, and revoking the
	// last one leaves it on.
	AuthAuto AuthMode = "auto"
	// AuthRequired always requires credentials (DataDir is required).
	AuthRequired AuthMode = "required"
	// AuthOff lets clients without credentials in with full permissions.
	// Agents that present credentials are still confined to their
	// subjects, and revoked keys are still refused.
	AuthOff AuthMode = "off"
)

// ParseAuthMode parses --auth: "auto" (or empty), "required" or "off".
func ParseAuthMode(s string) (AuthMode, error) {
	switch AuthMode(s) {
	case "", AuthAuto:
		return AuthAuto, nil
	case AuthRequired, AuthOff:
		return AuthMode(s), nil
	}
	return "", fmt.Errorf("--auth %q: want auto, required or off", s)
}

// externalCreds returns the client option for the hub's credentials file
// for an external cluster: a .creds file (a user JWT and its seed, for a
// cluster in operator mode) or an nkey seed file.
func externalCreds(path string) (nats.Option, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hub: --nats-creds: %w", err)
	}
	isJWT := bytes.Contains(b, []byte("NATS USER JWT"))
	clear(b)
	if isJWT {
		return nats.UserCredentials(path), nil
	}
	o, err := nats.NkeyOptionFromSeed(path)
	if err != nil {
		return nil, fmt.Errorf("hub: --nats-creds %s: want an nkey seed or .creds file: %w", path, err)
	}
	return o, nil
}

// natsAuth authenticates the embedded server's clients (it is the
// server's CustomClientAuthentication): the hub's own identity, generated
// at each start and never written down, with full permissions; agents by
// their nkey, confined to their subjects; and, while auth is off, clients
// without credentials with full permissions.
//
// A custom check rather than the server's own nkey list: reloading that
// list re-authenticates every connected client, about 0.5 ms each, so a
// fleet of 10,000 agents would stall seconds for each created or revoked
// agent; here a change costs a map swap plus closing the revoked agent's
// connections.
type natsAuth struct {
	mode   AuthMode
	dir    string // the store's directory; empty without DataDir
	hub    nkeys.KeyPair
	hubKey string

	state atomic.Pointer[authState] // read by Check on the server's goroutines

	// Owned by the credentials watcher.
	stamp   fileStamp
	pending []string // users whose connections are closed again at the next poll
}

// authState is one version of the users; it is replaced, never changed.
type authState struct {
	required bool
	agents   map[string]string // active public key → node ID
}

// anonymous is the user name of clients without credentials while auth is
// off.
const anonymous = "anonymous"

// fileStamp tells whether the store file changed since it was last read.
type fileStamp struct {
	mod  time.Time
	size int64
	ok   bool
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size(), ok: true}
}

// setupAuth configures sopts (the embedded server's options) for cfg.Auth
// and returns the client options of the hub's own connection.
func (h *Hub) setupAuth(sopts *server.Options) ([]nats.Option, error) {
	mode, err := ParseAuthMode(string(h.cfg.Auth))
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	if mode == AuthRequired && h.cfg.DataDir == "" {
		return nil, errors.New("hub: --auth required needs --data: agent credentials are kept in the data directory")
	}
	a := &natsAuth{mode: mode, dir: h.cfg.DataDir}
	if a.hub, err = nkeys.CreateUser(); err != nil {
		return nil, fmt.Errorf("hub: nkey: %w", err)
	}
	a.hubKey, _ = a.hub.PublicKey()
	var recs []creds.Record
	if a.dir != "" {
		a.stamp = stampOf(creds.Path(a.dir))
		if recs, err = creds.Load(a.dir); err != nil {
			return nil, fmt.Errorf("hub: %w", err)
		}
	}
	st := a.stateOf(recs)
	a.state.Store(st)
	sopts.CustomClientAuthentication = a
	sopts.AlwaysEnableNonce = true // the nonce agents sign
	h.auth = a
	h.log.Info("NATS auth", "mode", mode, "required", st.required, "agents", len(st.agents))
	return []nats.Option{nats.Nkey(a.hubKey, a.hub.Sign)}, nil
}

// stateOf returns the users for the store's records.
func (a *natsAuth) stateOf(recs []creds.Record) *authState {
	st := &authState{
		required: a.mode == AuthRequired || a.mode == AuthAuto && len(recs) > 0,
		agents:   make(map[string]string, len(recs)),
	}
	for _, r := range recs {
		if r.Active() {
			st.agents[r.PublicKey] = r.ID
		}
	}
	return st
}

// Check authenticates one connection; the server calls it for every
// client, on the client's goroutine.
func (a *natsAuth) Check(c server.ClientAuthentication) bool {
	if c.Kind() != server.CLIENT {
		return false // the embedded server has no routes, gateways or leaf nodes
	}
	o, st := c.GetOpts(), a.state.Load()
	if o.Nkey == "" {
		if st.required {
			return false
		}
		c.RegisterUser(&server.User{Username: anonymous})
		return true
	}
	if !verifyNonce(o.Nkey, o.Sig, c.GetNonce()) {
		return false
	}
	if o.Nkey == a.hubKey {
		c.RegisterUser(&server.User{Username: "edgeinfra-hub"})
		return true
	}
	id, ok := st.agents[o.Nkey]
	if !ok {
		return false // unknown or revoked
	}
	c.RegisterUser(&server.User{Username: id, Permissions: serverPermissions(wire.AgentPermissions(id))})
	return true
}

// verifyNonce checks that sig, as nats.go sends it, is the signature of
// nonce by the user key pub; it is the server's own nkey check.
func verifyNonce(pub, sig string, nonce []byte) bool {
	if len(nonce) == 0 || !nkeys.IsValidPublicUserKey(pub) {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		if raw, err = base64.StdEncoding.DecodeString(sig); err != nil {
			return false
		}
	}
	kp, err := nkeys.FromPublicKey(pub)
	if err != nil {
		return false
	}
	return kp.Verify(nonce, raw) == nil
}

func serverPermissions(p wire.Permissions) *server.Permissions {
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: slices.Clone(p.Publish)},
		Subscribe: &server.SubjectPermission{Allow: slices.Clone(p.Subscribe)},
	}
}

// watchCredentials re-reads the credentials store whenever its file
// changes, every interval until ctx is done: new agents get in, and
// revoked agents' connections are closed. A store that cannot be read
// leaves the last users in place.
func (h *Hub) watchCredentials(ctx context.Context, interval time.Duration) {
	a := h.auth
	if a == nil || a.dir == "" || h.ns == nil {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := h.reloadCredentials(); err != nil {
			h.log.Error("credentials not reloaded; the previous ones stay in force", "err", err)
		}
	}
}

// reloadCredentials applies the store's current content if its file
// changed, and closes the connections of users who lost access.
func (h *Hub) reloadCredentials() error {
	a := h.auth
	// A client that passed Check with the old users just before the swap
	// may not have been listed yet: close such stragglers one poll later.
	for _, user := range a.pending {
		h.disconnect(user)
	}
	a.pending = a.pending[:0]
	st := stampOf(creds.Path(a.dir))
	if st == a.stamp {
		return nil
	}
	recs, err := creds.Load(a.dir)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	a.stamp = st
	old, cur := a.state.Load(), a.stateOf(recs)
	a.state.Store(cur)
	for key, id := range old.agents {
		if _, ok := cur.agents[key]; !ok {
			n := h.disconnect(key)
			a.pending = append(a.pending, key)
			h.log.Info("agent credentials revoked", "node", id, "connections_closed", n)
		}
	}
	if cur.required && !old.required {
		n := h.disconnect(anonymous)
		a.pending = append(a.pending, anonymous)
		h.log.Warn("NATS auth is now required: clients without credentials were disconnected", "connections_closed", n)
	}
	h.log.Info("credentials reloaded", "active_agents", len(cur.agents), "auth_required", cur.required)
	return nil
}

// disconnect closes every connection of user (a public key, or anonymous)
// and returns how many there were.
func (h *Hub) disconnect(user string) int {
	n := 0
	for range 100 { // bounded: each round closes up to a page of connections
		cz, err := h.ns.Connz(&server.ConnzOptions{User: user, Limit: 1024})
		if err != nil || len(cz.Conns) == 0 {
			return n
		}
		for _, ci := range cz.Conns {
			if h.ns.DisconnectClientByID(ci.Cid) == nil {
				n++
			}
		}
	}
	return n
}
