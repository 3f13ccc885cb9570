package statesync

import (
	"sync"
	"time"
)

// Synchronizer keeps one node's versioned state, the local changes not yet
// confirmed by the remote side, and a history of sync events. All methods
// are safe for concurrent use.
type Synchronizer struct {
	opts       Options
	maxPending int
	maxHistory int

	mu            sync.Mutex // guards everything below
	data          map[string]any
	localVersion  int64
	remoteVersion int64
	updatedAt     time.Time
	pending       []Change // oldest first, versions strictly increasing
	history       []Event  // oldest first, at most 2*maxHistory before trimming
	coalesced     uint64
	pushes        uint64
	pulls         uint64
	pullsApplied  uint64
}

// New returns an empty Synchronizer at version 0.
func New(opts Options) *Synchronizer {
	return &Synchronizer{
		opts:       opts,
		maxPending: opts.maxPending(),
		maxHistory: opts.historySize(),
		data:       map[string]any{},
	}
}

// UpdateLocal merges data's keys into the local state, increments the local
// version, sets the local UpdatedAt to now and queues a [Change] for the
// remote side. It returns a copy of the new state. An empty or nil data
// still produces a new version (and an empty Change), so every call is
// visible to the remote side.
//
// When the queue already holds MaxPending changes, its two oldest changes
// are coalesced into one (newest value per key, the newer version and
// time), so no key's latest value is ever lost.
func (s *Synchronizer) UpdateLocal(data map[string]any) State {
	now := s.opts.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.localVersion++
	s.updatedAt = now
	mergeInto(s.data, data)
	ch := Change{Version: s.localVersion, Data: cloneMap(data), At: now}
	if ch.Data == nil {
		ch.Data = map[string]any{}
	}
	s.pending = append(s.pending, ch)
	for len(s.pending) > s.maxPending {
		s.coalesceOldest()
	}
	return s.stateLocked()
}

// coalesceOldest merges the oldest pending change into the next one. The
// merged change keeps the newer version and time; keys the newer change
// sets win, so replaying the queue still yields every key's latest value.
func (s *Synchronizer) coalesceOldest() {
	// The queue's maps are never handed out (callers get copies), so the
	// newer keys are written into the older map in place: the cost is the
	// size of the newer change, not of everything coalesced so far.
	older, newer := s.pending[0], s.pending[1]
	merged := older.Data
	for k, v := range newer.Data {
		merged[k] = v
	}
	s.pending[1] = Change{Version: newer.Version, Data: merged, At: newer.At}
	s.pending[0] = Change{}
	s.pending = s.pending[1:]
	s.coalesced++
}

// ApplyRemote offers a remote state and reports whether it was applied.
//
// A remote state whose Version is not greater than [Synchronizer.RemoteVersion]
// is stale and never applied, so duplicate and reordered deliveries are
// harmless. A fresh state is applied according to the strategy: RemoteWins
// always, LocalWins only while no local change is pending, LatestWins only
// if remote.UpdatedAt is after the local UpdatedAt. Applying merges the
// remote keys into the local state (keys the remote state lacks are kept),
// sets RemoteVersion, and makes the local UpdatedAt the later of the two;
// the local version and the pending changes are untouched. remote.NodeID is
// not compared with Options.NodeID: routing states to the right node is the
// transport's job. Every call records a Pull event.
func (s *Synchronizer) ApplyRemote(remote State) bool {
	now := s.opts.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	applied := remote.Version > s.remoteVersion && s.strategyAllows(remote)
	if applied {
		mergeInto(s.data, remote.Data)
		s.remoteVersion = remote.Version
		if remote.UpdatedAt.After(s.updatedAt) {
			s.updatedAt = remote.UpdatedAt
		}
		s.pullsApplied++
	}
	s.pulls++
	s.record(Event{Kind: Pull, Version: remote.Version, Applied: applied, At: now})
	return applied
}

func (s *Synchronizer) strategyAllows(remote State) bool {
	switch s.opts.Strategy {
	case LocalWins:
		return len(s.pending) == 0
	case LatestWins:
		return remote.UpdatedAt.After(s.updatedAt)
	default:
		return true
	}
}

// PendingChanges returns the unconfirmed local changes, oldest first. The
// slice and its maps are copies the caller may keep and modify.
func (s *Synchronizer) PendingChanges() []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Change, len(s.pending))
	for i, ch := range s.pending {
		out[i] = Change{Version: ch.Version, Data: cloneMap(ch.Data), At: ch.At}
	}
	return out
}

// ConfirmSync removes the pending changes whose Version is at most
// upToVersion and returns how many it removed. A removal records a Push
// event; a call that removes nothing records none. A coalesced change is
// removed only once upToVersion reaches its (newest) version.
func (s *Synchronizer) ConfirmSync(upToVersion int64) int {
	now := s.opts.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for n < len(s.pending) && s.pending[n].Version <= upToVersion {
		n++
	}
	if n == 0 {
		return 0
	}
	clear(s.pending[:n])
	s.pending = s.pending[n:]
	if len(s.pending) == 0 {
		s.pending = nil // release the backing array
	}
	s.pushes++
	s.record(Event{Kind: Push, Version: upToVersion, Applied: true, Changes: n, At: now})
	return n
}

func (s *Synchronizer) record(e Event) {
	s.history = append(s.history, e)
	if len(s.history) >= 2*s.maxHistory {
		s.history = append(s.history[:0], s.history[len(s.history)-s.maxHistory:]...)
	}
}

// History returns the newest limit sync events, oldest first; limit <= 0
// returns every event kept (at most Options.HistorySize).
func (s *Synchronizer) History(limit int) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.history
	if len(h) > s.maxHistory {
		h = h[len(h)-s.maxHistory:]
	}
	if limit > 0 && limit < len(h) {
		h = h[len(h)-limit:]
	}
	return append([]Event(nil), h...)
}

// State returns a copy of the local state. Its Version is the local version.
func (s *Synchronizer) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stateLocked()
}

func (s *Synchronizer) stateLocked() State {
	return State{NodeID: s.opts.NodeID, Version: s.localVersion, Data: cloneMap(s.data), UpdatedAt: s.updatedAt}
}

// LocalVersion returns the number of local updates made so far (or restored).
func (s *Synchronizer) LocalVersion() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.localVersion
}

// RemoteVersion returns the version of the last remote state applied, 0 if none.
func (s *Synchronizer) RemoteVersion() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remoteVersion
}

// PendingCount returns the number of unconfirmed local changes; it never
// exceeds MaxPending.
func (s *Synchronizer) PendingCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// IsSynced reports whether no local change is pending.
func (s *Synchronizer) IsSynced() bool { return s.PendingCount() == 0 }

// Summary returns counters for status endpoints. It does not copy the data.
func (s *Synchronizer) Summary() Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Summary{
		NodeID:        s.opts.NodeID,
		Strategy:      s.opts.Strategy.String(),
		LocalVersion:  s.localVersion,
		RemoteVersion: s.remoteVersion,
		PendingCount:  len(s.pending),
		MaxPending:    s.maxPending,
		Coalesced:     s.coalesced,
		IsSynced:      len(s.pending) == 0,
		Keys:          len(s.data),
		Pushes:        s.pushes,
		Pulls:         s.pulls,
		PullsApplied:  s.pullsApplied,
		UpdatedAt:     s.updatedAt,
	}
}
