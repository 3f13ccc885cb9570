package agent

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/edgeinfra/edgeinfra/statesync"
)

// store keeps what an agent must not lose in a bbolt file under its data
// directory: the state lineage, the synchronizer (state, versions, pending
// changes) and the metric delta that is being sent.
type store struct {
	db *bolt.DB
}

var (
	bucketAgent  = []byte("agent")
	keyLineage   = []byte("lineage")
	keySync      = []byte("sync")
	keyDelta     = []byte("delta")
	keyDeltaMeta = []byte("delta_meta")
)

func openStore(dir string) (*store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("agent: data dir: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, "agent.db"), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("agent: open %s (is another agent using this --data?): %w", filepath.Join(dir, "agent.db"), err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketAgent)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("agent: init store: %w", err)
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

// lineage returns the stored lineage, creating it (from the clock) the
// first time.
func (s *store) lineage() (uint64, error) {
	var l uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAgent)
		if v := b.Get(keyLineage); len(v) == 8 {
			l = binary.BigEndian.Uint64(v)
			return nil
		}
		l = uint64(time.Now().UnixNano())
		return b.Put(keyLineage, binary.BigEndian.AppendUint64(nil, l))
	})
	return l, err
}

// saveSync writes the synchronizer's snapshot durably (bbolt syncs on
// commit).
func (s *store) saveSync(snap statesync.Snapshot) error {
	b, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("agent: encode state: %w", err)
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketAgent).Put(keySync, b) })
}

// loadSync returns the stored snapshot; ok is false when there is none.
func (s *store) loadSync() (snap statesync.Snapshot, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketAgent).Get(keySync)
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &snap)
	})
	if err != nil {
		return statesync.Snapshot{}, false, fmt.Errorf("agent: stored state is corrupt: %w", err)
	}
	return snap, ok, nil
}

// pendingDelta is a metric delta taken from the aggregator and not yet
// acknowledged by the stream.
type pendingDelta struct {
	Epoch, Seq uint64
	Data       []byte
}

func (s *store) saveDelta(d *pendingDelta) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAgent)
		if d == nil {
			if err := b.Delete(keyDelta); err != nil {
				return err
			}
			return b.Delete(keyDeltaMeta)
		}
		meta := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, d.Epoch), d.Seq)
		if err := b.Put(keyDeltaMeta, meta); err != nil {
			return err
		}
		return b.Put(keyDelta, d.Data)
	})
}

func (s *store) loadDelta() (*pendingDelta, error) {
	var d *pendingDelta
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAgent)
		meta, data := b.Get(keyDeltaMeta), b.Get(keyDelta)
		if meta == nil {
			return nil
		}
		if len(meta) != 16 {
			return errors.New("agent: stored metric delta is corrupt")
		}
		d = &pendingDelta{Epoch: binary.BigEndian.Uint64(meta), Seq: binary.BigEndian.Uint64(meta[8:]), Data: append([]byte(nil), data...)}
		return nil
	})
	return d, err
}
