package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
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

// natsAuth is the embedded server's authentication: the hub's own
// full-permission identity, generated at each start and never written
// down, and the agents' public keys from the credentials store.
type natsAuth struct {
	mode       AuthMode
	dir        string // the store's directory; empty without DataDir
	hub        nkeys.KeyPair
	anon       string // public key of the identity of clients without credentials, while auth is off
	base       *server.Options
	users      []*server.NkeyUser // last applied
	noAuthUser string
	stamp      fileStamp
}

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
	anon, err := nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("hub: nkey: %w", err)
	}
	a.anon, _ = anon.PublicKey()
	anon.Wipe() // only the public key names the anonymous identity
	var recs []creds.Record
	if a.dir != "" {
		a.stamp = stampOf(creds.Path(a.dir))
		if recs, err = creds.Load(a.dir); err != nil {
			return nil, fmt.Errorf("hub: %w", err)
		}
	}
	a.users, a.noAuthUser = a.config(recs)
	sopts.Nkeys, sopts.NoAuthUser = a.users, a.noAuthUser
	a.base = sopts.Clone()
	h.auth = a
	h.log.Info("NATS auth", "mode", mode, "required", a.noAuthUser == "", "agents", len(a.users)-1-boolInt(a.noAuthUser != ""))
	pub, _ := a.hub.PublicKey()
	return []nats.Option{nats.Nkey(pub, a.hub.Sign)}, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// config returns the server's users for the records: the hub, every active
// agent confined to its subjects, and, while auth is off, the identity of
// clients without credentials (noAuthUser).
func (a *natsAuth) config(recs []creds.Record) (users []*server.NkeyUser, noAuthUser string) {
	hubKey, _ := a.hub.PublicKey()
	users = append(users, &server.NkeyUser{Nkey: hubKey}) // nil Permissions: everything
	for _, r := range recs {
		if r.Active() {
			users = append(users, &server.NkeyUser{Nkey: r.PublicKey, Permissions: serverPermissions(wire.AgentPermissions(r.ID))})
		}
	}
	if a.mode == AuthOff || a.mode == AuthAuto && len(recs) == 0 {
		users = append(users, &server.NkeyUser{Nkey: a.anon})
		noAuthUser = a.anon
	}
	return users, noAuthUser
}

func serverPermissions(p wire.Permissions) *server.Permissions {
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: slices.Clone(p.Publish)},
		Subscribe: &server.SubjectPermission{Allow: slices.Clone(p.Subscribe)},
	}
}

// watchCredentials re-reads the credentials store whenever its file
// changes, every interval until ctx is done, and reloads the server's users:
// new agents get in, and revoked agents' connections are closed by the
// server. A store that cannot be read leaves the last users in place.
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
// changed.
func (h *Hub) reloadCredentials() error {
	a := h.auth
	st := stampOf(creds.Path(a.dir))
	if st == a.stamp {
		return nil
	}
	recs, err := creds.Load(a.dir)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	users, noAuth := a.config(recs)
	a.stamp = st
	if noAuth == a.noAuthUser && sameUsers(users, a.users) {
		return nil
	}
	o := a.base.Clone()
	o.Nkeys, o.NoAuthUser = users, noAuth
	if err := h.ns.ReloadOptions(o); err != nil {
		return fmt.Errorf("hub: reload NATS users: %w", err)
	}
	if a.noAuthUser != "" && noAuth == "" {
		h.log.Warn("NATS auth is now required: clients without credentials were disconnected")
	}
	a.users, a.noAuthUser = users, noAuth
	h.log.Info("credentials reloaded", "active_agents", len(users)-1-boolInt(noAuth != ""), "auth_required", noAuth == "")
	return nil
}

// sameUsers reports whether two user lists hold the same keys; a key's
// permissions follow from its node ID, which never changes.
func sameUsers(a, b []*server.NkeyUser) bool {
	if len(a) != len(b) {
		return false
	}
	keys := make(map[string]bool, len(a))
	for _, u := range a {
		keys[u.Nkey] = true
	}
	for _, u := range b {
		if !keys[u.Nkey] {
			return false
		}
	}
	return true
}
