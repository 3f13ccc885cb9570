package natsauth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// Mode decides whether NATS clients of the embedded server need
// credentials.
type Mode string

const (
	// ModeAuto requires credentials once the directory has a store, that
	// is once a credential was ever created there (revoking them all does
	// not open the server again), and lets anyone in before.
	ModeAuto Mode = "auto"
	// ModeRequired always requires credentials: with no store, only the
	// hub itself connects until one is created.
	ModeRequired Mode = "required"
	// ModeOff lets any client in, with every permission.
	ModeOff Mode = "off"
)

// ParseMode parses the --auth flag.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case ModeAuto, ModeRequired, ModeOff:
		return Mode(s), nil
	case "":
		return ModeAuto, nil
	}
	return "", fmt.Errorf("--auth %q: want auto, required or off", s)
}

// Options configure an Authenticator.
type Options struct {
	// Dir holds the store (StorePath). Required.
	Dir string
	// Mode is ModeAuto or ModeRequired (ModeOff needs no Authenticator).
	Mode Mode
	// HubKey is the public key of the hub's own connection, which gets
	// every permission.
	HubKey string
	// Poll is how often the store is checked for changes. Zero means 1s.
	Poll time.Duration
	// Logger receives refusals and store reloads. Nil means slog.Default().
	Logger *slog.Logger
}

// Authenticator is the embedded NATS server's client authentication
// (server.Options.CustomClientAuthentication): it checks each client's
// nonce signature against the store and gives the client its agent's
// Permissions. It rereads the store when it changes.
type Authenticator struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	stat     os.FileInfo       // of the store as last read; nil: none
	keys     map[string]string // public key → node ID
	required bool
	badStore os.FileInfo // a store that failed to load, logged once
}

// New loads the store in opts.Dir. A store that cannot be read is an error:
// a hub must not start open because its credentials are damaged.
func New(opts Options) (*Authenticator, error) {
	if opts.Dir == "" {
		return nil, errors.New("natsauth: credentials need a directory (--data or --creds-dir)")
	}
	if opts.Mode != ModeAuto && opts.Mode != ModeRequired {
		return nil, fmt.Errorf("natsauth: mode %q: want auto or required", opts.Mode)
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	a := &Authenticator{opts: opts, log: opts.Logger, keys: map[string]string{}}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.required = opts.Mode == ModeRequired
	if _, err := a.refresh(); err != nil {
		return nil, err
	}
	return a, nil
}

// Required reports whether clients need credentials now.
func (a *Authenticator) Required() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.required
}

// Agents returns how many agents have a credential.
func (a *Authenticator) Agents() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.keys)
}

// refresh rereads the store if it changed since the last read and reports
// whether it did. On a load error it keeps the previous agents.
func (a *Authenticator) refresh() (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st, err := os.Stat(StorePath(a.opts.Dir))
	if errors.Is(err, os.ErrNotExist) {
		st, err = nil, nil
	}
	if err != nil {
		return false, fmt.Errorf("natsauth: %w", err)
	}
	if sameStat(st, a.stat) || (a.badStore != nil && sameStat(st, a.badStore)) {
		return false, nil
	}
	keys := map[string]string{}
	if st != nil {
		agents, err := Load(a.opts.Dir)
		if err != nil {
			a.badStore = st
			return false, err
		}
		for _, ag := range agents {
			keys[ag.PublicKey] = ag.ID
		}
	}
	a.stat, a.badStore, a.keys = st, nil, keys
	a.required = a.opts.Mode == ModeRequired || st != nil
	return true, nil
}

func sameStat(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// Check authenticates one connection; the server calls it.
func (a *Authenticator) Check(c server.ClientAuthentication) bool {
	if _, err := a.refresh(); err != nil {
		a.log.Error("NATS credentials store unreadable; keeping the agents loaded before", "err", err)
	}
	if c.Kind() != server.CLIENT {
		return false // no routes, gateways or leaf nodes are configured
	}
	o := c.GetOpts()
	a.mu.Lock()
	required := a.required
	id, known := a.keys[o.Nkey]
	a.mu.Unlock()
	if o.Nkey == "" {
		if required {
			a.log.Warn("NATS client refused: no credentials (an agent needs --creds)", "remote", remote(c), "name", o.Name)
		}
		return !required
	}
	if err := verify(o.Nkey, o.Sig, c.GetNonce()); err != nil {
		a.log.Warn("NATS client refused", "remote", remote(c), "name", o.Name, "key", o.Nkey, "err", err)
		return false
	}
	switch {
	case o.Nkey == a.opts.HubKey:
		c.RegisterUser(&server.User{Username: "edgeinfra-hub"})
		return true
	case known:
		c.RegisterUser(&server.User{Username: id, Permissions: Permissions(id)})
		return true
	case !required:
		return true
	}
	a.log.Warn("NATS client refused: unknown or revoked key (see edgeinfra hub creds list)", "remote", remote(c), "name", o.Name, "key", o.Nkey)
	return false
}

func remote(c server.ClientAuthentication) string {
	if addr := c.RemoteAddress(); addr != nil {
		return addr.String()
	}
	return "in-process"
}

// verify checks sig, the client's signature of nonce, against pub.
func verify(pub, sig string, nonce []byte) error {
	if len(nonce) == 0 {
		return errors.New("the server sent no nonce")
	}
	kp, err := nkeys.FromPublicKey(pub)
	if err != nil {
		return fmt.Errorf("public key: %w", err)
	}
	if !nkeys.IsValidPublicUserKey(pub) {
		return errors.New("not a user key")
	}
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		raw, err = base64.StdEncoding.DecodeString(sig)
	}
	if err != nil {
		return errors.New("signature is not base64")
	}
	if err := kp.Verify(nonce, raw); err != nil {
		return errors.New("signature does not match the key")
	}
	return nil
}

// Run watches the store every Poll until ctx is done. When it changes, it
// closes the connections that no longer have a credential (revoked agents,
// and clients without credentials once they are required), and does so
// once more at the next poll for a client that was authenticated while
// the change was being applied.
func (a *Authenticator) Run(ctx context.Context, ns *server.Server) {
	t := time.NewTicker(a.opts.Poll)
	defer t.Stop()
	again := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := a.refresh()
		if err != nil {
			a.log.Error("NATS credentials store unreadable; keeping the agents loaded before", "err", err)
		}
		if changed {
			a.log.Info("NATS credentials reloaded", "agents", a.Agents(), "required", a.Required())
		}
		if changed || again {
			a.Sweep(ns)
		}
		again = changed
	}
}

// Sweep closes every client connection that would not be let in now, and
// returns how many it closed.
func (a *Authenticator) Sweep(ns *server.Server) int {
	a.mu.Lock()
	required := a.required
	keys := a.keys
	a.mu.Unlock()
	if !required {
		return 0
	}
	var kick []uint64
	for offset := 0; ; {
		cz, err := ns.Connz(&server.ConnzOptions{Username: true, Offset: offset, Limit: 4096, Sort: server.ByCid})
		if err != nil {
			a.log.Error("listing NATS connections", "err", err)
			return 0
		}
		for _, ci := range cz.Conns {
			if _, ok := keys[ci.AuthorizedUser]; ok || ci.AuthorizedUser == a.opts.HubKey {
				continue
			}
			kick = append(kick, ci.Cid)
		}
		offset += len(cz.Conns)
		if len(cz.Conns) == 0 || offset >= cz.Total {
			break
		}
	}
	n := 0
	for _, cid := range kick {
		if err := ns.DisconnectClientByID(cid); err == nil {
			n++
		}
	}
	if n > 0 {
		a.log.Info("closed NATS connections without a current credential", "count", n)
	}
	return n
}
