package natsauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/edgeinfra/edgeinfra/internal/wire"
)

// StoreFile is the credentials store's file name in the hub's directory.
const StoreFile = "agents.json"

// storeVersion is the store's format version.
const storeVersion = 1

// maxStoreSize bounds what Decode reads: 64 MiB is about half a million
// agents.
const maxStoreSize = 64 << 20

// Agent is one agent's record in the store. It holds no secret.
type Agent struct {
	// ID is the node ID the agent may act as.
	ID string `json:"id"`
	// PublicKey is the agent's user nkey ("U…").
	PublicKey string `json:"public_key"`
	// Created is when the credential was issued.
	Created time.Time `json:"created"`
}

type storeJSON struct {
	Version int     `json:"version"`
	Agents  []Agent `json:"agents"`
}

// StorePath is the store's path in dir.
func StorePath(dir string) string { return filepath.Join(dir, StoreFile) }

// ErrNoStore says dir has no store yet: no credential was ever created.
var ErrNoStore = errors.New("natsauth: no credentials store")

// Load reads the store in dir, sorted by ID. Without a store it returns
// ErrNoStore (wrapped) and no agents.
func Load(dir string) ([]Agent, error) {
	b, err := readFile(StorePath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s (create one with: edgeinfra hub creds create --data %s --id ID)", ErrNoStore, dir, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("natsauth: %w", err)
	}
	agents, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("natsauth: %s: %w", StorePath(dir), err)
	}
	return agents, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStoreSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxStoreSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxStoreSize)
	}
	return b, nil
}

// Decode parses a store strictly: unknown fields, another version, an
// invalid node ID or key, and a node ID or key given twice are errors that
// name the record. The agents come back sorted by ID.
func Decode(b []byte) ([]Agent, error) {
	if len(b) > maxStoreSize {
		return nil, fmt.Errorf("store is %d bytes, more than the %d allowed", len(b), maxStoreSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s storeJSON
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("not a credentials store (%v); restore it from a backup or remove it and issue the credentials again", err)
	}
	if dec.More() {
		return nil, errors.New("data after the store's JSON object; restore it from a backup")
	}
	if s.Version != storeVersion {
		return nil, fmt.Errorf("store version %d, this edgeinfra reads version %d", s.Version, storeVersion)
	}
	ids := make(map[string]bool, len(s.Agents))
	keys := make(map[string]bool, len(s.Agents))
	for i, a := range s.Agents {
		if err := wire.ValidNodeID(a.ID); err != nil {
			return nil, fmt.Errorf("agent %d: %w", i, err)
		}
		if !nkeys.IsValidPublicUserKey(a.PublicKey) {
			return nil, fmt.Errorf("agent %q: public_key %q is not a NATS user public key (U…)", a.ID, a.PublicKey)
		}
		if ids[a.ID] {
			return nil, fmt.Errorf("agent %q is listed twice; remove one of the records", a.ID)
		}
		if keys[a.PublicKey] {
			return nil, fmt.Errorf("agent %q: public key %s is listed twice; remove one of the records", a.ID, a.PublicKey)
		}
		ids[a.ID], keys[a.PublicKey] = true, true
	}
	slices.SortFunc(s.Agents, func(a, b Agent) int { return strings.Compare(a.ID, b.ID) })
	return s.Agents, nil
}

// Encode is Decode's inverse.
func Encode(agents []Agent) ([]byte, error) {
	sorted := slices.Clone(agents)
	slices.SortFunc(sorted, func(a, b Agent) int { return strings.Compare(a.ID, b.ID) })
	if sorted == nil {
		sorted = []Agent{}
	}
	b, err := json.MarshalIndent(storeJSON{Version: storeVersion, Agents: sorted}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Create issues a credential for id: a new user nkey whose public key goes
// into the store in dir (created, with dir, if missing), and whose seed
// comes back for the agent's credentials file ([CredsFile]). An id that
// already has a credential is an error: revoke it first to rotate.
func Create(dir, id string, now time.Time) (Agent, []byte, error) {
	if err := wire.ValidNodeID(id); err != nil {
		return Agent{}, nil, fmt.Errorf("natsauth: --id: %w", err)
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return Agent{}, nil, fmt.Errorf("natsauth: new key: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return Agent{}, nil, fmt.Errorf("natsauth: new key: %w", err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return Agent{}, nil, fmt.Errorf("natsauth: new key: %w", err)
	}
	a := Agent{ID: id, PublicKey: pub, Created: now.UTC().Truncate(time.Second)}
	err = update(dir, func(agents []Agent) ([]Agent, error) {
		for _, old := range agents {
			if old.ID == id {
				return nil, fmt.Errorf("natsauth: agent %q already has a credential (key %s, created %s); revoke it first (edgeinfra hub creds revoke --id %s) to issue a new one", id, old.PublicKey, old.Created.Format(time.RFC3339), id)
			}
		}
		return append(agents, a), nil
	})
	if err != nil {
		return Agent{}, nil, err
	}
	return a, seed, nil
}

// Revoke removes id's credential from the store in dir. A running hub then
// refuses the agent and closes its connections.
func Revoke(dir, id string) (Agent, error) {
	var gone Agent
	err := update(dir, func(agents []Agent) ([]Agent, error) {
		i := slices.IndexFunc(agents, func(a Agent) bool { return a.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("natsauth: agent %q has no credential in %s (see edgeinfra hub creds list)", id, StorePath(dir))
		}
		gone = agents[i]
		return slices.Delete(agents, i, i+1), nil
	})
	return gone, err
}

// update applies change to the store under the lock file and replaces the
// store atomically.
func update(dir string, change func([]Agent) ([]Agent, error)) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	unlock, err := lock(dir)
	if err != nil {
		return err
	}
	defer unlock()
	agents, err := Load(dir)
	if err != nil && !errors.Is(err, ErrNoStore) {
		return err
	}
	if agents, err = change(agents); err != nil {
		return err
	}
	b, err := Encode(agents)
	if err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	return writeFileAtomic(StorePath(dir), b)
}

// lock takes dir's lock file, waiting up to 10s for another writer.
func lock(dir string) (func(), error) {
	path := filepath.Join(dir, StoreFile+".lock")
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("natsauth: lock: %w", err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("natsauth: %s has been locked for 10s; if no other 'edgeinfra hub creds' command is running, a crashed one left it: remove it", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeFileAtomic writes b to path with mode 0600 through a temporary file
// and a rename, so readers see the old or the new file, never a mix.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("natsauth: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("natsauth: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	ok = true
	return nil
}
