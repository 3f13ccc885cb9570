package agentstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the name of the database file Open creates in its directory.
const FileName = "agentstore.db"

// formatID marks a database written by this package. Open refuses a bbolt
// file that holds buckets but not this marker, so a foreign database is never
// mistaken for an empty store.
const formatID = "edgeinfra-agentstore/1"

var (
	bucketMeta    = []byte("meta")
	bucketSync    = []byte("sync")
	bucketDeltas  = []byte("deltas")
	bucketUser    = []byte("user")
	bucketJournal = []byte("journal")

	keyFormat   = []byte("format")
	keySnapshot = []byte("snapshot")
)

// ErrLocked is wrapped by the error Open returns when another process (or
// another Store in this process) holds the database.
var ErrLocked = errors.New("agentstore: database is in use by another process")

// ErrCorrupt is wrapped by the errors returned for a file that is not a
// store database, or for stored data that cannot be decoded.
var ErrCorrupt = errors.New("agentstore: not a valid agent store")

// batchDelay is how long concurrent AppendJournal calls wait for more
// company in one commit (a lone caller does not wait). bbolt's default,
// 10ms, gave fewer appends/s from 64 callers than 1ms did, which measured
// about 40,000/s (one fsync is about 0.25ms on the reference machine).
const batchDelay = time.Millisecond

// lockTimeout bounds how long Open waits for the file lock.
const lockTimeout = time.Second

// Store is an agent's durable store: one bbolt file under its data
// directory. Every write is committed and synced to disk before the method
// returns. A Store is safe for concurrent use; only one Store (in any
// process) can have a directory open at a time.
type Store struct {
	db        *bolt.DB
	path      string
	appending atomic.Int32 // AppendJournal calls in flight
}

// Open opens the store in dir, creating dir and the database file if they do
// not exist. It fails with an error wrapping [ErrLocked] if another Store
// holds the file, and with one wrapping [ErrCorrupt] if the file is not a
// bbolt database or is a bbolt database written by something else.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("agentstore: empty data directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("agentstore: create data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("%w: %s: %w", ErrLocked, path, err)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	case err != nil:
		return nil, fmt.Errorf("agentstore: open %s: %w", path, err)
	}
	if err := db.Update(initialize); err != nil {
		_ = db.Close()
		if errors.Is(err, ErrCorrupt) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, fmt.Errorf("agentstore: initialise %s: %w", path, err)
	}
	db.MaxBatchDelay = batchDelay
	return &Store{db: db, path: path}, nil
}

// initialize creates the buckets of a new store, or checks the format
// marker of an existing one.
func initialize(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		empty := true
		_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
		if !empty {
			return fmt.Errorf("%w: a bbolt database written by another program", ErrCorrupt)
		}
		var err error
		if meta, err = tx.CreateBucket(bucketMeta); err != nil {
			return err
		}
		if err := meta.Put(keyFormat, []byte(formatID)); err != nil {
			return err
		}
	}
	if got := meta.Get(keyFormat); string(got) != formatID {
		return fmt.Errorf("%w: format %q, want %q", ErrCorrupt, got, formatID)
	}
	for _, name := range [][]byte{bucketSync, bucketDeltas, bucketUser, bucketJournal} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Close releases the file. Further calls on s fail.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("agentstore: close: %w", err)
	}
	return nil
}

// Put stores value under key, for the few small values an agent keeps
// besides its state and deltas (an identity, a lineage). An empty key is
// an error.
func (s *Store) Put(key string, value []byte) error {
	if key == "" {
		return errors.New("agentstore: empty key")
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUser).Put([]byte(key), value)
	})
	if err != nil {
		return fmt.Errorf("agentstore: put %q: %w", key, err)
	}
	return nil
}

// Get returns a copy of the value stored under key; ok is false if there
// is none.
func (s *Store) Get(key string) (value []byte, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketUser).Get([]byte(key))
		if v != nil {
			value, ok = append([]byte{}, v...), true
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("agentstore: get %q: %w", key, err)
	}
	return value, ok, nil
}
