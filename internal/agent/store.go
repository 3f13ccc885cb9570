package agent

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/agentstore"
	"github.com/edgeinfra/edgeinfra/statesync"
)

// store keeps what an agent must not lose in the agentstore file under its
// data directory: the state lineage, the synchronizer (state, versions,
// pending changes) and the outbox of metric deltas not yet acknowledged.
type store struct {
	s *agentstore.Store
}

// keyLineage is the agentstore key of the node's state lineage.
const keyLineage = "lineage"

func openStore(dir string) (*store, error) {
	s, err := agentstore.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("agent: --data %s (is another agent using it?): %w", dir, err)
	}
	return &store{s: s}, nil
}

func (s *store) close() error { return s.s.Close() }

// lineage returns the stored lineage, creating it (from the clock) the
// first time.
func (s *store) lineage() (uint64, error) {
	v, ok, err := s.s.Get(keyLineage)
	if err != nil {
		return 0, err
	}
	if ok && len(v) == 8 {
		return binary.BigEndian.Uint64(v), nil
	}
	l := uint64(time.Now().UnixNano())
	if err := s.s.Put(keyLineage, binary.BigEndian.AppendUint64(nil, l)); err != nil {
		return 0, err
	}
	return l, nil
}

// saveSync writes the synchronizer's snapshot durably.
func (s *store) saveSync(snap statesync.Snapshot) error {
	if err := s.s.SaveSync(snap); err != nil {
		return fmt.Errorf("agent: save state: %w", err)
	}
	return nil
}

// loadSync returns the stored snapshot; ok is false when there is none.
func (s *store) loadSync() (snap statesync.Snapshot, ok bool, err error) {
	snap, ok, err = s.s.LoadSync()
	if err != nil {
		return statesync.Snapshot{}, false, fmt.Errorf("agent: load state: %w", err)
	}
	return snap, ok, nil
}

// pendingDelta is a metric delta taken from the aggregator and not yet
// acknowledged by the stream. Its message ID is made of the lineage and
// Seq, which neither a restart nor a resend changes.
type pendingDelta struct {
	Seq  uint64
	Data []byte
}

// outbox returns the metric deltas not yet acknowledged, oldest first.
// pushMu is held.
func (a *Agent) outbox() ([]pendingDelta, error) {
	if a.store == nil {
		return a.memOutbox, nil
	}
	ds, err := a.store.s.PendingDeltas()
	if err != nil {
		return nil, fmt.Errorf("agent: read metric outbox: %w", err)
	}
	out := make([]pendingDelta, len(ds))
	for i, d := range ds {
		out[i] = pendingDelta{Seq: d.Seq, Data: d.Data}
	}
	return out, nil
}

// queueDelta puts a delta into the outbox, on disk first when there is a
// store, and removes the journal records up to journalUpTo it covers, in
// the same transaction. seq 0 appends; otherwise the data replaces delta
// seq, which has never been sent. pushMu is held.
func (a *Agent) queueDelta(seq uint64, data []byte, journalUpTo uint64) error {
	if a.store == nil {
		if seq == 0 {
			a.memSeq++
			a.memOutbox = append(a.memOutbox, pendingDelta{Seq: a.memSeq, Data: data})
			return nil
		}
		for i := range a.memOutbox {
			if a.memOutbox[i].Seq == seq {
				a.memOutbox[i].Data = data
				return nil
			}
		}
		return fmt.Errorf("agent: no pending metric delta %d to replace", seq)
	}
	if _, err := a.store.s.CommitDelta(seq, data, journalUpTo); err != nil {
		return fmt.Errorf("agent: store metric delta: %w", err)
	}
	return nil
}

// ackDelta removes every delta up to seq from the outbox. pushMu is held.
func (a *Agent) ackDelta(seq uint64) error {
	if a.store == nil {
		for len(a.memOutbox) > 0 && a.memOutbox[0].Seq <= seq {
			a.memOutbox = a.memOutbox[1:]
		}
		return nil
	}
	if _, err := a.store.s.AckDeltas(seq); err != nil {
		return fmt.Errorf("agent: acknowledge metric delta: %w", err)
	}
	return nil
}
