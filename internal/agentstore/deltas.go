package agentstore

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Delta is one metric delta in the outbox.
type Delta struct {
	Seq  uint64 // assigned by AppendDelta: 1, 2, 3, … never reused
	Data []byte
}

// AppendDelta adds data to the outbox and returns its sequence number once
// it is on disk. Sequence numbers increase by one per append and are never
// reused, even after AckDeltas removed every delta or the store was
// reopened, so the receiver can drop a delta it has already counted
// (Seq ≤ the last one it applied) and nothing is counted twice.
func (s *Store) AppendDelta(data []byte) (uint64, error) {
	var seq uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDeltas)
		var err error
		if seq, err = b.NextSequence(); err != nil {
			return err
		}
		return b.Put(seqKey(seq), data)
	})
	if err != nil {
		return 0, fmt.Errorf("agentstore: append delta: %w", err)
	}
	return seq, nil
}

// PendingDeltas returns the deltas not yet acknowledged, oldest first. The
// Data slices are copies.
func (s *Store) PendingDeltas() ([]Delta, error) {
	var out []Delta
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDeltas).ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("%w: delta key of %d bytes", ErrCorrupt, len(k))
			}
			out = append(out, Delta{Seq: binary.BigEndian.Uint64(k), Data: append([]byte{}, v...)})
			return nil
		})
	})
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		return nil, fmt.Errorf("agentstore: list deltas: %w", err)
	}
	return out, nil
}

// AckDeltas removes every delta with Seq ≤ upTo and returns how many it
// removed. Acknowledging a sequence number again, or one not yet assigned,
// is harmless.
func (s *Store) AckDeltas(upTo uint64) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDeltas)
		var done [][]byte // deleting while a cursor walks can skip keys
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) != 8 {
				return fmt.Errorf("%w: delta key of %d bytes", ErrCorrupt, len(k))
			}
			if binary.BigEndian.Uint64(k) > upTo {
				break
			}
			done = append(done, append([]byte(nil), k...))
		}
		for _, k := range done {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(done)
		return nil
	})
	if errors.Is(err, ErrCorrupt) {
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("agentstore: ack deltas: %w", err)
	}
	return n, nil
}

// LastDeltaSeq returns the last sequence number AppendDelta assigned, 0 if
// none.
func (s *Store) LastDeltaSeq() (uint64, error) {
	var seq uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		seq = tx.Bucket(bucketDeltas).Sequence()
		return nil
	})
	return seq, err
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq) }
