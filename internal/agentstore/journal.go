package agentstore

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Record is one entry of the journal.
type Record struct {
	Seq  uint64 // assigned by AppendJournal: 1, 2, 3, … never reused
	Data []byte
}

// AppendJournal adds data to the journal and returns its sequence number
// once it is on disk. Concurrent callers share one commit and one disk
// sync (bbolt's Batch), so many callers acknowledging small records cost
// far fewer syncs than records; a caller with no other append in flight
// commits at once rather than wait for company. An agent journals what it
// acknowledges between two metric deltas (invocations) and folds the
// journal into a delta with [Store.CommitDelta].
func (s *Store) AppendJournal(data []byte) (uint64, error) {
	var seq uint64
	// Batch may run fn more than once (after another caller's fn failed),
	// each time in a new transaction, so fn sets seq afresh.
	fn := func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJournal)
		var err error
		if seq, err = b.NextSequence(); err != nil {
			return err
		}
		return b.Put(seqKey(seq), data)
	}
	var err error
	if s.appending.Add(1) == 1 {
		err = s.db.Update(fn)
	} else {
		err = s.db.Batch(fn)
	}
	s.appending.Add(-1)
	if err != nil {
		return 0, fmt.Errorf("agentstore: append to journal: %w", err)
	}
	return seq, nil
}

// Journal returns the journal's records, oldest first; the Data slices are
// copies. An agent replays them when it starts: they were acknowledged but
// not yet folded into a delta.
func (s *Store) Journal() ([]Record, error) {
	var out []Record
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJournal).ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("%w: journal key of %d bytes", ErrCorrupt, len(k))
			}
			out = append(out, Record{Seq: binary.BigEndian.Uint64(k), Data: append([]byte{}, v...)})
			return nil
		})
	})
	if errors.Is(err, ErrCorrupt) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("agentstore: read journal: %w", err)
	}
	return out, nil
}

// LastJournalSeq returns the last sequence number AppendJournal assigned,
// 0 if none.
func (s *Store) LastJournalSeq() (uint64, error) {
	var seq uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		seq = tx.Bucket(bucketJournal).Sequence()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("agentstore: read journal: %w", err)
	}
	return seq, nil
}

// CommitDelta stores a metric delta made from the journal up to journalUpTo
// and removes those journal records, in one transaction: after a crash
// either the delta is in the outbox and the records are gone, or the
// records are still there and the delta is not, so nothing is counted
// twice or lost.
//
// With seq 0 the delta is appended to the outbox with a new sequence
// number, as [Store.AppendDelta] does. With seq > 0 it replaces the data of
// the pending delta seq, which must exist: an agent does this only for a
// delta it has never sent, to keep the outbox short while the hub is away.
// It returns the delta's sequence number.
func (s *Store) CommitDelta(seq uint64, data []byte, journalUpTo uint64) (uint64, error) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		deltas := tx.Bucket(bucketDeltas)
		if seq == 0 {
			var err error
			if seq, err = deltas.NextSequence(); err != nil {
				return err
			}
		} else if deltas.Get(seqKey(seq)) == nil {
			return fmt.Errorf("no pending delta %d to replace", seq)
		}
		if err := deltas.Put(seqKey(seq), data); err != nil {
			return err
		}
		return deleteUpTo(tx.Bucket(bucketJournal), journalUpTo)
	})
	if err != nil {
		return 0, fmt.Errorf("agentstore: commit delta: %w", err)
	}
	return seq, nil
}

// deleteUpTo removes every key of b (8-byte sequence numbers) up to upTo.
func deleteUpTo(b *bolt.Bucket, upTo uint64) error {
	var done [][]byte // deleting while a cursor walks can skip keys
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) != 8 {
			return fmt.Errorf("%w: key of %d bytes", ErrCorrupt, len(k))
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
	return nil
}
