package statesync

import (
	"errors"
	"fmt"
)

// Snapshot is everything a Synchronizer holds, for persisting it (an agent
// writes one to disk before acknowledging a change) and restoring it after a
// restart with [Restore]. It encodes to JSON.
type Snapshot struct {
	State         State    `json:"state"` // State.Version is the local version
	RemoteVersion int64    `json:"remote_version"`
	Pending       []Change `json:"pending"`
	History       []Event  `json:"history,omitempty"`
	Coalesced     uint64   `json:"coalesced,omitempty"`
	Pushes        uint64   `json:"pushes,omitempty"`
	Pulls         uint64   `json:"pulls,omitempty"`
	PullsApplied  uint64   `json:"pulls_applied,omitempty"`
}

// ErrInvalidSnapshot is wrapped by every error [Restore] returns for a
// snapshot that cannot have come from a Synchronizer.
var ErrInvalidSnapshot = errors.New("statesync: invalid snapshot")

// Export returns a deep copy of the Synchronizer's contents.
func (s *Synchronizer) Export() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := Snapshot{
		State:         s.stateLocked(),
		RemoteVersion: s.remoteVersion,
		Pending:       make([]Change, len(s.pending)),
		Coalesced:     s.coalesced,
		Pushes:        s.pushes,
		Pulls:         s.pulls,
		PullsApplied:  s.pullsApplied,
	}
	for i, ch := range s.pending {
		snap.Pending[i] = Change{Version: ch.Version, Data: cloneMap(ch.Data), At: ch.At}
	}
	h := s.history
	if len(h) > s.maxHistory {
		h = h[len(h)-s.maxHistory:]
	}
	snap.History = append([]Event(nil), h...)
	return snap
}

// Restore returns a Synchronizer holding snap, configured by opts. It checks
// that snap is consistent: versions are not negative, pending versions
// strictly increase and do not exceed the local version (they need not be
// contiguous: a coalesced change stands for several versions), history
// events are pushes or pulls, and no more pulls were applied than made. A
// queue longer than opts' MaxPending is coalesced, as UpdateLocal would, and
// a history longer than opts' HistorySize keeps its newest events. A
// snapshot's NodeID, when set, must match opts.NodeID. Errors wrap
// [ErrInvalidSnapshot] and say what is wrong.
//
// Restore(opts, s.Export()) behaves exactly as s: same state, versions,
// queue, history and Summary counters.
func Restore(opts Options, snap Snapshot) (*Synchronizer, error) {
	if snap.State.Version < 0 || snap.RemoteVersion < 0 {
		return nil, fmt.Errorf("%w: negative version (local %d, remote %d)", ErrInvalidSnapshot, snap.State.Version, snap.RemoteVersion)
	}
	if snap.State.NodeID != "" && opts.NodeID != "" && snap.State.NodeID != opts.NodeID {
		return nil, fmt.Errorf("%w: snapshot is of node %q, not %q", ErrInvalidSnapshot, snap.State.NodeID, opts.NodeID)
	}
	prev := int64(0)
	for i, ch := range snap.Pending {
		if ch.Version <= prev {
			return nil, fmt.Errorf("%w: pending change %d has version %d after version %d; versions must increase", ErrInvalidSnapshot, i, ch.Version, prev)
		}
		if ch.Version > snap.State.Version {
			return nil, fmt.Errorf("%w: pending change %d has version %d beyond the local version %d", ErrInvalidSnapshot, i, ch.Version, snap.State.Version)
		}
		prev = ch.Version
	}
	if snap.PullsApplied > snap.Pulls {
		return nil, fmt.Errorf("%w: %d pulls applied out of %d", ErrInvalidSnapshot, snap.PullsApplied, snap.Pulls)
	}
	for i, e := range snap.History {
		if e.Kind != Push && e.Kind != Pull {
			return nil, fmt.Errorf("%w: history event %d has kind %q, want %q or %q", ErrInvalidSnapshot, i, e.Kind, Push, Pull)
		}
	}
	s := New(opts)
	s.data = cloneMap(snap.State.Data)
	if s.data == nil {
		s.data = map[string]any{}
	}
	s.localVersion = snap.State.Version
	s.remoteVersion = snap.RemoteVersion
	s.updatedAt = snap.State.UpdatedAt
	s.coalesced = snap.Coalesced
	for _, ch := range snap.Pending {
		data := cloneMap(ch.Data)
		if data == nil {
			data = map[string]any{}
		}
		s.pending = append(s.pending, Change{Version: ch.Version, Data: data, At: ch.At})
	}
	for len(s.pending) > s.maxPending {
		s.coalesceOldest()
	}
	s.history = append([]Event(nil), snap.History...)
	if len(s.history) > s.maxHistory {
		s.history = s.history[len(s.history)-s.maxHistory:]
	}
	s.pushes, s.pulls, s.pullsApplied = snap.Pushes, snap.Pulls, snap.PullsApplied
	return s, nil
}
