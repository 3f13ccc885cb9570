package creds

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/edgeinfra/edgeinfra/internal/wire"
)

// FileName is the store's file name inside the hub's data directory.
const FileName = "credentials.json"

// maxStoreSize bounds the store file: 64 MiB is about 300,000 records.
const maxStoreSize = 64 << 20

// Record is one agent credential as the hub keeps it: public parts only.
type Record struct {
	// ID is the node ID the credential is for.
	ID string `json:"id"`
	// PublicKey is the agent's nkey public key (a "U…" user key).
	PublicKey string `json:"public_key"`
	// Created is when the credential was issued.
	Created time.Time `json:"created"`
	// Revoked is when it was revoked; zero while it is active.
	Revoked time.Time `json:"revoked,omitzero"`
}

// Active reports whether r has not been revoked.
func (r Record) Active() bool { return r.Revoked.IsZero() }

type storeFile struct {
	V      int      `json:"v"`
	Agents []Record `json:"agents"`
}

// ErrInvalid is wrapped by every error about a malformed store file.
var ErrInvalid = errors.New("creds: invalid credentials store")

// Path returns the store's path in data directory dir.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// Load reads the store in dir. A missing file is an empty store.
func Load(dir string) ([]Record, error) {
	b, err := os.ReadFile(Path(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("creds: %w", err)
	}
	recs, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (fix or restore the file; it holds public keys only)", Path(dir), err)
	}
	return recs, nil
}

// Decode parses and checks a store file: version 1, no unknown fields,
// valid node IDs and user public keys, no key twice and at most one active
// record per node.
func Decode(b []byte) ([]Record, error) {
	if len(b) > maxStoreSize {
		return nil, fmt.Errorf("%w: %d bytes is over the limit of %d", ErrInvalid, len(b), maxStoreSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f storeFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON value", ErrInvalid)
	}
	if f.V != 1 {
		return nil, fmt.Errorf("%w: version %d, want 1", ErrInvalid, f.V)
	}
	keys := make(map[string]bool, len(f.Agents))
	active := make(map[string]bool, len(f.Agents))
	for i, r := range f.Agents {
		if err := wire.ValidNodeID(r.ID); err != nil {
			return nil, fmt.Errorf("%w: agent %d: %v", ErrInvalid, i, err)
		}
		if !nkeys.IsValidPublicUserKey(r.PublicKey) {
			return nil, fmt.Errorf("%w: agent %q: public_key %.60q is not an nkey user public key", ErrInvalid, r.ID, r.PublicKey)
		}
		if keys[r.PublicKey] {
			return nil, fmt.Errorf("%w: public key %s appears twice", ErrInvalid, r.PublicKey)
		}
		keys[r.PublicKey] = true
		if r.Active() {
			if active[r.ID] {
				return nil, fmt.Errorf("%w: agent %q has two active credentials", ErrInvalid, r.ID)
			}
			active[r.ID] = true
		}
	}
	return f.Agents, nil
}

// encode is the inverse of Decode.
func encode(recs []Record) ([]byte, error) {
	if recs == nil {
		recs = []Record{}
	}
	b, err := json.MarshalIndent(storeFile{V: 1, Agents: recs}, "", "  ")
	return append(b, '\n'), err
}

// Create issues a credential for node id: a new nkey whose seed goes to
// the agent's file out (created with mode 0600; an existing file is an
// error, so a secret is never overwritten) and whose public key is added
// to the store in dir. A node that already has an active credential must
// be revoked first.
func Create(dir, id, out string, now time.Time) (Record, error) {
	if err := wire.ValidNodeID(id); err != nil {
		return Record{}, fmt.Errorf("creds: --id: %w", err)
	}
	var rec Record
	written := false
	err := update(dir, func(recs []Record) ([]Record, error) {
		for _, r := range recs {
			if r.ID == id && r.Active() {
				return nil, fmt.Errorf("creds: agent %q already has credentials (public key %s); revoke them first", id, r.PublicKey)
			}
		}
		kp, err := nkeys.CreateUser()
		if err != nil {
			return nil, fmt.Errorf("creds: new nkey: %w", err)
		}
		defer kp.Wipe()
		seed, err := kp.Seed()
		if err != nil {
			return nil, fmt.Errorf("creds: %w", err)
		}
		pub, err := kp.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("creds: %w", err)
		}
		rec = Record{ID: id, PublicKey: pub, Created: now.UTC()}
		if err := writeAgentFile(out, rec, seed); err != nil {
			return nil, err
		}
		written = true
		return append(recs, rec), nil
	})
	if err != nil && written {
		// The store did not take the key: the file is useless, and a
		// secret better not left lying around.
		_ = os.Remove(out)
	}
	if err != nil {
		return Record{}, err
	}
	return rec, nil
}

// Revoke revokes node id's active credential. A running hub closes the
// agent's connection when it notices (within its poll interval).
func Revoke(dir, id string, now time.Time) (Record, error) {
	var rec Record
	err := update(dir, func(recs []Record) ([]Record, error) {
		for i, r := range recs {
			if r.ID == id && r.Active() {
				recs[i].Revoked = now.UTC()
				rec = recs[i]
				return recs, nil
			}
		}
		return nil, fmt.Errorf("creds: agent %q has no active credentials (see 'edgeinfra hub creds list')", id)
	})
	return rec, err
}

// update applies fn to the store under the lock file and writes the result
// atomically.
func update(dir string, fn func([]Record) ([]Record, error)) error {
	if dir == "" {
		return errors.New("creds: --data is required: credentials live in the hub's data directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creds: %w", err)
	}
	unlock, err := lock(Path(dir) + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	recs, err := Load(dir)
	if err != nil {
		return err
	}
	recs, err = fn(recs)
	if err != nil {
		return err
	}
	b, err := encode(recs)
	if err != nil {
		return fmt.Errorf("creds: %w", err)
	}
	return writeAtomic(Path(dir), b)
}

// lock takes an exclusive lock file, waiting up to 5s for another process
// to release it.
func lock(path string) (unlock func(), err error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return func() { _ = os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("creds: lock: %w", err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("creds: %s is held by another 'edgeinfra hub creds' (if none is running, a crashed one left it: remove the file)", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeAtomic writes b to path (mode 0600) through a temporary file and a
// rename, so readers see the old or the new file, never a part.
func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creds: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, a no-op
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("creds: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("creds: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("creds: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("creds: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("creds: %w", err)
	}
	return nil
}

// writeAgentFile creates the agent's credentials file, mode 0600, failing
// if it exists.
func writeAgentFile(path string, rec Record, seed []byte) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# edgeinfra agent credentials (keep secret: this is the agent's private key)\n")
	fmt.Fprintf(&b, "# node: %s\n# public key: %s\n# issued: %s\n", rec.ID, rec.PublicKey, rec.Created.Format(time.RFC3339))
	fmt.Fprintf(&b, "# use: edgeinfra agent --id %s --creds FILE\n", rec.ID)
	fmt.Fprintf(&b, "-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n", seed)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("creds: %s exists; remove it or choose another --out (an agent's key is never overwritten)", path)
		}
		return fmt.Errorf("creds: %w", err)
	}
	_, err = f.Write(b.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("creds: write %s: %w", path, err)
	}
	return nil
}

// NodeOf returns the node named in an agent credentials file's "# node:"
// line, or "" when there is none (a plain seed file).
func NodeOf(file []byte) string {
	for line := range strings.Lines(string(file)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "# node:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
