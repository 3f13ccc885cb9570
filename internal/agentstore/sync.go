package agentstore

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/edgeinfra/edgeinfra/statesync"
)

// SaveSync replaces the stored synchronizer snapshot with snap and returns
// once it is on disk. An agent calls it after every local change and before
// acknowledging the change to its caller, so an acknowledged change
// survives a crash.
func (s *Store) SaveSync(snap statesync.Snapshot) error {
	b, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("agentstore: encode snapshot: %w", err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSync).Put(keySnapshot, b)
	})
	if err != nil {
		return fmt.Errorf("agentstore: save snapshot: %w", err)
	}
	return nil
}

// LoadSync returns the stored snapshot; ok is false if none was saved.
// Numbers in the state come back as float64 (the snapshot is stored as
// JSON, as the hub also receives it). A stored snapshot that does not decode
// gives an error wrapping [ErrCorrupt]; one that decodes but is inconsistent
// is reported by [statesync.Restore].
func (s *Store) LoadSync() (snap statesync.Snapshot, ok bool, err error) {
	var raw []byte
	err = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketSync).Get(keySnapshot); v != nil {
			raw = append([]byte{}, v...)
		}
		return nil
	})
	if err != nil {
		return statesync.Snapshot{}, false, fmt.Errorf("agentstore: load snapshot: %w", err)
	}
	if raw == nil {
		return statesync.Snapshot{}, false, nil
	}
	snap, err = decodeSnapshot(raw)
	if err != nil {
		return statesync.Snapshot{}, false, err
	}
	return snap, true, nil
}

func decodeSnapshot(raw []byte) (statesync.Snapshot, error) {
	var snap statesync.Snapshot
	if err := json.Unmarshal(raw, &snap); err != nil {
		return statesync.Snapshot{}, fmt.Errorf("%w: stored snapshot: %w", ErrCorrupt, err)
	}
	return snap, nil
}
